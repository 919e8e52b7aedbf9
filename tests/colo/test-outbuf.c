/*
 * Tests for src/colo/outbuf*.c: epochs, release order, discard, caps and
 * back-pressure, the fd drain helper, FILE / unix / TCP sinks against real
 * files and real loopback sockets (a peer that stops reading, a peer that
 * goes away and comes back), and the secondary's takeover of a FILE sink.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "colo/outbuf.h"

/* Liveness bound for waits on the main loop (generous; not a timing). */
#define WAIT_US (5 * G_USEC_PER_SEC)

typedef struct Fixture {
    char *dir;
    char *file;
    char *sock;
} Fixture;

static void fix_setup(Fixture *f, gconstpointer data)
{
    f->dir = g_dir_make_tmp("test-outbuf-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->file = g_build_filename(f->dir, "out.txt", NULL);
    f->sock = g_build_filename(f->dir, "sink.sock", NULL);
}

static void fix_teardown(Fixture *f, gconstpointer data)
{
    unlink(f->file);
    unlink(f->sock);
    rmdir(f->dir);
    g_free(f->file);
    g_free(f->sock);
    g_free(f->dir);
}

static char *file_text(const char *path)
{
    char *s = NULL;

    if (!g_file_get_contents(path, &s, NULL, NULL)) {
        return g_strdup("<missing>");
    }
    return s;
}

static ColoOutbuf *file_outbuf(const char *path, const ColoOutbufConfig *cfg)
{
    g_autoptr(GError) err = NULL;
    ColoSink *sink = colo_sink_open(path, 0, &err);

    g_assert_no_error(err);
    return colo_outbuf_new(sink, cfg);
}

static void put(ColoOutbuf *ob, const char *s)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(colo_outbuf_append(ob, s, strlen(s), &err));
    g_assert_no_error(err);
}

static void close_epoch(ColoOutbuf *ob, uint64_t n)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(colo_outbuf_close_epoch(ob, n, NULL, &err));
    g_assert_no_error(err);
}

static void release(ColoOutbuf *ob, uint64_t n)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(colo_outbuf_release(ob, n, &err));
    g_assert_no_error(err);
}

#define ASSERT_FILE(path, want)                                                \
    do {                                                                       \
        g_autofree char *got_ = file_text(path);                               \
        g_assert_cmpstr(got_, ==, want);                                       \
    } while (0)

static void test_epochs(Fixture *f, gconstpointer data)
{
    ColoOutbuf *ob = file_outbuf(f->file, NULL);
    ColoOutbufStats st;
    uint64_t end = 0;

    put(ob, "one ");
    g_assert_true(colo_outbuf_close_epoch(ob, 1, &end, NULL));
    g_assert_cmpuint(end, ==, 4);
    put(ob, "two ");
    close_epoch(ob, 2);
    put(ob, "three ");
    ASSERT_FILE(f->file, "");
    release(ob, 1);
    ASSERT_FILE(f->file, "one ");
    release(ob, 1); /* again: nothing more */
    ASSERT_FILE(f->file, "one ");
    release(ob, 2);
    ASSERT_FILE(f->file, "one two ");
    colo_outbuf_get_stats(ob, &st);
    g_assert_cmpuint(st.open_epoch, ==, 3);
    g_assert_cmpuint(st.held, ==, 6);
    g_assert_cmpuint(st.open_bytes, ==, 6);
    g_assert_cmpuint(st.released, ==, 8);
    g_assert_cmpuint(st.appended, ==, 14);
    colo_outbuf_release_all(ob);
    ASSERT_FILE(f->file, "one two three ");
    put(ob, "four "); /* pass-through */
    ASSERT_FILE(f->file, "one two three four ");
    colo_outbuf_hold(ob);
    put(ob, "five");
    ASSERT_FILE(f->file, "one two three four ");
    close_epoch(ob, 3);
    release(ob, 3);
    ASSERT_FILE(f->file, "one two three four five");
    colo_outbuf_free(ob);
}

