/*
 * The played coordinator peer of the colo fuzz targets: see colo-peer.h.
 * The peer runs on its own thread with blocking sockets; the side runs on
 * this thread's default main context, as in `lockstep colo`.
 */
#include "colo-peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "colo/colo.h"
#include "colo/crc32c.h"
#include "colo/proto.h"

/* Descriptors scanned for the secondary's listening socket. */
#define FUZZ_COLO_MAX_FD 1024

typedef struct FuzzColoPeer {
    int fd;     /* our end of the session, -1 before it connects */
    int listen; /* primary runs: our listening socket */
    const uint8_t *in;
    size_t len, off;
    bool fix_crc, turns, shut;
    int done[2]; /* the thread writes a byte when it is done */
    GThread *thread;
} FuzzColoPeer;

static uint32_t fuzz_colo_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static void fuzz_colo_shut(FuzzColoPeer *p)
{
    if (!p->shut) {
        shutdown(p->fd, SHUT_WR);
        p->shut = true;
    }
}

static bool fuzz_colo_write(int fd, const uint8_t *b, size_t n)
{
    while (n) {
        ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return false;
        }
        b += k;
        n -= (size_t)k;
    }
    return true;
}

/* Sends the next frame of the input (its CRC fixed if asked); returns its
   type byte, 0 for a frame too short to have one, -1 when nothing was
   left or the side stopped reading. */
static int fuzz_colo_send_frame(FuzzColoPeer *p)
{
    size_t left = p->len - p->off, n = left;
    g_autofree uint8_t *f = NULL;

    if (left >= COLO_PROTO_HDR_LEN) {
        n = MIN(left,
                COLO_PROTO_HDR_LEN + (size_t)fuzz_colo_be32(p->in + p->off));
    }
    if (n == 0 || p->shut) {
        return -1;
    }
    f = g_memdup2(p->in + p->off, n);
    p->off += n;
    if (p->fix_crc && n >= COLO_PROTO_HDR_LEN &&
        n == COLO_PROTO_HDR_LEN + fuzz_colo_be32(f)) {
        uint32_t crc = colo_crc32c(colo_crc32c(0, f, 8), f + COLO_PROTO_HDR_LEN,
                                   n - COLO_PROTO_HDR_LEN);
        f[8] = crc >> 24;
        f[9] = crc >> 16;
        f[10] = crc >> 8;
        f[11] = crc;
    }
    if (!fuzz_colo_write(p->fd, f, n)) {
        fuzz_colo_shut(p);
        return -1;
    }
    return n > 4 ? f[4] : 0;
}

/* One answer to the primary: frames up to the first that is not a
   heartbeat; half-close when the input is used up. */
static void fuzz_colo_turn(FuzzColoPeer *p)
{
    while (fuzz_colo_send_frame(p) == COLO_MSG_HEARTBEAT) {
    }
    if (p->off == p->len) {
        fuzz_colo_shut(p);
    }
}

static void fuzz_colo_on_msg(FuzzColoPeer *p, const ColoMsg *m)
{
    if (m->type == COLO_MSG_ERROR || m->type == COLO_MSG_BYE) {
        fuzz_colo_shut(p);
    } else if (p->turns &&
               (m->type == COLO_MSG_HELLO || m->type == COLO_MSG_DATA)) {
        fuzz_colo_turn(p);
    }
}

/* Reads the side's frames until its EOF, answering as fuzz_colo_on_msg
   says; after a bad frame from the side, only drains. */
static void fuzz_colo_read_side(FuzzColoPeer *p)
{
    ColoProtoReader r;
    bool bad = false;
    uint8_t scratch[4096];

    colo_proto_reader_init(&r);
    for (;;) {
        uint8_t *dst = scratch;
        size_t room = sizeof(scratch);
        ColoMsg m;
        ssize_t n;
        int rc;

        if (!bad) {
            colo_proto_reader_space(&r, &dst, &room);
        }
        n = recv(p->fd, dst, room, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        rc = bad ? 0 : colo_proto_reader_advance(&r, (size_t)n, &m, NULL);
        if (rc < 0) {
            bad = true;
            fuzz_colo_shut(p);
        } else if (rc == 1) {
            fuzz_colo_on_msg(p, &m);
            colo_msg_clear(&m);
        }
    }
    colo_proto_reader_clear(&r);
}

static gpointer fuzz_colo_thread(gpointer opaque)
{
    FuzzColoPeer *p = opaque;

    if (!p->turns) {
        while (fuzz_colo_send_frame(p) >= 0) {
        }
        fuzz_colo_shut(p);
    }
    fuzz_colo_read_side(p);
    if (write(p->done[1], "x", 1) < 0) {
        abort();
    }
    return NULL;
}

/* The secondary's listening socket: the one descriptor of this process
   that accepts connections (the fuzz driver has none). */
static int fuzz_colo_find_listener(void)
{
    for (int fd = 3; fd < FUZZ_COLO_MAX_FD; fd++) {
        int on = 0;
        socklen_t len = sizeof(on);
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on) {
            return fd;
        }
    }
    return -1;
}

