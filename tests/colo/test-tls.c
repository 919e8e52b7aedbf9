/*
 * Unit tests for src/colo/tls.c and tls-creds.c, through conn.c over a
 * socketpair on the main loop (PSK: no certificates needed): a TLS pair
 * passes messages; different keys, an unknown username and a plain peer
 * against a TLS one end both sides with the reason; every malformed
 * keys.psk is refused at load with its line.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "colo/conn.h"
#include "colo/tls.h"

#define HEX_A "000102030405060708090a0b0c0d0e0f"
#define KEY_A "qemu:" HEX_A "\n"
#define KEY_B "qemu:f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff\n"

typedef struct Peer {
    ColoConn *c;
    bool ready;
    int closed;
    ColoEnd end;
    char *why;
    unsigned msgs;
} Peer;

static char *dir;

static void t_ready(ColoConn *c, void *opaque)
{
    ((Peer *)opaque)->ready = true;
}

static void t_msg(ColoConn *c, ColoMsg *m, void *opaque)
{
    ((Peer *)opaque)->msgs++;
}

static void t_closed(ColoConn *c, ColoEnd end, uint32_t code, const char *why,
                     void *opaque)
{
    Peer *p = opaque;

    p->closed++;
    p->end = end;
    p->why = g_strdup(why);
    colo_conn_free(c);
    p->c = NULL;
}

static const ColoConnOps t_ops = {t_ready, t_msg, t_closed};

static char *write_file(const char *name, const char *text)
{
    char *path;

    if (!dir) {
        dir = g_dir_make_tmp("lstls-XXXXXX", NULL);
        g_assert_nonnull(dir);
    }
    path = g_build_filename(dir, name, NULL);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    return path;
}

static ColoTlsCreds *psk(const char *text, bool server, const char *user)
{
    g_autofree char *path = write_file("keys.psk", text);
    g_autoptr(GError) err = NULL;
    ColoTlsCreds *cr = colo_tls_creds_psk_new(path, server, user, &err);

    g_assert_no_error(err);
    return cr;
}

/* Runs the loop until both peers are ready or one closed, or ~3 s. */
static void spin(Peer *a, Peer *b, bool want_closed)
{
    gint64 end = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;

    while (
        g_get_monotonic_time() < end &&
        (want_closed ? !(a->closed && b->closed) : !(a->ready && b->ready))) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
}

/* A primary (client, `ca`) and a secondary (server, `cb`) over a
   socketpair; NULL creds: plain. */
static void pair(Peer *a, Peer *b, const ColoTlsCreds *ca,
                 const ColoTlsCreds *cb)
{
    int fds[2];

    memset(a, 0, sizeof(*a));
    memset(b, 0, sizeof(*b));
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
    a->c = colo_conn_new(fds[0], ca, COLO_ROLE_PRIMARY, COLO_ROLE_SECONDARY, 20,
                         1000, &t_ops, a);
    b->c = colo_conn_new(fds[1], cb, COLO_ROLE_SECONDARY, COLO_ROLE_PRIMARY, 20,
                         1000, &t_ops, b);
}

static void peer_clear(Peer *p)
{
    colo_conn_free(p->c);
    g_free(p->why);
}

static void test_psk_pair(void)
{
    ColoTlsCreds *cli = psk(KEY_A, false, NULL);
    ColoTlsCreds *srv =
        psk("other:00112233445566778899aabbccddeeff\n" KEY_A, true, NULL);
    GBytes *begin = colo_proto_u64(COLO_MSG_BEGIN, 1);
    Peer a, b;

    pair(&a, &b, cli, srv);
    spin(&a, &b, false);
    g_assert_true(a.ready && b.ready);
    colo_conn_send(a.c, begin);
    g_bytes_unref(begin);
    for (int i = 0; i < 3000 && !b.msgs; i++) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
    g_assert_cmpuint(b.msgs, ==, 1);
    colo_conn_close(a.c, true, COLO_CODE_OK, "done");
    spin(&a, &b, true);
    g_assert_cmpint(b.end, ==, COLO_END_BYE);
    g_assert_cmpstr(b.why, ==, "done");
    peer_clear(&a);
    peer_clear(&b);
    colo_tls_creds_free(cli);
    colo_tls_creds_free(srv);
}

/* Both ends refused, before any message, each saying `a_says` /
   `b_says`. */