/* Releasing a later epoch releases every earlier one, in order. */
static void test_release_skips_ahead(Fixture *f, gconstpointer data)
{
    ColoOutbufConfig cfg = {.first_epoch = 7};
    ColoOutbuf *ob = file_outbuf(f->file, &cfg);

    put(ob, "a");
    close_epoch(ob, 7);
    close_epoch(ob, 8); /* an empty epoch */
    put(ob, "b");
    close_epoch(ob, 9);
    put(ob, "c");
    release(ob, 9);
    ASSERT_FILE(f->file, "ab");
    colo_outbuf_free(ob);
}

static void test_epoch_errors(Fixture *f, gconstpointer data)
{
    ColoOutbuf *ob = file_outbuf(f->file, NULL);
    g_autoptr(GError) err = NULL;

    put(ob, "x");
    g_assert_false(colo_outbuf_close_epoch(ob, 2, NULL, &err));
    g_assert_nonnull(strstr(err->message, "open epoch is 1"));
    g_clear_error(&err);
    g_assert_false(colo_outbuf_release(ob, 1, &err));
    g_assert_nonnull(strstr(err->message, "not closed"));
    g_clear_error(&err);
    close_epoch(ob, 1);
    g_assert_false(colo_outbuf_close_epoch(ob, 1, NULL, &err));
    g_clear_error(&err);
    g_assert_false(colo_outbuf_release(ob, 2, &err));
    g_clear_error(&err);
    ASSERT_FILE(f->file, "");
    colo_outbuf_free(ob);
}

static void test_epoch_bytes(Fixture *f, gconstpointer data)
{
    ColoOutbuf *ob = file_outbuf(f->file, NULL);
    const uint8_t *p;
    size_t len = 99;
    uint64_t start = 99;

    put(ob, "hello ");
    close_epoch(ob, 1);
    put(ob, "world");
    g_assert_null(colo_outbuf_epoch_bytes(ob, 2, &len, &start)); /* open */
    close_epoch(ob, 2);
    close_epoch(ob, 3);
    p = colo_outbuf_epoch_bytes(ob, 2, &len, &start);
    g_assert_nonnull(p);
    g_assert_cmpmem(p, len, "world", 5);
    g_assert_cmpuint(start, ==, 6);
    p = colo_outbuf_epoch_bytes(ob, 3, &len, &start);
    g_assert_nonnull(p);
    g_assert_cmpuint(len, ==, 0);
    g_assert_cmpuint(start, ==, 11);
    release(ob, 1);
    g_assert_null(colo_outbuf_epoch_bytes(ob, 1, &len, &start));
    g_assert_nonnull(colo_outbuf_epoch_bytes(ob, 2, &len, &start));
    colo_outbuf_free(ob);
}

/* Epochs closed before any byte was appended: the outbuf's buffer was
   never allocated, yet each is an empty epoch (non-NULL, length 0), as
   the contract says, and no offset is applied to a NULL pointer (UBSan
   under make asan). */
static void test_epoch_bytes_none_appended(Fixture *f, gconstpointer data)
{
    ColoOutbuf *ob = file_outbuf(f->file, NULL);
    const uint8_t *p;
    size_t len = 99;
    uint64_t start = 99;

    close_epoch(ob, 1);
    close_epoch(ob, 2);
    p = colo_outbuf_epoch_bytes(ob, 1, &len, &start);
    g_assert_nonnull(p);
    g_assert_cmpuint(len, ==, 0);
    g_assert_cmpuint(start, ==, 0);
    release(ob, 1);
    p = colo_outbuf_epoch_bytes(ob, 2, &len, &start);
    g_assert_nonnull(p);
    g_assert_cmpuint(len, ==, 0);
    g_assert_cmpuint(start, ==, 0);
    colo_outbuf_free(ob);
}

