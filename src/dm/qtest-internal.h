/*
 * Shared by the qtest protocol (qtest.c) and its socket layer
 * (qtest-sock.c). Not for use outside those two files.
 */
#ifndef LS_DM_QTEST_INTERNAL_H
#define LS_DM_QTEST_INTERNAL_H

#include <stdio.h>

#include "base/unix-socket.h"
#include "dm/qtest.h"

typedef enum DmQtestIntercept {
    DM_QTEST_ICPT_NONE,
    DM_QTEST_ICPT_IN,  /* ioapic inputs: report ISA lines */
    DM_QTEST_ICPT_OUT, /* ioapic outputs: accepted, nothing to report */
} DmQtestIntercept;

struct DmQtest {
    DmMachine *m;
    FILE *log;
    GTimer *timer;
    int64_t max_step_ns; /* 0: no cap (QEMU) */
    DmQtestIntercept intercept;
    int irq_levels[DM_ISA_IRQS];
    GString *collect; /* reply being built, or NULL */

    /* socket layer (qtest-sock.c) */
    char *path;
    bool server;
    int listener;       /* -1: none */
    LsUnixBound *bound; /* the listener's socket file */
    GSource *accept_src;
    int pending; /* a client that connected while one was served */
    int conn;    /* non-blocking; -1: none */
    GSource *conn_src;
    GSource *out_src;  /* waits for the client to take more output */
    GSource *drop_src; /* idle: closes a dropped client */
    bool dropping;     /* conn is being closed: no more I/O on it */
    GString *inbuf;
    GString *out; /* replies the client has not taken yet */
    size_t out_off;
    bool discarding; /* over-long line: drop up to '\n' */
};

/* qtest.c: a reply line for the client (and the log). */
void dm_qtest_emit(DmQtest *q, const char *line);
void dm_qtest_emitf(DmQtest *q, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* qtest-mem.c: a guest-memory command (readb..b64write), words in `w`. */
void dm_qtest_cmd_mem(DmQtest *q, char **w);

/* qtest.c: one line of the -qtest-log ('R'eceived, 'S'ent, 'I'nfo). */
void dm_qtest_log(DmQtest *q, char dir, const char *text);

/* qtest-sock.c: queues `text` for the client and writes what the socket
   takes now; never blocks. No client: dropped. */
void dm_qtest_sock_send(DmQtest *q, const char *text);
/* qtest-sock.c: closes every fd and source of the socket layer. */
void dm_qtest_sock_close(DmQtest *q);

#endif
