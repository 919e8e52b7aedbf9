/*
 * File I/O: atomic write (no temporary left behind, target replaced whole),
 * QEMU's "Unable to open PATH: REASON" texts, fd variants, and what a save
 * does to each kind of target (issue 7: the path keeps its meaning).
 */
#include "vms/vms.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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

/* A temporary directory; names in it; the listing of it, sorted. */
typedef struct Tmp {
    char *dir;
} Tmp;

static char *tmp_path(Tmp *t, const char *name)
{
    return g_build_filename(t->dir, name, NULL);
}

static int tmp_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *tmp_listing(Tmp *t)
{
    g_autoptr(GDir) d = g_dir_open(t->dir, 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    const char *n;

    while ((n = g_dir_read_name(d))) {
        g_ptr_array_add(names, (gpointer)n);
    }
    g_ptr_array_sort(names, tmp_cmp);
    g_ptr_array_add(names, NULL);
    return g_strjoinv(" ", (char **)names->pdata);
}

static void tmp_rm(Tmp *t)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", t->dir);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(t->dir);
}

static char *slurp(const char *path)
{
    char *text = NULL;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

static void test_target_new(void)
{
    Tmp t = {g_dir_make_tmp("vms-tgt-XXXXXX", NULL)};
    g_autofree char *f = tmp_path(&t, "new");
    g_autofree char *text = NULL;
    g_autofree char *ls = NULL;
    struct stat st;
    mode_t old = umask(022);

    g_assert_true(vms_write_file(f, "QEVM", 4, false, NULL));
    umask(old);
    g_assert_cmpint(lstat(f, &st), ==, 0);
    g_assert_true(S_ISREG(st.st_mode));
    g_assert_cmphex(st.st_mode & 07777, ==, 0640); /* 0660 & ~022, QEMU's */
    text = slurp(f);
    g_assert_cmpstr(text, ==, "QEVM");
    ls = tmp_listing(&t);
    g_assert_cmpstr(ls, ==, "new");
    tmp_rm(&t);
}

/* Mode 0640 and another owner survive; the file is still replaced (a new
   inode: the atomic path), and nothing is left beside it. */
static void test_target_existing(void)
{
    Tmp t = {g_dir_make_tmp("vms-tgt-XXXXXX", NULL)};
    g_autofree char *f = tmp_path(&t, "f");
    g_autofree char *text = NULL;
    g_autofree char *ls = NULL;
    struct stat before, after;
    bool root = geteuid() == 0;

    g_assert_true(g_file_set_contents(f, "old contents", -1, NULL));
    g_assert_cmpint(chmod(f, 0640), ==, 0);
    if (root) {
        g_assert_cmpint(chown(f, 4321, 8765), ==, 0);
    }
    g_assert_cmpint(lstat(f, &before), ==, 0);
    g_assert_true(vms_write_file(f, "new", 3, true, NULL));
    g_assert_cmpint(lstat(f, &after), ==, 0);
    g_assert_cmphex(after.st_mode & 07777, ==, 0640);
    g_assert_cmpuint(after.st_uid, ==, before.st_uid);
    g_assert_cmpuint(after.st_gid, ==, before.st_gid);
    g_assert_cmpuint(after.st_ino, !=, before.st_ino);
    text = slurp(f);
    g_assert_cmpstr(text, ==, "new");
    ls = tmp_listing(&t);
    g_assert_cmpstr(ls, ==, "f");
    tmp_rm(&t);
}

/* A link (relative, through a second link in another directory) stays a
   link; the file it names gets the bytes and keeps its mode. */
static void test_target_symlink(void)
{
    Tmp t = {g_dir_make_tmp("vms-tgt-XXXXXX", NULL)};
    g_autofree char *sub = tmp_path(&t, "sub");
    g_autofree char *real = tmp_path(&t, "sub/real");
    g_autofree char *l1 = tmp_path(&t, "l1");
    g_autofree char *l2 = tmp_path(&t, "sub/l2");
    g_autofree char *text = NULL;
    g_autofree char *ls = NULL;
    g_autofree char *target = NULL;
    struct stat st;

    g_assert_cmpint(g_mkdir(sub, 0700), ==, 0);
    g_assert_true(g_file_set_contents(real, "old", -1, NULL));
    g_assert_cmpint(chmod(real, 0604), ==, 0);
    g_assert_cmpint(symlink("real", l2), ==, 0);
    g_assert_cmpint(symlink("sub/l2", l1), ==, 0);
    g_assert_true(vms_write_file(l1, "new", 3, false, NULL));
    g_assert_cmpint(lstat(l1, &st), ==, 0);
    g_assert_true(S_ISLNK(st.st_mode));
    target = g_file_read_link(l1, NULL);
    g_assert_cmpstr(target, ==, "sub/l2");
    text = slurp(real);
    g_assert_cmpstr(text, ==, "new");
    g_assert_cmpint(lstat(real, &st), ==, 0);
    g_assert_cmphex(st.st_mode & 07777, ==, 0604);
    ls = tmp_listing(&t);
    g_assert_cmpstr(ls, ==, "l1 sub");
    tmp_rm(&t);
}

/* As open(O_CREAT) does, a dangling link creates the file it names. A
   loop of links is an error. */
static void test_target_dangling(void)
{
    Tmp t = {g_dir_make_tmp("vms-tgt-XXXXXX", NULL)};
    g_autofree char *link = tmp_path(&t, "link");
    g_autofree char *real = tmp_path(&t, "real");
    g_autofree char *loop = tmp_path(&t, "loop");
    g_autofree char *text = NULL;
    g_autofree char *msg = NULL;
    g_autoptr(GError) err = NULL;
    struct stat st;

    g_assert_cmpint(symlink(real, link), ==, 0);
    g_assert_true(vms_write_file(link, "abc", 3, false, NULL));
    g_assert_cmpint(lstat(link, &st), ==, 0);
    g_assert_true(S_ISLNK(st.st_mode));
    text = slurp(real);
    g_assert_cmpstr(text, ==, "abc");
    g_assert_cmpint(symlink("loop", loop), ==, 0);
    g_assert_false(vms_write_file(loop, "abc", 3, false, &err));
    msg = g_strdup_printf("Unable to open %s: %s", loop, g_strerror(ELOOP));
    g_assert_cmpstr(err->message, ==, msg);
    tmp_rm(&t);
}

/* A FIFO with a reader gets the bytes and stays a FIFO. Without one the
   save fails at once, saying why, and the FIFO stays. */
static void test_target_fifo(void)
{
    Tmp t = {g_dir_make_tmp("vms-tgt-XXXXXX", NULL)};
    g_autofree char *fifo = tmp_path(&t, "fifo");
    g_autoptr(GError) err = NULL;
    g_autofree char *msg = NULL;
    char got[8] = {0};
    struct stat st;
    int r;

    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
    g_assert_false(vms_write_file(fifo, "abc", 3, false, &err));
    msg = g_strdup_printf("Unable to open %s: no process has it open for "
                          "reading (a save does not wait for a reader)",
                          fifo);
    g_assert_cmpstr(err->message, ==, msg);
    r = open(fifo, O_RDONLY | O_NONBLOCK);
    g_assert_cmpint(r, >=, 0);
    g_assert_true(vms_write_file(fifo, "abc", 3, true, NULL));
    g_assert_cmpint(read(r, got, sizeof(got)), ==, 3);
    g_assert_cmpstr(got, ==, "abc");
    close(r);
    g_assert_cmpint(lstat(fifo, &st), ==, 0);
    g_assert_true(S_ISFIFO(st.st_mode));
    tmp_rm(&t);
}

/* A reader that does not drain the pipe: the save fails, never blocks. */
static void test_target_fifo_full(void)
{
    Tmp t = {g_dir_make_tmp("vms-tgt-XXXXXX", NULL)};
    g_autofree char *fifo = tmp_path(&t, "fifo");
    g_autoptr(GError) err = NULL;
    size_t big = 4u << 20; /* more than any pipe buffer by default */
    g_autofree char *buf = g_malloc0(big);
    int r;

    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
    r = open(fifo, O_RDONLY | O_NONBLOCK);
    g_assert_cmpint(r, >=, 0);
    g_assert_false(vms_write_file(fifo, buf, big, false, &err));
    g_assert_nonnull(strstr(err->message, "the reader is not taking it"));
    close(r);
    tmp_rm(&t);
}

/* A character device is written in place: a node of /dev/null's numbers
   in the temporary directory when we may make one (root), else /dev/null
   itself. */
static void test_target_chardev(void)
{
    Tmp t = {g_dir_make_tmp("vms-tgt-XXXXXX", NULL)};
    g_autofree char *node = tmp_path(&t, "null");
    const char *dev = "/dev/null";
    struct stat st;

    if (mknod(node, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        dev = node;
    }
    g_assert_true(vms_write_file(dev, "abc", 3, true, NULL));
    g_assert_cmpint(lstat(dev, &st), ==, 0);
    g_assert_true(S_ISCHR(st.st_mode));
    g_assert_cmpuint(st.st_rdev, ==, makedev(1, 3));
    tmp_rm(&t);
}

/* Two names for one file stay one file. */
static void test_target_hardlink(void)
{
    Tmp t = {g_dir_make_tmp("vms-tgt-XXXXXX", NULL)};
    g_autofree char *a = tmp_path(&t, "a");
    g_autofree char *b = tmp_path(&t, "b");
    g_autofree char *text = NULL;
    g_autofree char *ls = NULL;

    g_assert_true(g_file_set_contents(a, "old contents", -1, NULL));
    g_assert_cmpint(link(a, b), ==, 0);
    g_assert_true(vms_write_file(a, "new", 3, false, NULL));
    text = slurp(b);
    g_assert_cmpstr(text, ==, "new");
    ls = tmp_listing(&t);
    g_assert_cmpstr(ls, ==, "a b");
    tmp_rm(&t);
}

static void test_target_directory(void)
{
    Tmp t = {g_dir_make_tmp("vms-tgt-XXXXXX", NULL)};
    g_autofree char *d = tmp_path(&t, "d");
    g_autofree char *link = tmp_path(&t, "link");
    g_autofree char *ls = NULL;

    g_assert_cmpint(g_mkdir(d, 0700), ==, 0);
    g_assert_cmpint(symlink("d", link), ==, 0);
    for (int i = 0; i < 2; i++) {
        g_autoptr(GError) err = NULL;
        const char *p = i ? link : d;
        g_autofree char *msg =
            g_strdup_printf("Unable to open %s: %s", p, g_strerror(EISDIR));
        g_assert_false(vms_write_file(p, "abc", 3, false, &err));
        g_assert_cmpstr(err->message, ==, msg);
    }
    ls = tmp_listing(&t);
    g_assert_cmpstr(ls, ==, "d link");
    tmp_rm(&t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vms/file/write-read", test_write_read);
    g_test_add_func("/vms/file/errors", test_errors);
    g_test_add_func("/vms/file/fds", test_fds);
    g_test_add_func("/vms/file/replace", test_replace);
    g_test_add_func("/vms/file/target/new", test_target_new);
    g_test_add_func("/vms/file/target/existing", test_target_existing);
    g_test_add_func("/vms/file/target/symlink", test_target_symlink);
    g_test_add_func("/vms/file/target/dangling", test_target_dangling);
    g_test_add_func("/vms/file/target/fifo", test_target_fifo);
    g_test_add_func("/vms/file/target/fifo-full", test_target_fifo_full);
    g_test_add_func("/vms/file/target/chardev", test_target_chardev);
    g_test_add_func("/vms/file/target/hardlink", test_target_hardlink);
    g_test_add_func("/vms/file/target/directory", test_target_directory);
    return g_test_run();
}