static void test_discard_open(Fixture *f, gconstpointer data)
{
    ColoOutbuf *ob = file_outbuf(f->file, NULL);
    ColoOutbufStats st;

    put(ob, "kept ");
    close_epoch(ob, 1);
    put(ob, "dropped");
    g_assert_cmpuint(colo_outbuf_discard_open(ob), ==, 7);
    put(ob, "later");
    close_epoch(ob, 2);
    release(ob, 2);
    ASSERT_FILE(f->file, "kept later");
    colo_outbuf_get_stats(ob, &st);
    g_assert_cmpuint(st.discarded, ==, 7);
    g_assert_cmpuint(st.appended, ==, 10);
    colo_outbuf_free(ob);
}

typedef struct PressureLog {
    GString *events;
} PressureLog;

static void on_pressure(ColoOutbuf *ob, ColoOutbufPressure p, void *opaque)
{
    PressureLog *log = opaque;
    static const char *const names[] = {"high ", "full ", "room "};

    g_string_append(log->events, names[p]);
}

static void test_caps(Fixture *f, gconstpointer data)
{
    PressureLog log = {g_string_new(NULL)};
    ColoOutbufConfig cfg = {.max_held = 16,
                            .high_water = 12,
                            .pressure = on_pressure,
                            .opaque = &log};
    ColoOutbuf *ob = file_outbuf(f->file, &cfg);
    g_autoptr(GError) err = NULL;

    put(ob, "0123456789");
    g_assert_cmpuint(colo_outbuf_room(ob), ==, 6);
    g_assert_cmpstr(log.events->str, ==, "");
    g_assert_false(colo_outbuf_append(ob, "abcdefg", 7, &err));
    g_assert_nonnull(strstr(err->message, "full"));
    g_assert_cmpuint(colo_outbuf_room(ob), ==, 6); /* all or nothing */
    put(ob, "ab");
    g_assert_cmpstr(log.events->str, ==, "high ");
    put(ob, "cdef");
    g_assert_cmpstr(log.events->str, ==, "high full ");
    g_assert_cmpuint(colo_outbuf_room(ob), ==, 0);
    close_epoch(ob, 1);
    release(ob, 1);
    g_assert_cmpstr(log.events->str, ==, "high full room ");
    g_assert_cmpuint(colo_outbuf_room(ob), ==, 16);
    ASSERT_FILE(f->file, "0123456789abcdef");
    colo_outbuf_free(ob);
    g_string_free(log.events, TRUE);
}

static void set_nonblock(int fd)
{
    g_assert_cmpint(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), ==, 0);
}

static void test_drain(Fixture *f, gconstpointer data)
{
    ColoOutbufConfig cfg = {.max_held = 8};
    ColoOutbuf *ob = file_outbuf(f->file, &cfg);
    g_autoptr(GError) err = NULL;
    size_t n = 0;
    int p[2];

    g_assert_cmpint(pipe(p), ==, 0);
    set_nonblock(p[0]);
    g_assert_cmpint(colo_outbuf_drain_fd(ob, p[0], &n, NULL), ==,
                    COLO_DRAIN_AGAIN);
    g_assert_cmpuint(n, ==, 0);
    g_assert_cmpint(write(p[1], "abcde", 5), ==, 5);
    g_assert_cmpint(colo_outbuf_drain_fd(ob, p[0], &n, NULL), ==,
                    COLO_DRAIN_AGAIN);
    g_assert_cmpuint(n, ==, 5);
    g_assert_cmpint(write(p[1], "fghijk", 6), ==, 6);
    g_assert_cmpint(colo_outbuf_drain_fd(ob, p[0], &n, NULL), ==,
                    COLO_DRAIN_FULL);
    g_assert_cmpuint(n, ==, 3);
    close_epoch(ob, 1);
    release(ob, 1);
    close(p[1]);
    g_assert_cmpint(colo_outbuf_drain_fd(ob, p[0], &n, NULL), ==,
                    COLO_DRAIN_EOF);
    g_assert_cmpuint(n, ==, 3);
    colo_outbuf_release_all(ob);
    ASSERT_FILE(f->file, "abcdefghijk");
    close(p[0]);
    g_assert_cmpint(colo_outbuf_drain_fd(ob, p[0], &n, &err), ==,
                    COLO_DRAIN_ERROR);
    g_assert_nonnull(strstr(err->message, "Cannot read"));
    colo_outbuf_free(ob);
}

