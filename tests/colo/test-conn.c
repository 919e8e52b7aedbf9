/*
 * Unit tests for src/colo/conn.c over a socketpair on the main loop: the
 * hello exchange, messages passed on, and every way a session ends (bye,
 * the peer's error, a bad frame, a wrong hello, a message rejected,
 * silence past the heartbeat timeout, EOF), each reported once with the
 * right ColoEnd.
 */
#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "colo/conn.h"

typedef struct Peer {
    ColoConn *c;
    bool ready;
    int closed; /* times on_closed ran */
    ColoEnd end;
    uint32_t code;
    char *why;
    GPtrArray *msgs; /* types seen, as GUINT_TO_POINTER */
} Peer;

static void t_ready(ColoConn *c, void *opaque)
{
    ((Peer *)opaque)->ready = true;
}

static void t_msg(ColoConn *c, ColoMsg *m, void *opaque)
{
    g_ptr_array_add(((Peer *)opaque)->msgs, GUINT_TO_POINTER(m->type));
}

static void t_closed(ColoConn *c, ColoEnd end, uint32_t code, const char *why,
                     void *opaque)
{
    Peer *p = opaque;

    p->closed++;
    p->end = end;
    p->code = code;
    p->why = g_strdup(why);
    colo_conn_free(c); /* allowed here, by contract */
    p->c = NULL;
}

static const ColoConnOps t_ops = {t_ready, t_msg, t_closed};

static void peer_clear(Peer *p)
{
    if (p->c) {
        colo_conn_free(p->c);
    }
    g_free(p->why);
    g_ptr_array_unref(p->msgs);
}

/* Runs the loop until cond(p) or ~3 s. */
static bool spin(bool (*cond)(Peer *), Peer *p)
{
    gint64 end = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;

    while (!cond(p) && g_get_monotonic_time() < end) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
    return cond(p);
}

static bool is_ready(Peer *p)
{
    return p->ready;
}

static bool has_msg(Peer *p)
{
    return p->msgs->len > 0;
}

static bool is_closed(Peer *p)
{
    return p->closed > 0;
}

/* A conn on fds[0] (role primary) and a raw socket fds[1]. */
static void setup_raw(Peer *p, int *raw, unsigned hb_timeout_ms)
{
    int fds[2];

    memset(p, 0, sizeof(*p));
    p->msgs = g_ptr_array_new();
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
    p->c = colo_conn_new(fds[0], NULL, COLO_ROLE_PRIMARY, COLO_ROLE_SECONDARY,
                         20, hb_timeout_ms, &t_ops, p);
    *raw = fds[1];
}

static void raw_send(int fd, GBytes *b)
{
    gsize len;
    const void *d = g_bytes_get_data(b, &len);

    g_assert_cmpint(write(fd, d, len), ==, (ssize_t)len);
    g_bytes_unref(b);
}

static void test_pair_and_bye(void)
{
    Peer a = {0}, b = {0};
    GBytes *begin;
    int fds[2];

    a.msgs = g_ptr_array_new();
    b.msgs = g_ptr_array_new();
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
    a.c = colo_conn_new(fds[0], NULL, COLO_ROLE_PRIMARY, COLO_ROLE_SECONDARY,
                        20, 1000, &t_ops, &a);
    b.c = colo_conn_new(fds[1], NULL, COLO_ROLE_SECONDARY, COLO_ROLE_PRIMARY,
                        20, 1000, &t_ops, &b);
    g_assert_true(spin(is_ready, &a));
    g_assert_true(spin(is_ready, &b));
    begin = colo_proto_u64(COLO_MSG_BEGIN, 1);
    colo_conn_send(a.c, begin); /* takes its own reference */
    g_bytes_unref(begin);
    g_assert_true(spin(has_msg, &b));
    g_assert_cmpuint(GPOINTER_TO_UINT(b.msgs->pdata[0]), ==, COLO_MSG_BEGIN);
    /* heartbeats (every 20 ms) are never passed on */
    for (int i = 0; i < 100; i++) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
    g_assert_cmpuint(b.msgs->len, ==, 1);
    colo_conn_close(a.c, true, COLO_CODE_OK, "done");
    g_assert_true(spin(is_closed, &a));
    g_assert_true(spin(is_closed, &b));
    g_assert_cmpint(a.end, ==, COLO_END_LOCAL);
    g_assert_cmpint(b.end, ==, COLO_END_BYE);
    g_assert_cmpstr(b.why, ==, "done");
    g_assert_cmpint(a.closed, ==, 1);
    g_assert_cmpint(b.closed, ==, 1);
    peer_clear(&a);
    peer_clear(&b);
}

