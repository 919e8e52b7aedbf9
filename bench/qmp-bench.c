/*
 * qmp-bench: the timing loops of bench/dm-bench.py, in C, so that the
 * figures measure the device model and not a python client. It speaks raw
 * QMP over a unix socket (no lockstep code), so it measures QEMU 7.2 and
 * lockstep-dm the same way.
 *
 *   qmp-bench start SOCK N -- ARGV...   N runs of exec -> QMP greeting
 *   qmp-bench ops SOCK FILE N_RTT N_SAVE N_CYCLE CAN_LOAD
 *
 * Each prints one JSON object of times in seconds on stdout. `ops`
 * expects a paused VM (-S) behind SOCK and leaves it running.
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef struct Conn {
    int fd;
    char buf[65536];
    size_t len;
} Conn;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int try_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads one CRLF-terminated message into `line` (NUL-terminated). */
static bool read_msg(Conn *c, char *line, size_t cap)
{
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n", 2);
        if (end) {
            size_t n = (size_t)(end - c->buf);
            if (n >= cap) {
                n = cap - 1;
            }
            memcpy(line, c->buf, n);
            line[n] = '\0';
            c->len -= (size_t)(end + 2 - c->buf);
            memmove(c->buf, end + 2, c->len);
            return true;
        }
        ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
        if (r <= 0) {
            return false;
        }
        c->len += (size_t)r;
    }
}

/* Sends a command and waits for its reply, skipping events. */
static void cmd(Conn *c, const char *json)
{
    char line[65536];
    size_t len = strlen(json);

    if (write(c->fd, json, len) != (ssize_t)len) {
        perror("qmp-bench: write");
        exit(2);
    }
    for (;;) {
        if (!read_msg(c, line, sizeof(line))) {
            fprintf(stderr, "qmp-bench: connection lost\n");
            exit(2);
        }
        if (strncmp(line, "{\"event\"", 8) == 0 ||
            strncmp(line, "{\"timestamp\"", 12) == 0) {
            continue;
        }
        if (strstr(line, "\"error\"")) {
            fprintf(stderr, "qmp-bench: %s -> %s\n", json, line);
            exit(2);
        }
        return;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double q)
{
    int i = (int)(q * n);

    qsort(v, n, sizeof(double), cmp_double);
    return v[i < n ? i : n - 1];
}

/* An array of n >= 1 samples, or exit 2 (pct reads v[n - 1]). */
static double *samples(const char *what, int n)
{
    double *v = n >= 1 ? calloc(n, sizeof(double)) : NULL;

    if (!v) {
        fprintf(stderr, "qmp-bench: %s: want 1 or more samples, got %d\n", what,
                n);
        exit(2);
    }
    return v;
}

static int bench_start(const char *sock, int n, char **argv)
{
    double *t = samples("N", n);

    for (int i = 0; i < n; i++) {
        Conn c = {0};
        char line[4096];
        pid_t pid;
        double t0;

        unlink(sock);
        t0 = now();
        if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0) {
            perror("qmp-bench: spawn");
            free(t);
            return 2;
        }
        while ((c.fd = try_connect(sock)) < 0) {
            if (waitpid(pid, NULL, WNOHANG) == pid) {
                fprintf(stderr, "qmp-bench: %s exited early\n", argv[0]);
                free(t);
                return 2;
            }
        }
        if (!read_msg(&c, line, sizeof(line))) {
            free(t);
            return 2;
        }
        t[i] = now() - t0;
        close(c.fd);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    printf("{\"greeting50\": %.9f, \"greeting99\": %.9f}\n", pct(t, n, 0.5),
           pct(t, n, 0.99));
    free(t);
    return 0;
}

static void loop(Conn *c, const char *const *cmds, int n, double *out)
{
    for (int i = 0; i < n; i++) {
        double t0 = now();
        for (int k = 0; cmds[k]; k++) {
            cmd(c, cmds[k]);
        }
        out[i] = now() - t0;
    }
}

static int bench_ops(char **a)
{
    Conn c = {0};
    char line[4096], save[4096], load[4096];
    int n_rtt = atoi(a[2]), n_save = atoi(a[3]), n_cyc = atoi(a[4]);
    bool can_load = atoi(a[5]) != 0;
    double *rtt = samples("N_RTT", n_rtt);
    double *sv = samples("N_SAVE", n_save);
    double *cy = samples("N_CYCLE", n_cyc);

    c.fd = try_connect(a[0]);
    if (c.fd < 0 || !read_msg(&c, line, sizeof(line))) {
        fprintf(stderr, "qmp-bench: cannot connect to %s\n", a[0]);
        free(rtt);
        free(sv);
        free(cy);
        return 2;
    }
    snprintf(save, sizeof(save),
             "{\"execute\": \"xen-save-devices-state\", "
             "\"arguments\": {\"filename\": \"%s\"}}\n",
             a[1]);
    snprintf(load, sizeof(load),
             "{\"execute\": \"xen-load-devices-state\", "
             "\"arguments\": {\"filename\": \"%s\"}}\n",
             a[1]);
    const char *qs[] = {"{\"execute\": \"query-status\"}\n", NULL};
    const char *sa[] = {save, NULL};
    const char *cyc[] = {"{\"execute\": \"stop\"}\n", save,
                         can_load ? load : NULL, "{\"execute\": \"cont\"}\n",
                         NULL};
    if (!can_load) {
        cyc[2] = cyc[3];
        cyc[3] = NULL;
    }
    cmd(&c, "{\"execute\": \"qmp_capabilities\"}\n");
    loop(&c, qs, n_rtt, rtt);
    loop(&c, sa, n_save, sv);
    cmd(&c, "{\"execute\": \"cont\"}\n");
    loop(&c, cyc, n_cyc, cy);
    printf("{\"rtt50\": %.9f, \"rtt99\": %.9f, \"save50\": %.9f, "
           "\"cycle50\": %.9f, \"cycle99\": %.9f}\n",
           pct(rtt, n_rtt, 0.5), pct(rtt, n_rtt, 0.99), pct(sv, n_save, 0.5),
           pct(cy, n_cyc, 0.5), pct(cy, n_cyc, 0.99));
    free(rtt);
    free(sv);
    free(cy);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && !strcmp(argv[1], "start") && !strcmp(argv[4], "--")) {
        return bench_start(argv[2], atoi(argv[3]), argv + 5);
    }
    if (argc == 8 && !strcmp(argv[1], "ops")) {
        return bench_ops(argv + 2);
    }
    fprintf(stderr, "usage: qmp-bench start SOCK N -- ARGV...\n"
                    "       qmp-bench ops SOCK FILE N_RTT N_SAVE N_CYCLE "
                    "CAN_LOAD\n");
    return 2;
}