static void test_bad_specs(Fixture *f, gconstpointer data)
{
    static const char *const bad[] = {
        "",
        "file:",
        "tcp:nocolon",
        "tcp:127.0.0.1:",
        "unix:",
        "unix:/nonexistent-dir/x.sock",
        "tcp:[::1",
        "/nonexistent-dir/out.txt",
        "unix:/tmp/x,server=on",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        ColoSink *sink = colo_sink_open(bad[i], 0, &err);
        g_assert_null(sink);
        g_assert_nonnull(err);
    }
}

static void test_file_sink(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    ColoSink *sink;
    ColoSinkStats st;
    uint64_t pos = 0;
    g_autofree char *spec = g_strdup_printf("file:%s", f->file);

    g_assert_true(g_file_set_contents(f->file, "old\n", -1, NULL));
    sink = colo_sink_open(spec, 4, &err);
    g_assert_no_error(err);
    g_assert_cmpint(colo_sink_kind(sink), ==, COLO_SINK_FILE);
    colo_sink_set_fsync(sink, true);
    g_assert_true(colo_sink_position(sink, &pos, NULL));
    g_assert_cmpuint(pos, ==, 4);
    g_assert_true(colo_sink_write(sink, "new\n", 4, &err));
    g_assert_false(colo_sink_write(sink, "12345", 5, &err)); /* over cap */
    g_assert_nonnull(strstr(err->message, "full"));
    ASSERT_FILE(f->file, "old\nnew\n");
    colo_sink_get_stats(sink, &st);
    g_assert_cmpuint(st.written, ==, 4);
    g_assert_cmpuint(st.pending, ==, 0);
    g_assert_true(st.connected);
    colo_sink_free(sink);
}

/* A FILE that cannot be written keeps its bytes and does not spin. */
static void test_file_sink_error(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    ColoSink *sink = colo_sink_open("/dev/full", 0, &err);
    ColoSinkStats st;

    g_assert_no_error(err);
    colo_sink_attach(sink, NULL);
    g_assert_false(colo_sink_write(sink, "lost?", 5, &err));
    g_assert_nonnull(strstr(err->message, "Cannot write"));
    g_assert_nonnull(strstr(err->message, g_strerror(ENOSPC)));
    for (int i = 0; i < 20; i++) {
        g_main_context_iteration(NULL, FALSE);
    }
    colo_sink_get_stats(sink, &st);
    g_assert_cmpuint(st.pending, ==, 5);
    g_assert_cmpuint(st.written, ==, 0);
    /* Retried after 100, 200, 400 ms...: not once per loop iteration. */
    g_assert_cmpuint(st.write_errors, >=, 1);
    g_assert_cmpuint(st.write_errors, <=, 4);
    colo_sink_free(sink);
}

/* ------------------------------------------------------ socket sinks */

static int unix_listen(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    unlink(path);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(fd, 4), ==, 0);
    return fd;
}

static int tcp_listen(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(fd, 4), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Accepts while running the default main context; -1 after WAIT_US. */
static int accept_looping(int lfd)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_US;
    int fd = -1;

    set_nonblock(lfd);
    while (fd < 0 && g_get_monotonic_time() < deadline) {
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            g_assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
            g_main_context_iteration(NULL, FALSE);
            g_usleep(1000);
        }
    }
    return fd;
}

