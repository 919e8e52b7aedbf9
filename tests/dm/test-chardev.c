/*
 * -serial backends end to end with a real UART: bad specs, file, unix
 * server (no client: dropped; client: both ways; flow control; a peer
 * that stops reading; reconnect), unix client, pty. Runs the default
 * main context by hand; no timing assertions.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dm/chardev.h"

#define COM1 0x3f8

typedef struct Uart {
    HwClock *clock;
    HwBus bus;
    HwIrq irq;
    VmsRegistry *reg;
    DmCharBackend *be;
    SerialDevice *d;
} Uart;

static Uart *uart_new(const char *spec)
{
    Uart *u = g_new0(Uart, 1);
    GError *err = NULL;

    u->clock = hw_clock_new(true);
    hw_clock_start(u->clock);
    hw_bus_init(&u->bus);
    hw_irq_init(&u->irq, NULL, NULL, 4);
    u->reg = vms_registry_new();
    u->be = dm_chardev_new(spec, "serial0", &err);
    g_assert_no_error(err);
    u->d = serial_new(u->clock, &u->irq, COM1, dm_chardev_ops(u->be), u->be);
    dm_chardev_connect_serial(u->be, u->d);
    g_assert_true(serial_realize(u->d, &u->bus, u->reg, NULL));
    return u;
}

static void uart_free(Uart *u)
{
    serial_free(u->d);
    dm_chardev_free(u->be);
    vms_registry_free(u->reg);
    hw_clock_free(u->clock);
    g_free(u);
}

static uint8_t in(Uart *u, unsigned r)
{
    return hw_bus_in(&u->bus, COM1 + r, 1);
}

static void out(Uart *u, unsigned r, uint8_t v)
{
    hw_bus_out(&u->bus, COM1 + r, v, 1);
}

static void puts_uart(Uart *u, const char *s)
{
    for (; *s; s++) {
        g_assert_true(in(u, 5) & UART_LSR_THRE);
        out(u, 0, *s);
    }
}

static void spin(void)
{
    while (g_main_context_iteration(NULL, FALSE)) {
    }
}

/* Runs the loop (blocking on it) until cond holds; the test harness's
   timeout catches a hang. */
#define RUN_UNTIL(cond)                                                        \
    do {                                                                       \
        while (!(cond)) {                                                      \
            g_main_context_iteration(NULL, TRUE);                              \
        }                                                                      \
    } while (0)

static char *tmp_path(const char *name)
{
    static char *dir;

    if (!dir) {
        dir = g_dir_make_tmp("lschr-XXXXXX", NULL);
    }
    return g_build_filename(dir, name, NULL);
}

static int unix_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

static void test_bad_specs(void)
{
    static const struct {
        const char *spec, *msg;
    } cases[] = {
        {"foo", "'foo' is not a valid char driver"},
        {"tcp:1", "'tcp:1' is not a valid char driver"},
        {"file:/nonexistent/dir/x", "Could not open '/nonexistent/dir/x': "
                                    "No such file or directory"},
        {"unix:/nonexistent/x", "Failed to connect to '/nonexistent/x': "
                                "No such file or directory"},
        {"unix:/tmp/x,bogus=on", "Invalid parameter 'bogus'"},
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        GError *err = NULL;

        g_assert_null(dm_chardev_new(cases[i].spec, "serial0", &err));
        g_assert_nonnull(err);
        g_assert_cmpstr(err->message, ==, cases[i].msg);
        g_clear_error(&err);
    }
}

static void test_file(void)
{
    g_autofree char *path = tmp_path("out.txt");
    g_autofree char *spec = g_strconcat("file:", path, NULL);
    g_autofree char *text = NULL;
    Uart *u = uart_new(spec);

    puts_uart(u, "hello\n");
    g_assert_cmphex(in(u, 5), ==, 0x60);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "hello\n");
    uart_free(u);
}

static void test_null(void)
{
    Uart *u = uart_new("null");

    puts_uart(u, "gone");
    g_assert_cmphex(in(u, 5), ==, 0x60);
    uart_free(u);
}

static ssize_t read_some(int fd, char *buf, size_t len)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    while (poll(&p, 1, 0) == 0) {
        g_main_context_iteration(NULL, FALSE);
    }
    return read(fd, buf, len);
}

