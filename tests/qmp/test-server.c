/*
 * Server and client in one process over a temporary unix socket: the
 * server runs its own GMainContext in a thread, the tests drive it with
 * the synchronous client (and raw sockets for misbehaving clients).
 * Covers the greeting, negotiation mode, events only after negotiation,
 * several sessions at once, a client that leaves mid-message, a client
 * that never reads while events pile up (dropped; others keep going), and
 * fd passing (getfd/closefd, add-fd/query-fdsets/remove-fd, /dev/fdset
 * open by access mode, QEMU's rule for closing fd set fds while a dup of
 * the set is in use).
 */
#include <dirent.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/error.h"
#include "lockstep-config.h"
#include "qmp/client.h"
#include "qmp/fds.h"
#include "qmp/qmp.h"

typedef struct Fx {
    GMainContext *ctx;
    GMainLoop *loop;
    QmpCommands *cmds;
    QmpServer *srv;
    GThread *thread;
    char *dir;
    char *path;
    char *addr;
} Fx;

typedef struct Flood {
    QmpServer *srv;
    int left;
    int size;
} Flood;

static json_t *cmd_emit(json_t *args, QmpSession *s, void *opaque,
                        GError **errp)
{
    qmp_server_emit(qmp_session_server(s),
                    json_string_value(json_object_get(args, "event")), NULL);
    return json_object();
}

/* A few events per main loop iteration, then DONE. */
static gboolean flood_step(gpointer opaque)
{
    Flood *f = opaque;

    for (int i = 0; i < 16 && f->left > 0; i++, f->left--) {
        g_autofree char *pad = g_strnfill(f->size, 'x');
        qmp_server_emit(f->srv, "FLOOD", json_pack("{ss}", "pad", pad));
    }
    if (f->left > 0) {
        return G_SOURCE_CONTINUE;
    }
    qmp_server_emit(f->srv, "DONE", NULL);
    g_free(f);
    return G_SOURCE_REMOVE;
}

static json_t *cmd_flood(json_t *args, QmpSession *s, void *opaque,
                         GError **errp)
{
    Flood *f = g_new0(Flood, 1);
    GSource *src = g_idle_source_new();

    f->srv = qmp_session_server(s);
    f->left = (int)json_integer_value(json_object_get(args, "n"));
    f->size = (int)json_integer_value(json_object_get(args, "size"));
    g_source_set_callback(src, flood_step, f, NULL);
    g_source_attach(src, g_main_context_get_thread_default());
    g_source_unref(src);
    return json_object();
}

static json_t *cmd_count(json_t *args, QmpSession *s, void *opaque,
                         GError **errp)
{
    return json_pack("{si}", "sessions",
                     qmp_server_session_count(qmp_session_server(s)));
}

static json_t *cmd_fdset_check(json_t *args, QmpSession *s, void *opaque,
                               GError **errp)
{
    const char *path = json_string_value(json_object_get(args, "path"));
    int mode = (int)json_integer_value(json_object_get(args, "mode"));
    int fd = qmp_fdset_open(qmp_session_server(s), path, mode, errp);
    int fl;

    if (fd < 0) {
        return NULL;
    }
    fl = fcntl(fd, F_GETFL);
    qmp_fdset_close(qmp_session_server(s), fd);
    return json_pack("{si}", "accmode", fl & O_ACCMODE);
}

/* A dup of an fd set held across commands (fdset-hold / fdset-release),
   as a device model holds one while it uses the file. */
static int held_dup = -1;

static json_t *cmd_fdset_hold(json_t *args, QmpSession *s, void *opaque,
                              GError **errp)
{
    const char *path = json_string_value(json_object_get(args, "path"));
    struct stat st;

    held_dup = qmp_fdset_open(qmp_session_server(s), path, O_RDONLY, errp);
    if (held_dup < 0 || fstat(held_dup, &st) < 0) {
        return NULL;
    }
    return json_pack("{sI}", "ino", (json_int_t)st.st_ino);
}