/* Reads exactly `len` bytes while running the default main context. */
static bool read_looping(int fd, void *buf, size_t len)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_US;
    size_t got = 0;

    set_nonblock(fd);
    while (got < len && g_get_monotonic_time() < deadline) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n > 0) {
            got += n;
        } else if (n == 0) {
            return false;
        } else {
            g_main_context_iteration(NULL, FALSE);
            g_usleep(200);
        }
    }
    if (got != len) {
        g_test_message("read %zu of %zu bytes", got, len);
    }
    return got == len;
}

static ColoSink *open_sink(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static ColoSink *open_sink(const char *fmt, ...)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *spec = NULL;
    va_list ap;
    ColoSink *sink;

    va_start(ap, fmt);
    spec = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    sink = colo_sink_open(spec, 0, &err);
    g_assert_no_error(err);
    colo_sink_attach(sink, NULL);
    return sink;
}

static void test_unix_sink(Fixture *f, gconstpointer data)
{
    int lfd = unix_listen(f->sock);
    ColoSink *sink = open_sink("unix:%s", f->sock);
    ColoOutbuf *ob = colo_outbuf_new(sink, NULL);
    int cfd = accept_looping(lfd);
    char buf[8] = "";
    ColoSinkStats st;

    g_assert_cmpint(cfd, >=, 0);
    g_assert_cmpint(colo_sink_kind(sink), ==, COLO_SINK_UNIX);
    put(ob, "held");
    close_epoch(ob, 1);
    put(ob, "open");
    release(ob, 1);
    g_assert_true(read_looping(cfd, buf, 4));
    g_assert_cmpmem(buf, 4, "held", 4);
    g_assert_cmpint(recv(cfd, buf, sizeof(buf), MSG_DONTWAIT), ==, -1);
    colo_sink_get_stats(sink, &st);
    g_assert_true(st.connected);
    g_assert_cmpuint(st.written, ==, 4);
    g_assert_false(colo_sink_position(sink, &st.written, NULL));
    colo_outbuf_free(ob);
    close(cfd);
    close(lfd);
}

static void test_tcp_sink(Fixture *f, gconstpointer data)
{
    int port;
    int lfd = tcp_listen(&port);
    ColoSink *sink = open_sink("tcp:127.0.0.1:%d", port);
    ColoOutbuf *ob = colo_outbuf_new(sink, NULL);
    int cfd = accept_looping(lfd);
    char buf[16] = "";

    g_assert_cmpint(cfd, >=, 0);
    g_assert_cmpint(colo_sink_kind(sink), ==, COLO_SINK_TCP);
    put(ob, "over tcp");
    close_epoch(ob, 1);
    release(ob, 1);
    g_assert_true(read_looping(cfd, buf, 8));
    g_assert_cmpmem(buf, 8, "over tcp", 8);
    colo_outbuf_free(ob);
    close(cfd);
    close(lfd);
}

/* Byte i of the test pattern. */
static uint8_t pattern(uint64_t i)
{
    return (uint8_t)(i * 7 + (i >> 8));
}