static void test_unix_server(void)
{
    g_autofree char *path = tmp_path("srv.sock");
    g_autofree char *spec =
        g_strconcat("unix:", path, ",server=on,wait=off", NULL);
    Uart *u = uart_new(spec);
    char buf[64];
    int c;

    puts_uart(u, "dropped"); /* no client yet */
    g_assert_cmphex(in(u, 5), ==, 0x60);
    g_assert_false(dm_chardev_connected(u->be));
    c = unix_connect(path);
    RUN_UNTIL(dm_chardev_connected(u->be));
    puts_uart(u, "hi");
    g_assert_cmpint(read_some(c, buf, sizeof(buf)), ==, 2);
    g_assert_cmpmem(buf, 2, "hi", 2);
    /* Input, FIFO on, trigger 14: 20 bytes arrive as the guest reads. */
    out(u, 2, 0xc1);
    g_assert_cmpint(write(c, "abcdefghijklmnopqrst", 20), ==, 20);
    for (int i = 0; i < 20; i++) {
        RUN_UNTIL(in(u, 5) & UART_LSR_DR);
        g_assert_cmpint(serial_state(u->d)->recv_fifo.num, <=, 16);
        g_assert_cmphex(in(u, 0), ==, 'a' + i);
    }
    /* The client leaves; the server listens again. */
    close(c);
    RUN_UNTIL(!dm_chardev_connected(u->be));
    puts_uart(u, "x");
    c = unix_connect(path);
    RUN_UNTIL(dm_chardev_connected(u->be));
    puts_uart(u, "again");
    g_assert_cmpint(read_some(c, buf, sizeof(buf)), ==, 5);
    g_assert_cmpmem(buf, 5, "again", 5);
    close(c);
    uart_free(u);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

/* ",," in the spec is a comma in the path, as QemuOpts reads it (the
   path "a,,b" was cut at the first comma); a serial given as
   -chardev socket,path=... is escaped this way by options-sock.c. */
static void test_unix_comma_path(void)
{
    g_autofree char *path = tmp_path("a,b.sock");
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *spec =
        g_strconcat("unix:", dir, "/a,,b.sock,server=on,wait=off", NULL);
    Uart *u = uart_new(spec);
    int c;

    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
    c = unix_connect(path);
    RUN_UNTIL(dm_chardev_connected(u->be));
    close(c);
    uart_free(u);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

/* A peer that does not read: the UART stalls with TEMT clear (the guest
   sees it), the loop does not block, and once the peer reads, every byte
   the guest sent arrives, in order. */
static void test_unix_slow_peer(void)
{
    g_autofree char *path = tmp_path("slow.sock");
    g_autofree char *spec = g_strconcat("unix:", path, ",server,nowait", NULL);
    Uart *u = uart_new(spec);
    GByteArray *got = g_byte_array_new();
    unsigned sent = 0;
    char buf[4096];
    int c = unix_connect(path);

    RUN_UNTIL(dm_chardev_connected(u->be));
    while (in(u, 5) & UART_LSR_THRE) { /* a polling guest driver */
        out(u, 0, (uint8_t)(sent * 7));
        sent++;
        g_assert_cmpuint(sent, <, 64 * 1024 * 1024);
    }
    g_assert_cmphex(in(u, 5) & UART_LSR_TEMT, ==, 0);
    g_assert_cmpuint(serial_state(u->d)->tsr_retry, >, 0);
    while (got->len < sent) {
        ssize_t n = read_some(c, buf, sizeof(buf));

        g_assert_cmpint(n, >, 0);
        g_byte_array_append(got, (uint8_t *)buf, n);
    }
    RUN_UNTIL(in(u, 5) == 0x60);
    g_assert_cmpuint(got->len, ==, sent);
    for (unsigned i = 0; i < sent; i++) {
        g_assert_cmpuint(got->data[i], ==, (uint8_t)(i * 7));
    }
    close(c);
    g_byte_array_free(got, TRUE);
    uart_free(u);
}

static void test_unix_client(void)
{
    g_autofree char *path = tmp_path("cli.sock");
    g_autofree char *spec = g_strconcat("unix:", path, NULL);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int l = socket(AF_UNIX, SOCK_STREAM, 0), c;
    char buf[16];
    Uart *u;

    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(bind(l, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(l, 1), ==, 0);
    u = uart_new(spec);
    c = accept(l, NULL, NULL);
    puts_uart(u, "ok");
    g_assert_cmpint(read_some(c, buf, sizeof(buf)), ==, 2);
    g_assert_cmpint(write(c, "Z", 1), ==, 1);
    RUN_UNTIL(in(u, 5) & UART_LSR_DR);
    g_assert_cmphex(in(u, 0), ==, 'Z');
    close(c);
    RUN_UNTIL(!dm_chardev_connected(u->be));
    puts_uart(u, "dropped");
    g_assert_cmphex(in(u, 5), ==, 0x60);
    uart_free(u);
    close(l);
    unlink(path);
}

static void test_pty(void)
{
    Uart *u = uart_new("pty");
    const char *name = dm_chardev_pty_path(u->be);
    char buf[16];
    int s;

    g_assert_nonnull(name);
    g_assert_true(g_str_has_prefix(name, "/dev/pts/"));
    puts_uart(u, "nobody"); /* no reader: dropped */
    g_assert_cmphex(in(u, 5), ==, 0x60);
    s = open(name, O_RDWR | O_NOCTTY);
    g_assert_cmpint(s, >=, 0);
    spin();
    puts_uart(u, "tty");
    /* The UART sends a byte at a time: a read may see part of it. */
    for (size_t got = 0; got < 3;) {
        ssize_t n = read_some(s, buf + got, sizeof(buf) - got);
        g_assert_cmpint(n, >, 0);
        got += (size_t)n;
        g_assert_cmpuint(got, <=, 3);
    }
    g_assert_cmpmem(buf, 3, "tty", 3);
    close(s);
    uart_free(u);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/chardev/bad-specs", test_bad_specs);
    g_test_add_func("/chardev/null", test_null);
    g_test_add_func("/chardev/file", test_file);
    g_test_add_func("/chardev/unix-server", test_unix_server);
    g_test_add_func("/chardev/unix-slow-peer", test_unix_slow_peer);
    g_test_add_func("/chardev/unix-comma-path", test_unix_comma_path);
    g_test_add_func("/chardev/unix-client", test_unix_client);
    g_test_add_func("/chardev/pty", test_pty);
    return g_test_run();
}
