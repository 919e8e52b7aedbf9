/*
 * COLO output commit: the guest's console stream (the dm's COM1, read from
 * a unix socket) is held per epoch and reaches the outside world only once
 * the checkpoint that ends the epoch is confirmed by the secondary. See
 * docs/colo-output.md for the guarantee and how a byte gets its epoch.
 *
 * Terms. Every byte of the stream has a stream offset (0 for the first
 * byte ever appended). Epoch N is the run of bytes appended after
 * checkpoint N-1's stop and up to checkpoint N's stop; checkpoint N ends
 * epoch N. E(N) is the stream offset just past epoch N.
 *
 * Primary side:
 *   append bytes (or drain the dm's socket)   -> held in the open epoch
 *   checkpoint N stopped, socket drained      -> colo_outbuf_close_epoch(N)
 *   ship colo_outbuf_epoch_bytes(N) with the checkpoint (for takeover)
 *   secondary confirmed N                     -> colo_outbuf_release(N)
 *   secondary lost                            -> colo_outbuf_release_all()
 *   new secondary paired (re-protection)      -> colo_outbuf_hold()
 * Secondary side:
 *   checkpoint N loaded                       -> colo_outbuf_adopt_epoch(N..)
 *   (its own dm's bytes are never released while a primary is alive)
 *   failover                                  -> colo_outbuf_takeover(sink)
 *
 * Memory is bounded: at most `max_held` bytes sit in an outbuf (held plus
 * released-but-not-yet-accepted-by-the-sink), at most `max_pending` in a
 * sink's queue, at most `max_tail` bytes of adopted epochs on a secondary.
 * At the cap an outbuf refuses bytes; the reader helper stops reading, so
 * the dm's socket fills and the dm is back-pressured (no byte is dropped).
 * A pressure callback tells the coordinator when to force a checkpoint.
 *
 * Nothing here blocks: sinks use non-blocking fds driven from a GLib main
 * context. Not thread-safe; use from the context's thread.
 */
#ifndef LS_COLO_OUTBUF_H
#define LS_COLO_OUTBUF_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default cap on bytes in an outbuf (held + released backlog). */
#define COLO_OUTBUF_MAX_HELD (4u * 1024 * 1024)
/* Default cap on bytes queued in a sink and not yet written. */
#define COLO_SINK_MAX_PENDING (1u * 1024 * 1024)
/* Bytes read per read(2) by colo_outbuf_drain_fd. */
#define COLO_OUTBUF_READ_CHUNK 65536
/* Socket sinks: reconnect back-off, doubling from MIN to MAX. */
#define COLO_SINK_RECONNECT_MIN_MS 100
#define COLO_SINK_RECONNECT_MAX_MS 5000

typedef struct ColoSink ColoSink;
typedef struct ColoOutbuf ColoOutbuf;

/* ------------------------------------------------------------------ sinks */

typedef enum ColoSinkKind {
    COLO_SINK_FILE, /* "PATH" or "file:PATH": opened O_APPEND|O_CREAT */
    COLO_SINK_UNIX, /* "unix:PATH": connects as a client */
    COLO_SINK_TCP,  /* "tcp:HOST:PORT": connects as a client */
} ColoSinkKind;

typedef struct ColoSinkStats {
    uint64_t queued;     /* bytes accepted by colo_sink_write, ever */
    uint64_t written;    /* bytes the kernel took (write(2) returned) */
    uint64_t reconnects; /* successful reconnections */
    uint64_t write_errors;
    size_t pending; /* bytes queued now */
    bool connected; /* FILE sinks: always true */
} ColoSinkStats;

/*
 * Opens a sink. `spec` is "unix:PATH", "tcp:HOST:PORT", "file:PATH" or a
 * plain PATH (FILE). A FILE is created if missing (0644) and appended to.
 * A socket sink connects without blocking: a failure known at once (bad
 * address, unix socket missing or refusing) is an error here, so that a
 * wrong address is seen at start; a TCP refusal learnt later, and every
 * later loss, is retried (see colo_sink_attach). Host names are resolved
 * once, here. `max_pending` 0 means COLO_SINK_MAX_PENDING. NULL + *errp on
 * a bad spec or failure.
 */
ColoSink *colo_sink_open(const char *spec, size_t max_pending, GError **errp);
void colo_sink_free(ColoSink *sink);

ColoSinkKind colo_sink_kind(const ColoSink *sink);
/* FILE sinks: fdatasync after each batch of writes (default off). */
void colo_sink_set_fsync(ColoSink *sink, bool on);

