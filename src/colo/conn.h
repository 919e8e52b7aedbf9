/*
 * One COLO peer connection on the GLib main loop: a non-blocking TCP
 * socket (plain, or TLS through tls.h), the incremental frame reader, a send
 * queue, the hello exchange and heartbeats both ways. Knows the frames, not
 * what a checkpoint is.
 *
 * Life: colo_conn_new sends our hello at once. The first message from the
 * peer must be its hello (checked: magic, version, role); after that each
 * message goes to `on_msg`. The session ends on the first bad frame, an
 * I/O error or EOF, silence for longer than the heartbeat timeout, or
 * colo_conn_close; `on_closed` is then called exactly once, from an idle
 * source, never from inside another callback of this connection, and the
 * owner may free the connection there.
 */
#ifndef LS_COLO_CONN_H
#define LS_COLO_CONN_H

#include <glib.h>
#include <stdbool.h>

#include "colo/proto.h"
#include "colo/tls.h"

/* Bytes queued for the peer and not yet written; a peer that does not
   read while more piles up is dropped. One checkpoint message plus room. */
#define COLO_CONN_MAX_QUEUED ((size_t)COLO_PROTO_MAX_DATA + 65536)

typedef struct ColoConn ColoConn;

/* How a session ended. */
typedef enum ColoEnd {
    COLO_END_BYE,        /* the peer said bye */
    COLO_END_PEER_ERROR, /* the peer sent error (code) */
    COLO_END_LOST,       /* EOF, I/O error, bad frame, or silence */
    COLO_END_LOCAL,      /* we closed it (colo_conn_close) */
} ColoEnd;

typedef struct ColoConnOps {
    /* The peer's hello was good: the session is up. May be NULL. */
    void (*on_ready)(ColoConn *c, void *opaque);
    /* A message after the hello (heartbeats are not passed on). `m` is
       borrowed for the call; steal m->payload (set it NULL) to keep it. */
    void (*on_msg)(ColoConn *c, ColoMsg *m, void *opaque);
    /* The session ended: `end` says who ended it, `code` is the peer's
       bye/error code (else 0), `why` the text (borrowed). */
    void (*on_closed)(ColoConn *c, ColoEnd end, uint32_t code, const char *why,
                      void *opaque);
} ColoConnOps;

/*
 * Takes `fd` (a connected stream socket; made non-blocking here).
 * `tls` (borrowed; NULL: plain TCP) makes the session TLS: the handshake
 * comes first, and no frame goes out or is read before it succeeds; a
 * refused handshake ends the session as COLO_END_LOST with the reason
 * (tls.h). `peer_role` is the role the peer's hello must announce.
 * Heartbeats go out every `hb_ms` ms; a peer silent for `hb_timeout_ms`
 * (during the handshake too) is lost.
 */
ColoConn *colo_conn_new(int fd, const ColoTlsCreds *tls, ColoRole my_role,
                        ColoRole peer_role, unsigned hb_ms,
                        unsigned hb_timeout_ms, const ColoConnOps *ops,
                        void *opaque);
void colo_conn_free(ColoConn *c);

/*
 * Turns a peer away without blocking: over `fd` (taken) and the same
 * transport as a session (the TLS handshake first, when `tls`), our hello
 * and an error frame (`code`, `why`), then a half-close and reading until
 * the peer's EOF, for at most the heartbeat timeout in all; the peer's
 * frames are dropped unread. Frees itself, logging the outcome (rate-limited).
 */
void colo_conn_refuse(int fd, const ColoTlsCreds *tls, ColoRole my_role,
                      unsigned hb_ms, unsigned hb_timeout_ms, uint32_t code,
                      const char *why);

bool colo_conn_ready(const ColoConn *c);
bool colo_conn_closed(const ColoConn *c);
/* Peer address as text, for logs (borrowed). */
const char *colo_conn_peer(const ColoConn *c);

/* Queues a frame (a reference is taken) and writes what the socket takes
   now. Ignored once closed. */
void colo_conn_send(ColoConn *c, GBytes *frame);
/* Tests (fault injection): queues only the first `n` bytes of `frame`. */
void colo_conn_send_prefix(ColoConn *c, GBytes *frame, size_t n);

/* Blocks up to `timeout_ms` until the queue is written. True if it was. */
bool colo_conn_flush(ColoConn *c, int timeout_ms);

/*
 * Ends the session: when `code` >= 0, an error (or, with bye, a bye)
 * frame with `why` is queued and flushed for up to a short bound first.
 * on_closed follows from an idle source.
 */
void colo_conn_close(ColoConn *c, bool bye, int code, const char *why);

/* The peer broke the protocol (a message out of order): error(protocol)
   is sent and the session ends as COLO_END_LOST, like a bad frame. */
void colo_conn_reject(ColoConn *c, const char *why);

/* Reads whatever input is pending now (delivering messages) without
   waiting; used after the loop was held up, before judging silence. */
void colo_conn_poll_input(ColoConn *c);

/* Microseconds (monotonic) of the last byte received. */
gint64 colo_conn_last_rx(const ColoConn *c);

#endif