static void test_peer_stops_reading(Fixture *f, gconstpointer data)
{
    PressureLog log = {g_string_new(NULL)};
    ColoOutbufConfig cfg = {
        .max_held = 256 * 1024, .pressure = on_pressure, .opaque = &log};
    int lfd = unix_listen(f->sock);
    g_autoptr(GError) err = NULL;
    g_autofree char *spec = g_strdup_printf("unix:%s", f->sock);
    ColoSink *sink = colo_sink_open(spec, 64 * 1024, &err);
    ColoOutbuf *ob = colo_outbuf_new(sink, &cfg);
    int cfd = accept_looping(lfd);
    uint8_t chunk[4096];
    uint64_t total = 0, epoch = 1;
    gint64 t0 = g_get_monotonic_time();
    ColoSinkStats st;
    g_autofree uint8_t *got = NULL;

    g_assert_no_error(err);
    colo_sink_attach(sink, NULL);
    /* The peer reads nothing: append, close and release until full. */
    while (colo_outbuf_room(ob) > 0) {
        size_t n = MIN(sizeof(chunk), colo_outbuf_room(ob));
        for (size_t i = 0; i < n; i++) {
            chunk[i] = pattern(total + i);
        }
        g_assert_true(colo_outbuf_append(ob, chunk, n, NULL));
        total += n;
        close_epoch(ob, epoch);
        release(ob, epoch++);
        g_assert_cmpint(g_get_monotonic_time() - t0, <, WAIT_US);
    }
    colo_sink_get_stats(sink, &st);
    g_assert_cmpuint(st.pending, <=, 64 * 1024);
    g_assert_cmpuint(st.pending, >, 0);
    g_assert_nonnull(strstr(log.events->str, "full"));
    g_assert_false(colo_outbuf_append(ob, "x", 1, NULL));
    /* The peer reads again: everything arrives, in order, once. */
    got = g_malloc(total);
    g_assert_true(read_looping(cfd, got, total));
    for (uint64_t i = 0; i < total; i++) {
        g_assert_cmpuint(got[i], ==, pattern(i));
    }
    g_assert_nonnull(strstr(log.events->str, "full room"));
    g_assert_cmpuint(colo_outbuf_room(ob), ==, 256 * 1024);
    colo_outbuf_free(ob);
    close(cfd);
    close(lfd);
    g_string_free(log.events, TRUE);
}

static bool wait_connected(ColoSink *sink, bool want)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_US;
    ColoSinkStats st;

    do {
        colo_sink_get_stats(sink, &st);
        if (st.connected == want) {
            return true;
        }
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    } while (g_get_monotonic_time() < deadline);
    return false;
}

static void test_peer_goes_away(Fixture *f, gconstpointer data)
{
    int lfd = unix_listen(f->sock);
    ColoSink *sink = open_sink("unix:%s", f->sock);
    ColoOutbuf *ob = colo_outbuf_new(sink, NULL);
    int cfd = accept_looping(lfd);
    char buf[8] = "";
    ColoSinkStats st;

    put(ob, "1st");
    close_epoch(ob, 1);
    release(ob, 1);
    g_assert_true(read_looping(cfd, buf, 3));
    close(cfd);
    close(lfd);
    unlink(f->sock);
    g_assert_true(wait_connected(sink, false));
    put(ob, "2nd");
    close_epoch(ob, 2);
    release(ob, 2); /* waits in the sink's queue */
    colo_sink_get_stats(sink, &st);
    g_assert_cmpuint(st.pending, ==, 3);
    lfd = unix_listen(f->sock);
    cfd = accept_looping(lfd);
    g_assert_cmpint(cfd, >=, 0);
    g_assert_true(read_looping(cfd, buf, 3));
    g_assert_cmpmem(buf, 3, "2nd", 3);
    colo_sink_get_stats(sink, &st);
    g_assert_cmpuint(st.reconnects, ==, 1);
    g_assert_true(st.connected);
    colo_outbuf_free(ob);
    close(cfd);
    close(lfd);
}

/* A TCP peer that is not there yet: the refusal comes after the open,
   and the sink keeps trying until the peer listens. */
static void test_tcp_refused_then_up(Fixture *f, gconstpointer data)
{
    int port;
    int lfd = tcp_listen(&port);
    int one = 1;
    ColoSink *sink;
    ColoSinkStats st;
    char buf[8] = "";
    int cfd;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};

    close(lfd);
    sink = open_sink("tcp:127.0.0.1:%d", port);
    g_assert_true(colo_sink_write(sink, "queued", 6, NULL));
    g_assert_true(wait_connected(sink, false));
    colo_sink_get_stats(sink, &st);
    g_assert_cmpuint(st.pending, ==, 6);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    g_assert_cmpint(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(lfd, 4), ==, 0);
    cfd = accept_looping(lfd);
    g_assert_cmpint(cfd, >=, 0);
    g_assert_true(read_looping(cfd, buf, 6));
    g_assert_cmpmem(buf, 6, "queued", 6);
    g_assert_true(wait_connected(sink, true));
    colo_sink_free(sink);
    close(cfd);
    close(lfd);
}