/*
 * Drives the sink from `ctx` (NULL: the default context): writes the
 * queue when the fd is writable, notices a peer that hung up, and
 * reconnects a lost socket sink after COLO_SINK_RECONNECT_MIN_MS, doubling
 * up to COLO_SINK_RECONNECT_MAX_MS, forever. Bytes queued and not yet
 * written survive a reconnection; bytes a dead connection had taken into
 * its kernel buffer cannot be known and are not re-sent. Without attach,
 * only colo_sink_write/colo_sink_flush make progress.
 */
void colo_sink_attach(ColoSink *sink, GMainContext *ctx);

/* Bytes colo_sink_write accepts now (max_pending - pending). */
size_t colo_sink_room(const ColoSink *sink);

/*
 * Queues `len` bytes and tries to write them at once (never blocks). All
 * or nothing: false + *errp if `len` exceeds colo_sink_room. A write error
 * on a FILE (e.g. ENOSPC) keeps the bytes queued, is counted and reported
 * by the call that meets it; the write is retried with the reconnection
 * back-off. A broken socket is not an error (it reconnects).
 */
bool colo_sink_write(ColoSink *sink, const void *data, size_t len,
                     GError **errp);

/* Writes what the fd accepts now. False + *errp on a FILE write error. */
bool colo_sink_flush(ColoSink *sink, GError **errp);

/* Stream offset a takeover continues at, if the sink can tell: for a FILE
   its current size. False for socket sinks. */
bool colo_sink_position(ColoSink *sink, uint64_t *pos, GError **errp);

void colo_sink_get_stats(const ColoSink *sink, ColoSinkStats *st);

/* Called when the sink gains room after having been full, so the owner
   can move released bytes on (the outbuf installs its own). */
void colo_sink_set_room_cb(ColoSink *sink, void (*cb)(void *opaque),
                           void *opaque);

/* ---------------------------------------------------------------- outbuf */

typedef enum ColoOutbufPressure {
    /* Held bytes crossed the high-water mark: request a checkpoint. */
    COLO_OUTBUF_HIGH_WATER,
    /* No room left: stop reading the dm's socket until ROOM. */
    COLO_OUTBUF_FULL,
    /* Room again after FULL (a release or the sink made progress). */
    COLO_OUTBUF_ROOM,
} ColoOutbufPressure;

/* Called from inside append/drain/release/flush: it may change the
   caller's polling or schedule a checkpoint; it must not free `ob`. */
typedef void (*ColoOutbufPressureFn)(ColoOutbuf *ob, ColoOutbufPressure p,
                                     void *opaque);

typedef struct ColoOutbufConfig {
    size_t max_held;               /* 0: COLO_OUTBUF_MAX_HELD */
    size_t high_water;             /* 0: 3/4 of max_held */
    size_t max_tail;               /* secondary's adopted bytes; 0: max_held */
    uint64_t first_epoch;          /* number of the first open epoch; 0: 1 */
    ColoOutbufPressureFn pressure; /* may be NULL */
    void *opaque;
} ColoOutbufConfig;

typedef struct ColoOutbufStats {
    uint64_t open_epoch; /* epoch that appends go to */
    uint64_t appended;   /* stream offset of the next byte appended */
    uint64_t released;   /* stream offset up to which bytes are released */
    uint64_t discarded;  /* bytes dropped by discard/adopt, ever */
    size_t held;         /* bytes not released yet */
    size_t backlog;      /* released bytes the sink has not taken yet */
    size_t open_bytes;   /* bytes in the open epoch */
    uint64_t tail_start; /* secondary: adopted bytes cover */
    uint64_t tail_end;   /*   [tail_start, tail_end) */
    bool passthrough;    /* true after release_all or takeover */
} ColoOutbufStats;

/*
 * New outbuf writing to `sink` (taken; NULL: released bytes are dropped,
 * as for a secondary before takeover). `cfg` may be NULL (defaults).
 */
ColoOutbuf *colo_outbuf_new(ColoSink *sink, const ColoOutbufConfig *cfg);
void colo_outbuf_free(ColoOutbuf *ob);

/* Bytes colo_outbuf_append accepts now. */
size_t colo_outbuf_room(const ColoOutbuf *ob);

/*
 * Adds bytes to the open epoch (in pass-through mode: released at once).
 * All or nothing: false + *errp when `len` exceeds colo_outbuf_room.
 */
bool colo_outbuf_append(ColoOutbuf *ob, const void *data, size_t len,
                        GError **errp);