static json_t *cmd_fdset_release(json_t *args, QmpSession *s, void *opaque,
                                 GError **errp)
{
    qmp_fdset_close(qmp_session_server(s), held_dup);
    held_dup = -1;
    return json_object();
}

static json_t *cmd_named_fd(json_t *args, QmpSession *s, void *opaque,
                            GError **errp)
{
    const char *name = json_string_value(json_object_get(args, "name"));

    return json_boolean(qmp_session_get_named_fd(s, name) >= 0);
}

static json_t *cmd_bye(json_t *args, QmpSession *s, void *opaque, GError **errp)
{
    qmp_session_close_later(s);
    return json_object();
}

static const QmpArg emit_args[] = {{"event", QMP_ARG_STR, false}, {NULL}};
static const QmpArg flood_args[] = {
    {"n", QMP_ARG_INT, false}, {"size", QMP_ARG_INT, false}, {NULL}};
static const QmpArg check_args[] = {
    {"path", QMP_ARG_STR, false}, {"mode", QMP_ARG_INT, false}, {NULL}};
static const QmpArg name_args[] = {{"name", QMP_ARG_STR, false}, {NULL}};
static const QmpArg path_args[] = {{"path", QMP_ARG_STR, false}, {NULL}};

static gpointer server_thread(gpointer opaque)
{
    Fx *fx = opaque;

    g_main_context_push_thread_default(fx->ctx);
    g_main_loop_run(fx->loop);
    g_main_context_pop_thread_default(fx->ctx);
    return NULL;
}

static void fx_setup(Fx *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *spec = NULL;

    fx->dir = g_dir_make_tmp("qmp-test-XXXXXX", &err);
    g_assert_no_error(err);
    fx->path = g_build_filename(fx->dir, "qmp.sock", NULL);
    fx->addr = g_strdup_printf("unix:%s", fx->path);
    spec = g_strdup_printf("unix:%s,server=on,wait=off", fx->path);
    fx->ctx = g_main_context_new();
    fx->loop = g_main_loop_new(fx->ctx, FALSE);
    fx->cmds = qmp_commands_new();
    qmp_fds_register(fx->cmds);
    qmp_commands_add(fx->cmds, "emit", cmd_emit, emit_args, 0, NULL);
    qmp_commands_add(fx->cmds, "flood", cmd_flood, flood_args, 0, NULL);
    qmp_commands_add(fx->cmds, "count", cmd_count, NULL, 0, NULL);
    qmp_commands_add(fx->cmds, "bye", cmd_bye, NULL, 0, NULL);
    qmp_commands_add(fx->cmds, "fdset-check", cmd_fdset_check, check_args, 0,
                     NULL);
    qmp_commands_add(fx->cmds, "named-fd", cmd_named_fd, name_args, 0, NULL);
    qmp_commands_add(fx->cmds, "fdset-hold", cmd_fdset_hold, path_args, 0,
                     NULL);
    qmp_commands_add(fx->cmds, "fdset-release", cmd_fdset_release, NULL, 0,
                     NULL);
    fx->srv = qmp_server_new(fx->cmds, fx->ctx, NULL);
    g_assert_true(qmp_server_add(fx->srv, spec, &err));
    g_assert_no_error(err);
    fx->thread = g_thread_new("qmp-server", server_thread, fx);
}

static void fx_teardown(Fx *fx, gconstpointer data)
{
    g_main_loop_quit(fx->loop);
    g_main_context_wakeup(fx->ctx);
    g_thread_join(fx->thread);
    qmp_server_free(fx->srv);
    qmp_commands_free(fx->cmds);
    g_main_loop_unref(fx->loop);
    g_main_context_unref(fx->ctx);
    g_assert_false(g_file_test(fx->path, G_FILE_TEST_EXISTS));
    g_rmdir(fx->dir);
    g_free(fx->dir);
    g_free(fx->path);
    g_free(fx->addr);
}