static void test_peer_error(void)
{
    Peer p;
    int raw;

    setup_raw(&p, &raw, 1000);
    raw_send(raw, colo_proto_hello(COLO_ROLE_SECONDARY, 20));
    raw_send(raw, colo_proto_text(COLO_MSG_ERROR, COLO_CODE_DM_LOST, "gone"));
    g_assert_true(spin(is_closed, &p));
    g_assert_cmpint(p.end, ==, COLO_END_PEER_ERROR);
    g_assert_cmpuint(p.code, ==, COLO_CODE_DM_LOST);
    g_assert_nonnull(strstr(p.why, "gone"));
    close(raw);
    peer_clear(&p);
}

static void test_bad_frame(void)
{
    static const uint8_t junk[16] = {0, 0, 0, 8, 0x42};
    Peer p;
    int raw;

    setup_raw(&p, &raw, 1000);
    raw_send(raw, colo_proto_hello(COLO_ROLE_SECONDARY, 20));
    g_assert_cmpint(write(raw, junk, sizeof(junk)), ==, sizeof(junk));
    g_assert_true(spin(is_closed, &p));
    g_assert_cmpint(p.end, ==, COLO_END_LOST);
    g_assert_nonnull(strstr(p.why, "unknown message type 66"));
    close(raw);
    peer_clear(&p);
}

static void test_wrong_hello(void)
{
    Peer p;
    int raw;

    setup_raw(&p, &raw, 1000);
    raw_send(raw, colo_proto_hello(COLO_ROLE_PRIMARY, 20)); /* same role */
    g_assert_true(spin(is_closed, &p));
    g_assert_false(p.ready);
    g_assert_cmpint(p.end, ==, COLO_END_LOST);
    g_assert_nonnull(strstr(p.why, "role"));
    close(raw);
    peer_clear(&p);
}

static void test_reject(void)
{
    Peer p;
    int raw;

    setup_raw(&p, &raw, 1000);
    raw_send(raw, colo_proto_hello(COLO_ROLE_SECONDARY, 20));
    g_assert_true(spin(is_ready, &p));
    colo_conn_reject(p.c, "out of order");
    g_assert_true(spin(is_closed, &p));
    g_assert_cmpint(p.end, ==, COLO_END_LOST);
    close(raw);
    peer_clear(&p);
}

static void test_silence(void)
{
    Peer p;
    int raw;
    gint64 t0 = g_get_monotonic_time();

    setup_raw(&p, &raw, 150);
    raw_send(raw, colo_proto_hello(COLO_ROLE_SECONDARY, 20));
    g_assert_true(spin(is_closed, &p));
    g_assert_cmpint(p.end, ==, COLO_END_LOST);
    g_assert_nonnull(strstr(p.why, "heartbeat timeout 150 ms"));
    g_assert_cmpint(g_get_monotonic_time() - t0, >=, 150 * 1000);
    close(raw);
    peer_clear(&p);
}

static void test_eof(void)
{
    Peer p;
    int raw;

    setup_raw(&p, &raw, 1000);
    raw_send(raw, colo_proto_hello(COLO_ROLE_SECONDARY, 20));
    g_assert_true(spin(is_ready, &p));
    close(raw);
    g_assert_true(spin(is_closed, &p));
    g_assert_cmpint(p.end, ==, COLO_END_LOST);
    /* closed, or reset (the raw end left our hello unread) */
    g_assert_nonnull(strstr(p.why, "by peer"));
    peer_clear(&p);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/colo/conn/pair-and-bye", test_pair_and_bye);
    g_test_add_func("/colo/conn/peer-error", test_peer_error);
    g_test_add_func("/colo/conn/bad-frame", test_bad_frame);
    g_test_add_func("/colo/conn/wrong-hello", test_wrong_hello);
    g_test_add_func("/colo/conn/reject", test_reject);
    g_test_add_func("/colo/conn/silence", test_silence);
    g_test_add_func("/colo/conn/eof", test_eof);
    return g_test_run();
}