typedef enum ColoDrainResult {
    COLO_DRAIN_AGAIN, /* the fd would block: everything available was read */
    COLO_DRAIN_FULL,  /* the outbuf has no room; stop polling the fd */
    COLO_DRAIN_EOF,   /* the writer closed its end */
    COLO_DRAIN_ERROR, /* read(2) failed; *errp says why */
} ColoDrainResult;

/*
 * Reads the non-blocking `fd` into the open epoch until it would block,
 * reaches EOF, fails, or the outbuf is full (whichever first; EINTR is
 * retried). `*nread` (may be NULL) gets the bytes read by this call. For
 * the checkpoint: after the dm's stop reply, drain to AGAIN, then close the
 * epoch (bytes in flight inside the dm's UART are device state).
 */
ColoDrainResult colo_outbuf_drain_fd(ColoOutbuf *ob, int fd, size_t *nread,
                                     GError **errp);

/*
 * Ends epoch `epoch`, which must be the open one; later appends go to
 * epoch+1. `*end_offset` (may be NULL) gets E(epoch). False + *errp if
 * `epoch` is not the open epoch.
 */
bool colo_outbuf_close_epoch(ColoOutbuf *ob, uint64_t epoch,
                             uint64_t *end_offset, GError **errp);

/*
 * The bytes of closed, unreleased epoch `epoch` (borrowed, valid until
 * the next call that changes the outbuf), its length and start offset.
 * NULL if the epoch is open, released or unknown (an empty epoch gives a
 * non-NULL pointer and length 0).
 */
const uint8_t *colo_outbuf_epoch_bytes(const ColoOutbuf *ob, uint64_t epoch,
                                       size_t *len, uint64_t *start_offset);

/*
 * Releases every closed epoch up to and including `epoch`, in order, to
 * the sink (as much as the sink takes now; the rest follows as it drains).
 * Releasing an already released epoch is a no-op. False + *errp if
 * `epoch` is not closed yet.
 */
bool colo_outbuf_release(ColoOutbuf *ob, uint64_t epoch, GError **errp);

/* Releases everything, the open epoch too, and switches to pass-through
   (appends are released at once) until colo_outbuf_hold. */
void colo_outbuf_release_all(ColoOutbuf *ob);

/* Leaves pass-through: appends are held again, in the open epoch (its
   number is unchanged). */
void colo_outbuf_hold(ColoOutbuf *ob);

/* Drops the bytes of the open epoch (secondary: its dm's state is about to
   be replaced). Returns how many were dropped. */
size_t colo_outbuf_discard_open(ColoOutbuf *ob);

/*
 * Secondary: checkpoint `epoch` was loaded. `data`/`len` are the primary's
 * bytes of that epoch (shipped with the checkpoint) starting at stream
 * offset `start_offset`. They are kept (the newest `max_tail` bytes) so
 * that a takeover can write what the primary may not have; the open epoch
 * is discarded and becomes epoch+1 at offset start_offset + len. False +
 * *errp (and no change) if `start_offset` does not continue the previous
 * adopted epoch, or `epoch` is not above the last adopted one.
 */
bool colo_outbuf_adopt_epoch(ColoOutbuf *ob, uint64_t epoch,
                             uint64_t start_offset, const void *data,
                             size_t len, GError **errp);
/* The checks of colo_outbuf_adopt_epoch alone, changing nothing: a
   secondary asks before loading, so that a loaded checkpoint is always
   adopted. */
bool colo_outbuf_adopt_check(ColoOutbuf *ob, uint64_t epoch,
                             uint64_t start_offset, GError **errp);

/*
 * Secondary failover: the open epoch is discarded (the dm is about to
 * resume from the last checkpoint), `sink` (taken) becomes the sink, and
 * the outbuf goes pass-through. If the sink can tell its position P
 * (FILE), the adopted bytes [P, tail_end) are written first, so the
 * stream continues at tail_end with no byte lost or repeated; if P is
 * outside [tail_start, tail_end] that cannot be guaranteed and it fails
 * (sink not taken, outbuf unchanged). A socket sink continues at
 * tail_end: bytes the primary released but had not yet written are lost.
 */
bool colo_outbuf_takeover(ColoOutbuf *ob, ColoSink *sink, GError **errp);

/* The sink (borrowed; NULL if none). */
ColoSink *colo_outbuf_sink(ColoOutbuf *ob);

void colo_outbuf_get_stats(const ColoOutbuf *ob, ColoOutbufStats *st);

#endif
