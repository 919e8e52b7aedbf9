/*
 * QEMU's qtest text protocol (docs/devel/qtest.rst; tests/qtest/libqtest.c
 * is the client it must satisfy), on -qtest unix:PATH[,server=on,wait=off]:
 * connects out by default, listens with server=on. Commands: outb/outw/outl,
 * inb/inw/inl, clock_step [ns], clock_set ns, irq_intercept_in/out with
 * asynchronous "IRQ raise N"/"IRQ lower N" lines, endianness; "FAIL" for
 * the rest. The parser (qtest.c) is separate from the socket (qtest-sock.c)
 * so it can be fuzzed; the socket never blocks the daemon's loop.
 */
#ifndef LS_DM_QTEST_H
#define LS_DM_QTEST_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "dm/machine.h"

/* Longest accepted command line; longer ones get "FAIL" and are dropped. */
#define DM_QTEST_MAX_LINE 4096
/* Largest read/b64read, so one reply stays well under
   DM_QTEST_MAX_OUTPUT (QEMU has no cap). */
#define DM_QTEST_MAX_READ (256 * 1024)
/* Replies a client may leave unread before it is dropped. */
#define DM_QTEST_MAX_OUTPUT (1024 * 1024)

typedef struct DmQtest DmQtest;

/* Starts the endpoint in the default main context. `log_path` (may be
   NULL or "/dev/null") receives a log of the exchange, as -qtest-log. */
DmQtest *dm_qtest_start(DmMachine *m, const char *spec, const char *log_path,
                        GError **errp);
void dm_qtest_free(DmQtest *q);

/* An endpoint without a socket (tests, fuzzing): only
   dm_qtest_process_line talks to it. Free with dm_qtest_free. */
DmQtest *dm_qtest_new(DmMachine *m);
/* Caps one clock_step/clock_set move at `max_ns` ("FAIL" beyond it); 0,
   the default, means no cap, as QEMU. The fuzzer sets one so that a
   periodic timer with a tiny period cannot make one line run for hours. */
void dm_qtest_set_max_step(DmQtest *q, int64_t max_ns);

/* One protocol line (without its newline) in, the reply lines out
   (appended to `reply`, each ending in "\n"). Pure: for tests and fuzzing. */
void dm_qtest_process_line(DmQtest *q, const char *line, GString *reply);

#endif