static void refused(const ColoTlsCreds *ca, const ColoTlsCreds *cb,
                    const char *a_says, const char *b_says)
{
    Peer a, b;

    pair(&a, &b, ca, cb);
    spin(&a, &b, true);
    g_assert_cmpint(a.closed, ==, 1);
    g_assert_cmpint(b.closed, ==, 1);
    g_assert_false(a.ready || b.ready);
    g_assert_cmpint(a.end, ==, COLO_END_LOST);
    g_assert_cmpint(b.end, ==, COLO_END_LOST);
    if (!strstr(a.why, a_says) || !strstr(b.why, b_says)) {
        g_error("primary said '%s' (want '%s'), secondary '%s' (want '%s')",
                a.why, a_says, b.why, b_says);
    }
    peer_clear(&a);
    peer_clear(&b);
}

static void test_refusals(void)
{
    ColoTlsCreds *a = psk(KEY_A, false, NULL);
    ColoTlsCreds *b = psk(KEY_B, true, NULL);
    ColoTlsCreds *bob = psk("bob:" HEX_A "\n", false, "bob");
    ColoTlsCreds *srv = psk(KEY_A, true, NULL);

    refused(a, b, "pre-shared keys", "pre-shared keys differ");
    refused(bob, srv, "pre-shared keys",
            "the peer's PSK username 'bob' is not in our keys file");
    refused(NULL, srv, "the peer speaks TLS, this side runs with --insecure",
            "the peer speaks plain TCP");
    refused(a, NULL, "the peer speaks plain TCP",
            "the peer speaks TLS, this side runs with --insecure");
    colo_tls_creds_free(a);
    colo_tls_creds_free(b);
    colo_tls_creds_free(bob);
    colo_tls_creds_free(srv);
}

static void bad_file(const char *text, const char *user, const char *want)
{
    g_autofree char *path = write_file("bad.psk", text);
    g_autoptr(GError) err = NULL;

    g_assert_null(colo_tls_creds_psk_new(path, user == NULL, user, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, want)) {
        g_error("'%s' does not say '%s'", err->message, want);
    }
}

static void test_bad_psk_files(void)
{
    g_autofree char *long_user = g_strnfill(COLO_TLS_MAX_PSK_USER + 1, 'u');
    g_autofree char *long_line = g_strdup_printf("%s:%s", long_user, HEX_A);
    g_autofree char *big_key = g_strnfill(2 * COLO_TLS_MAX_PSK_KEY + 2, 'a');
    g_autofree char *big_line = g_strdup_printf("qemu:%s\n", big_key);
    g_autofree char *huge = g_strnfill(COLO_TLS_MAX_PSK_FILE + 1, '\n');
    g_autofree char *missing = NULL;
    g_autoptr(GError) err = NULL;

    bad_file("qemu:0011zz\n", NULL, "line 1: the key must be");
    bad_file("\n"
             "qemu:001\n",
             NULL, "line 2: the key must be");
    bad_file("qemu:00112233\n", NULL, "the key must be 16 to 512 bytes");
    bad_file(big_line, NULL, "line 1: the key must be");
    bad_file("qemu\n", NULL, "line 1: want username:hexkey");
    bad_file(":00112233445566778899aabbccddeeff\n", NULL, "want username");
    bad_file(long_line, NULL, "a username of 1 to 255 bytes");
    bad_file("\n\n", NULL, "no username:hexkey line");
    bad_file(huge, NULL, "over 65536 bytes");
    bad_file(KEY_A, "bob", "username 'bob' not in it");
    missing = g_build_filename(dir, "none.psk", NULL);
    g_assert_null(colo_tls_creds_psk_new(missing, true, NULL, &err));
    g_assert_nonnull(strstr(err->message, "none.psk"));
}

int main(int argc, char **argv)
{
    int rc;

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/colo/tls/psk-pair", test_psk_pair);
    g_test_add_func("/colo/tls/refusals", test_refusals);
    g_test_add_func("/colo/tls/bad-psk-files", test_bad_psk_files);
    rc = g_test_run();
    if (dir) {
        g_autofree char *a = g_build_filename(dir, "keys.psk", NULL);
        g_autofree char *b = g_build_filename(dir, "bad.psk", NULL);
        g_unlink(a);
        g_unlink(b);
        g_rmdir(dir);
        g_free(dir);
    }
    return rc;
}
