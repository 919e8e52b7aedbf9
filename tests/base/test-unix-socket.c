/*
 * base/unix-socket: the unlink policy (a stale socket is replaced, a live
 * one or a non-socket is not; release unlinks only the file bound) and
 * QEMU's error texts.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/unix-socket.h"

static char *dir;

static char *tmp_path(const char *name)
{
    if (!dir) {
        dir = g_dir_make_tmp("lsunix-XXXXXX", NULL);
        g_assert_nonnull(dir);
    }
    return g_build_filename(dir, name, NULL);
}

static bool is_socket(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void test_listen_connect_release(void)
{
    g_autofree char *path = tmp_path("a.sock");
    LsUnixBound *b = NULL;
    int l = ls_unix_listen(path, 1, true, &b, NULL);
    int c = ls_unix_connect(path, false, NULL);

    g_assert_cmpint(l, >=, 0);
    g_assert_cmpint(c, >=, 0);
    g_assert_true(fcntl(l, F_GETFL) & O_NONBLOCK);
    g_assert_true(fcntl(c, F_GETFD) & FD_CLOEXEC);
    close(c);
    close(l);
    ls_unix_bound_release(b);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

/* Owner-only whatever the umask, and also where the umask is strict. */
static void test_owner_only(void)
{
    mode_t masks[] = {0, 022, 0777};

    for (size_t i = 0; i < G_N_ELEMENTS(masks); i++) {
        g_autofree char *path = tmp_path("mode.sock");
        mode_t old = umask(masks[i]);
        LsUnixBound *b = NULL;
        int l = ls_unix_listen(path, 1, false, &b, NULL);
        struct stat st;

        umask(old);
        g_assert_cmpint(l, >=, 0);
        g_assert_cmpint(lstat(path, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 0777, ==, 0600);
        close(l);
        ls_unix_bound_release(b);
    }
}

static void test_live_socket_kept(void)
{
    g_autofree char *path = tmp_path("live.sock");
    LsUnixBound *b = NULL, *b2 = NULL;
    GError *err = NULL;
    int l = ls_unix_listen(path, 1, false, &b, NULL);
    g_autofree char *msg = g_strdup_printf("Failed to bind socket to %s: %s",
                                           path, g_strerror(EADDRINUSE));

    g_assert_cmpint(l, >=, 0);
    g_assert_cmpint(ls_unix_listen(path, 1, false, &b2, &err), ==, -1);
    g_assert_null(b2);
    g_assert_cmpstr(err->message, ==, msg);
    g_clear_error(&err);
    /* still ours: a client reaches the first listener */
    int c = ls_unix_connect(path, false, NULL);
    g_assert_cmpint(c, >=, 0);
    close(c);
    close(l);
    ls_unix_bound_release(b);
}

static void test_stale_socket_replaced(void)
{
    g_autofree char *path = tmp_path("stale.sock");
    LsUnixBound *b = NULL;
    int l = ls_unix_listen(path, 1, false, &b, NULL);

    g_assert_cmpint(l, >=, 0);
    close(l); /* as a killed process leaves it */
    ls_unix_bound_free(b);
    g_assert_true(is_socket(path));
    l = ls_unix_listen(path, 1, false, &b, NULL);
    g_assert_cmpint(l, >=, 0);
    close(l);
    ls_unix_bound_release(b);
}

static void test_non_socket_kept(void)
{
    g_autofree char *path = tmp_path("regular");
    LsUnixBound *b = NULL;
    GError *err = NULL;

    g_assert_true(g_file_set_contents(path, "keep", -1, NULL));
    g_assert_cmpint(ls_unix_listen(path, 1, false, &b, &err), ==, -1);
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
    unlink(path);
}

static void test_release_spares_replacement(void)
{
    g_autofree char *path = tmp_path("replaced.sock");
    LsUnixBound *b = NULL, *b2 = NULL;
    int l = ls_unix_listen(path, 1, false, &b, NULL);
    int l2;

    g_assert_cmpint(l, >=, 0);
    unlink(path);
    l2 = ls_unix_listen(path, 1, false, &b2, NULL);
    g_assert_cmpint(l2, >=, 0);
    ls_unix_bound_release(b); /* not ours any more */
    g_assert_true(is_socket(path));
    close(l);
    close(l2);
    ls_unix_bound_release(b2);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

static void test_errors(void)
{
    g_autofree char *longp = g_strnfill(200, 'x');
    GError *err = NULL;
    LsUnixBound *b = NULL;

    g_assert_cmpint(ls_unix_connect("/nonexistent/x", false, &err), ==, -1);
    g_assert_cmpstr(err->message, ==,
                    "Failed to connect to '/nonexistent/x': "
                    "No such file or directory");
    g_clear_error(&err);
    g_assert_cmpint(ls_unix_listen(longp, 1, false, &b, &err), ==, -1);
    g_assert_true(strstr(err->message, g_strerror(ENAMETOOLONG)));
    g_clear_error(&err);
    g_assert_cmpint(ls_unix_listen("", 1, false, &b, &err), ==, -1);
    g_clear_error(&err);
    ls_unix_bound_release(NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/unix-socket/listen-connect-release",
                    test_listen_connect_release);
    g_test_add_func("/unix-socket/owner-only", test_owner_only);
    g_test_add_func("/unix-socket/live-kept", test_live_socket_kept);
    g_test_add_func("/unix-socket/stale-replaced", test_stale_socket_replaced);
    g_test_add_func("/unix-socket/non-socket-kept", test_non_socket_kept);
    g_test_add_func("/unix-socket/release-spares-replacement",
                    test_release_spares_replacement);
    g_test_add_func("/unix-socket/errors", test_errors);
    int rc = g_test_run();

    if (dir) {
        rmdir(dir);
    }
    return rc;
}
