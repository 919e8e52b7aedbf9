/*
 * Shared by the -serial backends' I/O (chardev.c) and their spec parsing
 * and opening (chardev-open.c). Not for use outside those two files.
 */
#ifndef LS_DM_CHARDEV_INTERNAL_H
#define LS_DM_CHARDEV_INTERNAL_H

#include "base/unix-socket.h"
#include "dm/chardev.h"

typedef enum DmCharKind {
    DM_CHR_NULL,
    DM_CHR_STDIO,
    DM_CHR_FILE,
    DM_CHR_PTY,
    DM_CHR_UNIX_SERVER,
    DM_CHR_UNIX_CLIENT,
} DmCharKind;

struct DmCharBackend {
    DmCharKind kind;
    char *label;
    char *path;
    int in_fd;          /* -1: no input (now) */
    int out_fd;         /* -1: output dropped (nothing connected) */
    int listen_fd;      /* unix server */
    LsUnixBound *bound; /* unix server: the socket file it bound */
    GMainContext *ctx;
    GSource *read_src;
    GSource *listen_src;
    GSource *watch_src;
    GSource *pty_timer;
    HwCharWatchCb watch_cb;
    void *watch_opaque;
    DmCharCanReceive can_receive;
    DmCharReceive receive;
    void *fe;
};

/* chardev.c: a unix server starts (or goes back to) accepting a client. */
void dm_chr_listen_start(DmCharBackend *be);

#endif
