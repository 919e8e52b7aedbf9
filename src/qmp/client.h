/*
 * A synchronous QMP client: connect to "unix:PATH" or "tcp:HOST:PORT",
 * read the greeting, negotiate, execute commands (optionally passing one
 * fd with SCM_RIGHTS on unix sockets), collect events. Every wait has a
 * timeout. Used by the lockstep CLI, the COLO coordinator and tests; works
 * against QEMU as well as lockstep-dm.
 *
 * Replies are matched by id (the client numbers its requests); events that
 * arrive meanwhile are queued for qmp_client_next_event. Leaves out: OOB,
 * asynchronous use.
 */
#ifndef LS_QMP_CLIENT_H
#define LS_QMP_CLIENT_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>

typedef struct QmpClient QmpClient;

enum {
    /* Stop after the greeting (session stays in negotiation mode). */
    QMP_CLIENT_NO_NEGOTIATE = 1 << 0,
};

/* Events kept while nobody reads them; older ones are dropped. */
#define QMP_CLIENT_MAX_EVENTS 1024

/*
 * Connects, reads the greeting and (unless QMP_CLIENT_NO_NEGOTIATE) sends
 * qmp_capabilities. `timeout_ms` bounds each wait here and is the default
 * for later calls (<= 0: 5000, libxl's figure). NULL + *errp on failure.
 */
QmpClient *qmp_client_connect(const char *addr, unsigned flags, int timeout_ms,
                              GError **errp);
void qmp_client_free(QmpClient *c);

/* The greeting object (borrowed). */
json_t *qmp_client_greeting(QmpClient *c);

/*
 * Runs `cmd` with `args` (stolen; NULL: no "arguments" member). `fd` >= 0
 * is sent with the request via SCM_RIGHTS (not closed). Returns the
 * "return" value (new reference). A QMP error reply gives NULL with *errp
 * in domain LS_ERROR, code from the reply's class, message its "desc".
 * Timeout or I/O failure: NULL with a GenericError saying so; the client
 * is then unusable (qmp_client_free it).
 */
json_t *qmp_client_execute(QmpClient *c, const char *cmd, json_t *args, int fd,
                           GError **errp);

/* False once a timeout or an I/O failure made the client unusable (as
   opposed to a QMP error reply, after which it carries on). */
bool qmp_client_usable(const QmpClient *c);
/* The connection's socket, to poll for events (read it only through the
   client). */
int qmp_client_fd(const QmpClient *c);
/* Sends raw bytes (tests: malformed input). */
bool qmp_client_send_raw(QmpClient *c, const void *buf, size_t len,
                         GError **errp);

/* Receives the next message that is not an event, waiting up to the
   timeout (tests: replies to raw input). New reference or NULL. */
json_t *qmp_client_recv_reply(QmpClient *c, GError **errp);

/*
 * Pops the oldest queued event; if none, waits up to `timeout_ms` (0: do
 * not wait) for one. Returns a new reference, or NULL with *errp unset on
 * timeout, or NULL with *errp set on I/O failure.
 */
json_t *qmp_client_next_event(QmpClient *c, int timeout_ms, GError **errp);

#endif