static int fuzz_colo_connect_to(int listener)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    int fd;

    if (getsockname(listener, (struct sockaddr *)&sa, &len) < 0) {
        return -1;
    }
    fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, len) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* First dispatch of the side's loop (it listens or has connected by
   then): connect or accept, and start the peer. */
static gboolean fuzz_colo_start_cb(gpointer opaque)
{
    FuzzColoPeer *p = opaque;

    if (p->listen >= 0) {
        p->fd = accept4(p->listen, NULL, NULL, SOCK_CLOEXEC);
    } else {
        p->fd = fuzz_colo_connect_to(fuzz_colo_find_listener());
    }
    if (p->fd < 0) {
        raise(SIGTERM);
        return G_SOURCE_REMOVE;
    }
    p->thread = g_thread_new("fuzz-colo-peer", fuzz_colo_thread, p);
    return G_SOURCE_REMOVE;
}

/* The peer is done: end the side as a user would. */
static gboolean fuzz_colo_done_cb(gint fd, GIOCondition c, gpointer opaque)
{
    raise(SIGTERM);
    return G_SOURCE_REMOVE;
}

/* Our listening socket for the primary to connect to: "127.0.0.1:PORT". */
static char *fuzz_colo_listen(FuzzColoPeer *p)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    p->listen = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (p->listen < 0 || bind(p->listen, (struct sockaddr *)&sa, len) < 0 ||
        listen(p->listen, 1) < 0 ||
        getsockname(p->listen, (struct sockaddr *)&sa, &len) < 0) {
        abort();
    }
    return g_strdup_printf("127.0.0.1:%u", ntohs(sa.sin_port));
}

static void fuzz_colo_run_side(FuzzColoSide side, FuzzColoPeer *p)
{
    g_autofree char *peer = NULL;
    ColoOptions o;

    colo_options_defaults(&o);
    o.qmp = "fake";
    o.heartbeat_ms = FUZZ_COLO_HEARTBEAT_MS;
    o.hb_timeout_ms = 2 * FUZZ_COLO_HEARTBEAT_MS;
    if (side == FUZZ_COLO_RUN_PRIMARY) {
        peer = fuzz_colo_listen(p);
        o.peer = peer;
        o.interval_ms = 1;
        colo_primary_run(&o);
    } else {
        o.listen = "127.0.0.1:0";
        colo_secondary_run(&o);
    }
}

/* Runs the side with stderr quiet if asked, and the process's SIGINT and
   SIGTERM actions (the side's handlers replace them) put back after. */
static void fuzz_colo_run_quietly(FuzzColoSide side, FuzzColoPeer *p)
{
    struct sigaction old_int, old_term;
    int saved = -1;

    sigaction(SIGINT, NULL, &old_int);
    sigaction(SIGTERM, NULL, &old_term);
    if (getenv("LOCKSTEP_FUZZ_QUIET")) {
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        saved = dup(2);
        dup2(null, 2);
        close(null);
    }
    fuzz_colo_run_side(side, p);
    if (saved >= 0) {
        dup2(saved, 2);
        close(saved);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
}

void fuzz_colo_play(FuzzColoSide side, const uint8_t *data, size_t size)
{
    FuzzColoPeer p = {.fd = -1, .listen = -1};
    GSource *start, *done;

    if (size < 1 || !g_unix_open_pipe(p.done, FD_CLOEXEC, NULL)) {
        return;
    }
    p.fix_crc = data[0] & 1;
    p.in = data + 1;
    p.len = size - 1;
    p.turns = side == FUZZ_COLO_RUN_PRIMARY;
    start = g_idle_source_new();
    g_source_set_callback(start, fuzz_colo_start_cb, &p, NULL);
    g_source_attach(start, NULL);
    done = g_unix_fd_source_new(p.done[0], G_IO_IN);
    g_source_set_callback(done, G_SOURCE_FUNC(fuzz_colo_done_cb), &p, NULL);
    g_source_attach(done, NULL);
    fuzz_colo_run_quietly(side, &p);
    if (p.fd >= 0) {
        shutdown(p.fd, SHUT_RDWR); /* the side is gone: unblock the peer */
    }
    if (p.thread) {
        g_thread_join(p.thread);
    }
    g_source_destroy(start);
    g_source_unref(start);
    g_source_destroy(done);
    g_source_unref(done);
    for (int i = 0; i < 2; i++) {
        close(p.done[i]);
    }
    if (p.fd >= 0) {
        close(p.fd);
    }
    if (p.listen >= 0) {
        close(p.listen);
    }
}