/* ---------------------------------------------------------- takeover */

static const char *const epochs[] = {"line 1\n", "line 2\nline 3\n", "",
                                     "line 4\n"};

/* A primary produces the epochs; a secondary adopts each one. */
static void run_pair(ColoOutbuf *pri, ColoOutbuf *sec)
{
    for (size_t i = 0; i < G_N_ELEMENTS(epochs); i++) {
        const uint8_t *p;
        size_t len;
        uint64_t start;

        put(pri, epochs[i]);
        close_epoch(pri, i + 1);
        p = colo_outbuf_epoch_bytes(pri, i + 1, &len, &start);
        g_assert_nonnull(p);
        put(sec, "secondary's own output");
        g_assert_true(colo_outbuf_adopt_epoch(sec, i + 1, start, p, len, NULL));
        if (i + 1 < G_N_ELEMENTS(epochs)) {
            release(pri, i + 1); /* the last confirmation is lost */
        }
    }
}

static void test_takeover_file(Fixture *f, gconstpointer data)
{
    const char *all = "line 1\nline 2\nline 3\nline 4\n";

    /* The primary dies having written any prefix of the stream. */
    for (size_t cut = 0; cut <= strlen(all); cut++) {
        ColoOutbuf *pri, *sec = colo_outbuf_new(NULL, NULL);
        g_autoptr(GError) err = NULL;
        ColoOutbufStats st;

        unlink(f->file);
        pri = file_outbuf(f->file, NULL);
        run_pair(pri, sec);
        colo_outbuf_release_all(pri);
        colo_outbuf_free(pri);
        g_assert_cmpint(truncate(f->file, cut), ==, 0);
        put(sec, "diverged");
        g_assert_true(
            colo_outbuf_takeover(sec, colo_sink_open(f->file, 0, NULL), &err));
        g_assert_no_error(err);
        put(sec, "after\n");
        g_autofree char *want = g_strconcat(all, "after\n", NULL);
        ASSERT_FILE(f->file, want);
        colo_outbuf_get_stats(sec, &st);
        g_assert_true(st.passthrough);
        g_assert_cmpuint(st.open_epoch, ==, 5);
        g_assert_cmpuint(st.appended, ==, strlen(want));
        colo_outbuf_free(sec);
    }
}

static void test_takeover_gap(Fixture *f, gconstpointer data)
{
    ColoOutbufConfig cfg = {.max_tail = 10};
    ColoOutbuf *pri = file_outbuf(f->file, NULL);
    ColoOutbuf *sec = colo_outbuf_new(NULL, &cfg);
    g_autoptr(GError) err = NULL;
    ColoSink *sink;
    ColoOutbufStats st;

    run_pair(pri, sec);
    colo_outbuf_free(pri);
    colo_outbuf_get_stats(sec, &st);
    g_assert_cmpuint(st.tail_end, ==, 28);
    g_assert_cmpuint(st.tail_start, ==, 18);
    /* The sink lacks bytes the secondary no longer has. */
    g_assert_cmpint(truncate(f->file, 17), ==, 0);
    sink = colo_sink_open(f->file, 0, NULL);
    g_assert_false(colo_outbuf_takeover(sec, sink, &err));
    g_assert_nonnull(strstr(err->message, "[18, 28)"));
    g_clear_error(&err);
    /* The sink holds bytes beyond the last checkpoint. */
    g_assert_true(g_file_set_contents(f->file, "0123456789012345678901234567X",
                                      -1, NULL));
    g_assert_false(colo_outbuf_takeover(sec, sink, &err));
    g_clear_error(&err);
    colo_sink_free(sink);
    g_assert_cmpint(truncate(f->file, 18), ==, 0);
    sink = colo_sink_open(f->file, 0, NULL);
    g_assert_true(colo_outbuf_takeover(sec, sink, &err));
    ASSERT_FILE(f->file, "012345678901234567 3\nline 4\n");
    colo_outbuf_free(sec);
}