static QmpClient *connect_ok(Fx *fx, unsigned flags)
{
    g_autoptr(GError) err = NULL;
    QmpClient *c = qmp_client_connect(fx->addr, flags, 10000, &err);

    g_assert_no_error(err);
    g_assert_nonnull(c);
    return c;
}

/* Runs cmd, expecting success; returns the text of the return value. */
static char *exec_ok(QmpClient *c, const char *cmd, json_t *args, int fd)
{
    g_autoptr(GError) err = NULL;
    json_t *ret = qmp_client_execute(c, cmd, args, fd, &err);
    char *text;

    g_assert_no_error(err);
    text = qmp_json_dumps(ret);
    json_decref(ret);
    return text;
}

static void exec_err(QmpClient *c, const char *cmd, json_t *args, int code,
                     const char *desc)
{
    g_autoptr(GError) err = NULL;
    json_t *ret = qmp_client_execute(c, cmd, args, -1, &err);

    g_assert_null(ret);
    g_assert_error(err, LS_ERROR, code);
    g_assert_cmpstr(err->message, ==, desc);
}

/* Waits (bounded by attempts, not time) for the server's session count. */
static void wait_sessions(QmpClient *c, int want)
{
    for (int i = 0; i < 500; i++) {
        g_autofree char *r = exec_ok(c, "count", NULL, -1);
        g_autofree char *w = g_strdup_printf("{\"sessions\": %d}", want);
        if (!strcmp(r, w)) {
            return;
        }
        g_usleep(10000);
    }
    g_assert_not_reached();
}

static void test_negotiation(Fx *fx, gconstpointer data)
{
    QmpClient *c = connect_ok(fx, QMP_CLIENT_NO_NEGOTIATE);
    g_autofree char *greet = qmp_json_dumps(qmp_client_greeting(c));
    g_autofree char *r = NULL;

    g_assert_cmpstr(
        greet, ==,
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, "
        "\"minor\": 2, \"major\": 7}, \"package\": \"lockstep " LOCKSTEP_VERSION
        "\"}, \"capabilities\": []}}");
    exec_err(c, "count", NULL, LS_ERROR_COMMAND_NOT_FOUND,
             "Expecting capabilities negotiation with 'qmp_capabilities'");
    exec_err(c, "no-such", NULL, LS_ERROR_COMMAND_NOT_FOUND,
             "Expecting capabilities negotiation with 'qmp_capabilities'");
    exec_err(c, "qmp_capabilities", json_pack("{s[s]}", "enable", "oob"),
             LS_ERROR_GENERIC, "Capability oob not available");
    r = exec_ok(c, "qmp_capabilities", NULL, -1);
    g_assert_cmpstr(r, ==, "{}");
    exec_err(c, "qmp_capabilities", NULL, LS_ERROR_COMMAND_NOT_FOUND,
             "Capabilities negotiation is already complete, command "
             "ignored");
    g_free(r);
    r = exec_ok(c, "count", NULL, -1);
    g_assert_cmpstr(r, ==, "{\"sessions\": 1}");
    qmp_client_free(c);
}

