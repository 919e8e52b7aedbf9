/*
 * QMP socket endpoints: parsing the spec strings QEMU accepts for -qmp and
 * -chardev socket (unix:PATH, tcp:HOST:PORT, fd:N, or path=/host=/port=/
 * fd= keys; server=, wait=, the old "server"/"nowait" flags; ",," is a
 * literal comma) and opening them (listen, or connect out). Used by the
 * server and the client.
 *
 * Leaves out: sessions and I/O.
 */
#ifndef LS_QMP_ENDPOINT_H
#define LS_QMP_ENDPOINT_H

#include <glib.h>
#include <stdbool.h>

#include "base/unix-socket.h"

typedef enum QmpEndpointKind {
    QMP_EP_UNIX,
    QMP_EP_TCP,
    QMP_EP_FD,
} QmpEndpointKind;

typedef struct QmpEndpoint {
    QmpEndpointKind kind;
    char *path; /* QMP_EP_UNIX */
    char *host; /* QMP_EP_TCP ("" = any address when listening) */
    char *port;
    int fd; /* QMP_EP_FD */
    bool fd_given;
    bool server;        /* server=on */
    bool wait;          /* accepted, never blocks */
    bool listening;     /* set by qmp_endpoint_open: the fd listens */
    LsUnixBound *bound; /* set by qmp_endpoint_open for a unix listener:
                           take it to keep the socket file past
                           qmp_endpoint_clear, which unlinks it */
} QmpEndpoint;

/* Parses `spec`; false with a message on a malformed spec. Clear with
   qmp_endpoint_clear (also after failure). */
bool qmp_endpoint_parse(const char *spec, QmpEndpoint *ep, GError **errp);
void qmp_endpoint_clear(QmpEndpoint *ep);

/*
 * Opens `ep`: a listening socket for server=on (a stale unix socket at the
 * path is replaced, a live one is not: see base/unix-socket.h), a
 * connected one otherwise, or takes over the
 * inherited fd (listening or connected: ep->listening says which). The fd
 * is non-blocking and close-on-exec. -1 with *errp on failure.
 */
int qmp_endpoint_open(QmpEndpoint *ep, GError **errp);

/* Connects out to `ep` (blocking connect), for clients. -1 + *errp. */
int qmp_endpoint_connect(const QmpEndpoint *ep, GError **errp);

#endif
