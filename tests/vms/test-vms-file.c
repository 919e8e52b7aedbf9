/*
 * File I/O: atomic write (no temporary left behind, target replaced whole),
 * QEMU's "Unable to open PATH: REASON" texts, fd variants.
 */
#include "vms/vms.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static void test_write_read(void)
{
    g_autofree char *dir = g_dir_make_tmp("vms-file-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "state", NULL);
    g_autoptr(GByteArray) back = NULL;
    g_autoptr(GError) err = NULL;

    g_assert_true(
        g_file_set_contents(path, "a much longer old content", -1, NULL));
    g_assert_true(vms_write_file(path, "QEVM", 4, true, &err));
    g_assert_true(vms_read_file(path, &back, &err));
    g_assert_cmpmem(back->data, back->len, "QEVM", 4);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    g_assert_cmpstr(g_dir_read_name(d), ==, "state");
    g_assert_null(g_dir_read_name(d));
    g_unlink(path);
    g_rmdir(dir);
}

static void test_errors(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GByteArray) back = NULL;

    g_assert_false(vms_write_file("/nonexistent-dir/x", "a", 1, false, &err));
    g_assert_cmpstr(err->message, ==,
                    "Unable to open /nonexistent-dir/x: "
                    "No such file or directory");
    g_clear_error(&err);
    g_assert_false(vms_read_file("/nonexistent-dir/x", &back, &err));
    g_assert_cmpstr(err->message, ==,
                    "Unable to open /nonexistent-dir/x: "
                    "No such file or directory");
    g_clear_error(&err);
    /* renaming over a directory fails: the temporary must not remain */
    g_autofree char *dir = g_dir_make_tmp("vms-file-XXXXXX", NULL);
    g_autofree char *sub = g_build_filename(dir, "sub", NULL);
    g_assert_cmpint(g_mkdir(sub, 0700), ==, 0);
    g_autofree char *x = g_build_filename(sub, "x", NULL);
    g_assert_cmpint(g_mkdir(x, 0700), ==, 0);
    g_assert_false(vms_write_file(sub, "a", 1, false, &err));
    g_assert_true(g_str_has_prefix(err->message, "Unable to open "));
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    g_assert_cmpstr(g_dir_read_name(d), ==, "sub");
    g_assert_null(g_dir_read_name(d));
    g_rmdir(x);
    g_rmdir(sub);
    g_rmdir(dir);
}

/* Replacing an existing file leaves no stray temporary behind, and the
   stale variant hands back the old contents for a later unlink. */
static void test_replace(void)
{
    g_autofree char *dir = g_dir_make_tmp("vms-file-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "f", NULL);
    g_autofree char *stale = NULL;
    g_autofree char *text = NULL;
    g_autoptr(GError) err = NULL;

    g_assert_true(vms_write_file(path, "old", 3, false, &err));
    g_assert_true(vms_write_file_stale(path, "new", 3, true, &stale, &err));
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "new");
    if (stale) { /* exchanged: the old contents wait under a temp name */
        g_autofree char *old = NULL;
        g_assert_true(g_str_has_prefix(stale, dir));
        g_assert_true(g_file_get_contents(stale, &old, NULL, NULL));
        g_assert_cmpstr(old, ==, "old");
        g_assert_cmpint(unlink(stale), ==, 0);
    }
    g_assert_true(vms_write_file(path, "newer", 5, false, &err));
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    g_assert_cmpstr(g_dir_read_name(d), ==, "f");
    g_assert_null(g_dir_read_name(d));
    unlink(path);
    g_rmdir(dir);
}

static void test_fds(void)
{
    int p[2];
    g_autoptr(GByteArray) back = NULL;
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(pipe(p), ==, 0);
    g_assert_true(vms_write_fd(p[1], "hello", 5, &err));
    close(p[1]);
    g_assert_true(vms_read_fd(p[0], &back, &err));
    close(p[0]);
    g_assert_cmpmem(back->data, back->len, "hello", 5);
    g_assert_false(vms_write_fd(-1, "x", 1, &err));
    g_assert_nonnull(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vms/file/write-read", test_write_read);
    g_test_add_func("/vms/file/errors", test_errors);
    g_test_add_func("/vms/file/fds", test_fds);
    g_test_add_func("/vms/file/replace", test_replace);
    return g_test_run();
}