static void test_adopt_errors(Fixture *f, gconstpointer data)
{
    ColoOutbuf *sec = colo_outbuf_new(NULL, NULL);
    ColoOutbuf *pri = file_outbuf(f->file, NULL);
    g_autoptr(GError) err = NULL;

    g_assert_true(colo_outbuf_adopt_epoch(sec, 2, 100, "abc", 3, NULL));
    g_assert_false(colo_outbuf_adopt_epoch(sec, 2, 103, "d", 1, &err));
    g_assert_nonnull(strstr(err->message, "not above"));
    g_clear_error(&err);
    g_assert_false(colo_outbuf_adopt_epoch(sec, 3, 104, "d", 1, &err));
    g_assert_nonnull(strstr(err->message, "ends at 103"));
    g_clear_error(&err);
    g_assert_true(colo_outbuf_adopt_epoch(sec, 5, 103, "d", 1, NULL));
    put(pri, "x");
    close_epoch(pri, 1);
    g_assert_false(colo_outbuf_adopt_epoch(pri, 1, 0, "x", 1, &err));
    g_assert_nonnull(strstr(err->message, "of its own"));
    colo_outbuf_free(sec);
    colo_outbuf_free(pri);
}

static void test_takeover_socket(Fixture *f, gconstpointer data)
{
    ColoOutbuf *pri = file_outbuf(f->file, NULL);
    ColoOutbuf *sec = colo_outbuf_new(NULL, NULL);
    int lfd = unix_listen(f->sock);
    int cfd;
    char buf[16] = "";
    ColoOutbufStats st;

    run_pair(pri, sec);
    colo_outbuf_free(pri);
    g_assert_true(
        colo_outbuf_takeover(sec, open_sink("unix:%s", f->sock), NULL));
    cfd = accept_looping(lfd);
    put(sec, "after\n");
    g_assert_true(read_looping(cfd, buf, 6));
    g_assert_cmpmem(buf, 6, "after\n", 6);
    g_assert_cmpint(recv(cfd, buf, sizeof(buf), MSG_DONTWAIT), ==, -1);
    colo_outbuf_get_stats(sec, &st);
    g_assert_cmpuint(st.appended, ==, 28 + 6);
    colo_outbuf_free(sec);
    close(cfd);
    close(lfd);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn)                                                          \
    g_test_add("/colo/outbuf/" name, Fixture, NULL, fix_setup, fn, fix_teardown)
    ADD("epochs", test_epochs);
    ADD("release-skips-ahead", test_release_skips_ahead);
    ADD("epoch-errors", test_epoch_errors);
    ADD("epoch-bytes", test_epoch_bytes);
    ADD("epoch-bytes-none-appended", test_epoch_bytes_none_appended);
    ADD("discard-open", test_discard_open);
    ADD("caps", test_caps);
    ADD("drain", test_drain);
    ADD("bad-specs", test_bad_specs);
    ADD("file-sink", test_file_sink);
    ADD("file-sink-error", test_file_sink_error);
    ADD("unix-sink", test_unix_sink);
    ADD("tcp-sink", test_tcp_sink);
    ADD("tcp-refused-then-up", test_tcp_refused_then_up);
    ADD("peer-stops-reading", test_peer_stops_reading);
    ADD("peer-goes-away", test_peer_goes_away);
    ADD("takeover-file", test_takeover_file);
    ADD("takeover-gap", test_takeover_gap);
    ADD("adopt-errors", test_adopt_errors);
    ADD("takeover-socket", test_takeover_socket);
    return g_test_run();
}