static void test_events_after_negotiation(Fx *fx, gconstpointer data)
{
    QmpClient *a = connect_ok(fx, QMP_CLIENT_NO_NEGOTIATE);
    QmpClient *b = connect_ok(fx, 0);
    g_autoptr(GError) err = NULL;
    const char caps[] = "{\"execute\": \"qmp_capabilities\"}\r\n";
    json_t *ev;
    json_t *rsp;
    g_autofree char *text = NULL;

    g_free(exec_ok(b, "emit", json_pack("{ss}", "event", "FIRST"), -1));
    ev = qmp_client_next_event(b, 10000, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(json_string_value(json_object_get(ev, "event")), ==,
                    "FIRST");
    json_decref(ev);
    /* a was in negotiation mode: the next thing it reads is its reply. */
    g_assert_true(qmp_client_send_raw(a, caps, strlen(caps), &err));
    rsp = qmp_client_recv_reply(a, &err);
    g_assert_no_error(err);
    text = qmp_json_dumps(rsp);
    g_assert_cmpstr(text, ==, "{\"return\": {}}");
    json_decref(rsp);
    ev = qmp_client_next_event(a, 0, &err);
    g_assert_no_error(err);
    g_assert_null(ev);
    g_free(exec_ok(b, "emit", json_pack("{ss}", "event", "SECOND"), -1));
    ev = qmp_client_next_event(a, 10000, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(json_string_value(json_object_get(ev, "event")), ==,
                    "SECOND");
    json_decref(ev);
    qmp_client_free(a);
    qmp_client_free(b);
}

static int raw_connect(Fx *fx)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    g_strlcpy(sa.sun_path, fx->path, sizeof(sa.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

static void test_two_sessions_and_half_message(Fx *fx, gconstpointer data)
{
    QmpClient *a = connect_ok(fx, 0);
    QmpClient *b = connect_ok(fx, 0);
    const char half[] = "{\"execute\": \"qmp_capabilities\"}{\"execute\": \"co";
    int raw = raw_connect(fx);

    wait_sessions(a, 3);
    g_assert_cmpint(write(raw, half, strlen(half)), ==, (ssize_t)strlen(half));
    close(raw);
    for (int i = 0; i < 5; i++) {
        g_autofree char *ra = exec_ok(a, "count", NULL, -1);
        g_autofree char *rb = exec_ok(b, "query-commands", NULL, -1);
        g_assert_true(g_str_has_prefix(ra, "{\"sessions\": "));
        g_assert_true(
            g_str_has_prefix(rb, "[{\"name\": \"qmp_capabilities\"}"));
    }
    wait_sessions(a, 2);
    qmp_client_free(b);
    wait_sessions(a, 1);
    qmp_client_free(a);
}

static void test_slow_reader_dropped(Fx *fx, gconstpointer data)
{
    QmpClient *slow = connect_ok(fx, 0);
    QmpClient *b = connect_ok(fx, 0);
    QmpClient *c;
    g_autoptr(GError) err = NULL;
    int events = 0;
    json_t *ev;
    int n = (2 * QMP_MAX_OUTPUT) / 8192;

    /* slow never reads; b keeps reading everything. */
    g_free(exec_ok(b, "flood", json_pack("{sisi}", "n", n, "size", 8192), -1));
    while ((ev = qmp_client_next_event(b, 30000, &err))) {
        bool done =
            !strcmp(json_string_value(json_object_get(ev, "event")), "DONE");
        json_decref(ev);
        if (done) {
            break;
        }
        events++;
    }
    g_assert_no_error(err);
    g_assert_cmpint(events, ==, n);
    wait_sessions(b, 1);
    c = connect_ok(fx, 0);
    wait_sessions(c, 2);
    qmp_client_free(c);
    qmp_client_free(b);
    qmp_client_free(slow);
}

/* close_later: the reply still goes out, then the server hangs up, and
   input sent meanwhile is not run. */
static void test_close_later(Fx *fx, gconstpointer data)
{
    QmpClient *c = connect_ok(fx, 0);
    QmpClient *other = connect_ok(fx, 0);
    g_autoptr(GError) err = NULL;
    const char two[] = "{\"execute\": \"bye\", \"id\": 1}"
                       "{\"execute\": \"emit\", \"arguments\": "
                       "{\"event\": \"NOPE\"}, \"id\": 2}";
    json_t *rsp;
    g_autofree char *text = NULL;

    g_assert_true(qmp_client_send_raw(c, two, strlen(two), &err));
    rsp = qmp_client_recv_reply(c, &err);
    g_assert_no_error(err);
    text = qmp_json_dumps(rsp);
    g_assert_cmpstr(text, ==, "{\"return\": {}, \"id\": 1}");
    json_decref(rsp);
    rsp = qmp_client_recv_reply(c, &err);
    g_assert_null(rsp);
    g_assert_error(err, LS_ERROR, LS_ERROR_GENERIC);
    g_assert_cmpstr(err->message, ==,
                    "QMP client: connection closed by server");
    g_assert_null(qmp_client_next_event(other, 0, NULL));
    wait_sessions(other, 1);
    qmp_client_free(other);
    qmp_client_free(c);
}

static int open_tmp(Fx *fx, int flags)
{
    g_autofree char *p = g_build_filename(fx->dir, "f", NULL);
    int fd = open(p, flags | O_CREAT, 0600);

    g_assert_cmpint(fd, >=, 0);
    unlink(p);
    return fd;
}

static void test_getfd_closefd(Fx *fx, gconstpointer data)
{
    QmpClient *c = connect_ok(fx, 0);
    int fd = open_tmp(fx, O_RDWR);
    g_autofree char *r = NULL;

    exec_err(c, "getfd", json_pack("{ss}", "fdname", "fd0"), LS_ERROR_GENERIC,
             "No file descriptor supplied via SCM_RIGHTS");
    g_free(exec_ok(c, "getfd", json_pack("{ss}", "fdname", "fd0"), fd));
    r = exec_ok(c, "named-fd", json_pack("{ss}", "name", "fd0"), -1);
    g_assert_cmpstr(r, ==, "true");
    g_free(exec_ok(c, "closefd", json_pack("{ss}", "fdname", "fd0"), -1));
    g_free(r);
    r = exec_ok(c, "named-fd", json_pack("{ss}", "name", "fd0"), -1);
    g_assert_cmpstr(r, ==, "false");
    exec_err(c, "closefd", json_pack("{ss}", "fdname", "fd0"), LS_ERROR_GENERIC,
             "File descriptor named 'fd0' not found");
    {
        g_autoptr(GError) err = NULL;
        json_t *ret = qmp_client_execute(
            c, "getfd", json_pack("{ss}", "fdname", "1x"), fd, &err);
        g_assert_null(ret);
        g_assert_cmpstr(err->message, ==,
                        "Parameter 'fdname' expects a name not starting "
                        "with a digit");
    }
    close(fd);
    qmp_client_free(c);
}

static int fd_of(const char *ret_text)
{
    json_t *v = json_loads(ret_text, 0, NULL);
    int fd = (int)json_integer_value(json_object_get(v, "fd"));

    json_decref(v);
    return fd;
}

static void test_fdsets(Fx *fx, gconstpointer data)
{
    QmpClient *c = connect_ok(fx, 0);
    int wfd = open_tmp(fx, O_WRONLY);
    int rfd = open_tmp(fx, O_RDONLY);
    g_autofree char *r1 = exec_ok(c, "add-fd", NULL, wfd);
    g_autofree char *r2 = exec_ok(
        c, "add-fd", json_pack("{siss}", "fdset-id", 0, "opaque", "ro"), rfd);
    g_autofree char *q = exec_ok(c, "query-fdsets", NULL, -1);
    g_autofree char *want = g_strdup_printf(
        "[{\"fds\": [{\"fd\": %d}, {\"fd\": %d, \"opaque\": \"ro\"}], "
        "\"fdset-id\": 0}]",
        fd_of(r1), fd_of(r2));
    g_autofree char *m = NULL;

    g_assert_true(g_str_has_suffix(r1, ", \"fdset-id\": 0}"));
    g_assert_cmpstr(q, ==, want);
    m = exec_ok(c, "fdset-check",
                json_pack("{sssi}", "path", "/dev/fdset/0", "mode", O_RDONLY),
                -1);
    g_assert_cmpstr(m, ==, "{\"accmode\": 0}");
    g_free(m);
    m = exec_ok(c, "fdset-check",
                json_pack("{sssi}", "path", "/dev/fdset/0", "mode", O_WRONLY),
                -1);
    g_assert_cmpstr(m, ==, "{\"accmode\": 1}");
    exec_err(c, "fdset-check",
             json_pack("{sssi}", "path", "/dev/fdset/0", "mode", O_RDWR),
             LS_ERROR_GENERIC,
             "Could not open '/dev/fdset/0': Permission denied");
    exec_err(c, "fdset-check",
             json_pack("{sssi}", "path", "/dev/fdset/9", "mode", O_RDONLY),
             LS_ERROR_GENERIC,
             "Could not open '/dev/fdset/9': No such file or directory");
    exec_err(c, "add-fd", json_pack("{si}", "fdset-id", -1), LS_ERROR_GENERIC,
             "No file descriptor supplied via SCM_RIGHTS");
    exec_err(c, "remove-fd", json_pack("{sisi}", "fdset-id", 0, "fd", 999),
             LS_ERROR_GENERIC,
             "File descriptor named 'fdset-id:0, fd:999' not found");
    g_free(exec_ok(c, "remove-fd",
                   json_pack("{sisi}", "fdset-id", 0, "fd", fd_of(r1)), -1));
    g_free(q);
    q = exec_ok(c, "query-fdsets", NULL, -1);
    g_free(want);
    want = g_strdup_printf("[{\"fds\": [{\"fd\": %d, \"opaque\": \"ro\"}], "
                           "\"fdset-id\": 0}]",
                           fd_of(r2));
    g_assert_cmpstr(q, ==, want);
    g_free(exec_ok(c, "remove-fd", json_pack("{si}", "fdset-id", 0), -1));
    g_free(q);
    q = exec_ok(c, "query-fdsets", NULL, -1);
    g_assert_cmpstr(q, ==, "[]");
    exec_err(c, "remove-fd", json_pack("{si}", "fdset-id", 0), LS_ERROR_GENERIC,
             "File descriptor named 'fdset-id:0' not found");
    close(wfd);
    close(rfd);
    qmp_client_free(c);
}

static void send_with_fds(int sock, const char *text, const int *fds, int n)
{
    char ctl[CMSG_SPACE(sizeof(int) * 4)] = {0};
    struct iovec iov = {(void *)text, strlen(text)};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    struct cmsghdr *c;

    g_assert_cmpint(n, <=, 4);
    msg.msg_control = ctl;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
    c = CMSG_FIRSTHDR(&msg);
    g_assert_nonnull(c);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    g_assert_cmpint(sendmsg(sock, &msg, 0), ==, (ssize_t)strlen(text));
}

/* True once every writer of the pipe is gone (read sees EOF). */
static bool pipe_at_eof(int rfd)
{
    char b;

    for (int i = 0; i < 500; i++) {
        ssize_t n = read(rfd, &b, 1);
        if (n == 0) {
            return true;
        }
        g_usleep(10000);
    }
    return false;
}

/* Fds received with a message and never taken are closed with their
   session, all of them, even when one of them is fd 0 (the close loop
   stopped at the first 0 and leaked the rest). */
static void test_queued_fds_closed(Fx *fx, gconstpointer data)
{
    QmpClient *c = connect_ok(fx, 0);
    int rfd[3], wfd[3];
    int raw = raw_connect(fx);
    char buf[4096];
    int saved0 = dup(0);

    for (int i = 0; i < 3; i++) {
        int p[2];
        g_assert_cmpint(pipe2(p, O_NONBLOCK | O_CLOEXEC), ==, 0);
        rfd[i] = p[0];
        wfd[i] = p[1];
    }
    g_assert_cmpint(recv(raw, buf, sizeof(buf), 0), >, 0); /* greeting */
    close(0); /* the server, in this process, receives the first fd as 0 */
    send_with_fds(raw, "{\"execute\": \"qmp_capabilities\"}\n", wfd, 3);
    g_assert_cmpint(recv(raw, buf, sizeof(buf), 0), >, 0);
    g_assert_cmpint(fcntl(0, F_GETFD), >=, 0); /* fd 0 is a queued fd */
    for (int i = 0; i < 3; i++) {
        close(wfd[i]);
    }
    close(raw);
    wait_sessions(c, 1);
    for (int i = 0; i < 3; i++) {
        g_assert_true(pipe_at_eof(rfd[i]));
        close(rfd[i]);
    }
    g_assert_cmpint(dup2(saved0, 0), ==, 0);
    close(saved0);
    qmp_client_free(c);
}

static int open_fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    g_assert_nonnull(d);
    while (readdir(d)) {
        n++;
    }
    closedir(d);
    return n;
}

/* Closes `c` and waits (bounded by attempts) until the server has closed
   its side too: the session's cleanup has run by then. */
static void close_and_sync(QmpClient *c)
{
    int n = open_fd_count();

    qmp_client_free(c);
    for (int i = 0; i < 500 && open_fd_count() > n - 2; i++) {
        g_usleep(10000);
    }
    g_assert_cmpint(open_fd_count(), <=, n - 2);
}

/*
 * No vm-running callback: the VM counts as running. A set whose dup is in
 * use keeps its fds when the last session closes; once the dup comes back
 * they stay while a session is connected, and go with the last one. The
 * dup is of the newest fd of the right mode (QEMU's list order).
 */
static void test_fdset_in_use(Fx *fx, gconstpointer data)
{
    QmpClient *c = connect_ok(fx, 0);
    int older = open_tmp(fx, O_RDONLY);
    int newer = open_tmp(fx, O_RDONLY);
    json_t *set0 = json_pack("{si}", "fdset-id", 0);
    g_autofree char *r1 = exec_ok(c, "add-fd", json_incref(set0), older);
    g_autofree char *r2 = exec_ok(c, "add-fd", set0, newer);
    g_autofree char *want = g_strdup_printf(
        "[{\"fds\": [{\"fd\": %d}, {\"fd\": %d}], \"fdset-id\": 0}]", fd_of(r1),
        fd_of(r2));
    g_autofree char *ino = NULL;
    g_autofree char *q = NULL;
    json_t *held;
    struct stat st;

    g_assert_cmpint(fstat(newer, &st), ==, 0);
    close(older);
    close(newer);
    ino =
        exec_ok(c, "fdset-hold", json_pack("{ss}", "path", "/dev/fdset/0"), -1);
    held = json_loads(ino, 0, NULL);
    g_assert_cmpint(json_integer_value(json_object_get(held, "ino")), ==,
                    st.st_ino);
    json_decref(held);
    close_and_sync(c);
    c = connect_ok(fx, 0);
    q = exec_ok(c, "query-fdsets", NULL, -1);
    g_assert_cmpstr(q, ==, want);
    g_free(exec_ok(c, "fdset-release", NULL, -1));
    g_free(q);
    q = exec_ok(c, "query-fdsets", NULL, -1);
    g_assert_cmpstr(q, ==, want);
    close_and_sync(c);
    c = connect_ok(fx, 0);
    g_free(q);
    q = exec_ok(c, "query-fdsets", NULL, -1);
    g_assert_cmpstr(q, ==, "[]");
    qmp_client_free(c);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn)                                                          \
    g_test_add("/qmp/server/" name, Fx, NULL, fx_setup, fn, fx_teardown)
    ADD("negotiation", test_negotiation);
    ADD("events-after-negotiation", test_events_after_negotiation);
    ADD("two-sessions-half-message", test_two_sessions_and_half_message);
    ADD("slow-reader-dropped", test_slow_reader_dropped);
    ADD("close-later", test_close_later);
    ADD("getfd-closefd", test_getfd_closefd);
    ADD("fdsets", test_fdsets);
    ADD("queued-fds-closed", test_queued_fds_closed);
    ADD("fdset-in-use", test_fdset_in_use);
#undef ADD
    return g_test_run();
}
