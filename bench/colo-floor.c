/*
 * colo-floor: the floor of a COLO checkpoint, for bench/colo-bench.py.
 *
 * The same work as one checkpoint of `lockstep colo`, with nothing else:
 * stop both dms (requests sent together), save the primary's device state
 * into a memfd passed with add-fd (/dev/fdset/N), send the bytes through a
 * loopback TCP connection (both ends in this process), write them into
 * the secondary's memfd and load them, cont both. No coordinator process,
 * no framing or CRC, no acknowledgement, no output commit, no event loop:
 * raw QMP over unix sockets, no lockstep code.
 *
 *   colo-floor PRIMARY_SOCK SECONDARY_SOCK N INTERVAL_US
 *
 * Runs N cycles, one every INTERVAL_US (absolute schedule; a late cycle
 * starts at once), and prints one JSON line per cycle in the shape of the
 * coordinator's --stats lines (docs/colo-metrics.md). Each phase ends
 * where the coordinator's does: stop at the primary's stop reply (the
 * secondary's stop runs meanwhile; its reply is read within transfer),
 * save at the bytes read back from the memfd, transfer at the bytes
 * received plus the secondary's stop reply, load at its load reply,
 * resume and the pause at the primary's cont reply (the secondary's cont
 * is sent first; its reply is read after the timing). Exit status 2 with
 * a message on any error.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FLOOR_MAX_LINE   (64 * 1024)        /* one QMP message */
#define FLOOR_MAX_STATE  (64 * 1024 * 1024) /* COLO_PROTO_MAX_DATA */
#define FLOOR_MAX_CYCLES 1000000

typedef struct FloorDm {
    const char *name;
    int fd;
    int memfd, wr_fd, rd_fd;
    char save_req[160], load_req[160]; /* on /dev/fdset/N */
    char buf[FLOOR_MAX_LINE];
    size_t len;
} FloorDm;

enum { F_STOP, F_SAVE, F_TRANSFER, F_LOAD, F_RESUME, F_NPHASES };

static void floor_die(const char *what, const char *detail)
{
    fprintf(stderr, "colo-floor: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    exit(2);
}

static int64_t floor_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Sends `json`, with `fd` as SCM_RIGHTS when fd >= 0. */
static void floor_send(FloorDm *dm, const char *json, int fd)
{
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {.iov_base = (void *)json, .iov_len = strlen(json)};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

    if (fd >= 0) {
        memset(&ctl, 0, sizeof(ctl));
        msg.msg_control = ctl.b;
        msg.msg_controllen = sizeof(ctl.b);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    if (sendmsg(dm->fd, &msg, MSG_NOSIGNAL) != (ssize_t)iov.iov_len) {
        floor_die(dm->name, "cannot send a QMP command");
    }
}

/* One CRLF-terminated message into `line` (cap FLOOR_MAX_LINE). */
static void floor_read_msg(FloorDm *dm, char *line)
{
    for (;;) {
        char *end = memmem(dm->buf, dm->len, "\r\n", 2);
        if (end) {
            size_t n = (size_t)(end - dm->buf);
            memcpy(line, dm->buf, n);
            line[n] = '\0';
            dm->len -= n + 2;
            memmove(dm->buf, end + 2, dm->len);
            return;
        }
        if (dm->len == sizeof(dm->buf)) {
            floor_die(dm->name, "QMP message over FLOOR_MAX_LINE");
        }
        ssize_t r = read(dm->fd, dm->buf + dm->len, sizeof(dm->buf) - dm->len);
        if (r <= 0 && !(r < 0 && errno == EINTR)) {
            floor_die(dm->name, "QMP connection lost");
        }
        dm->len += r > 0 ? (size_t)r : 0;
    }
}

/* The reply to the last command (events skipped); an error reply ends
   the run. Returns it in `line`. */
static void floor_reply(FloorDm *dm, char *line)
{
    for (;;) {
        floor_read_msg(dm, line);
        if (strstr(line, "\"return\"")) {
            return;
        }
        if (strstr(line, "\"error\"")) {
            floor_die(dm->name, line);
        }
    }
}

static void floor_exec(FloorDm *dm, const char *json, char *line)
{
    floor_send(dm, json, -1);
    floor_reply(dm, line);
}

static void floor_connect(FloorDm *dm, const char *sock, char *line)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    if (strlen(sock) >= sizeof(sa.sun_path)) {
        floor_die(sock, "socket path too long");
    }
    strcpy(sa.sun_path, sock);
    dm->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (dm->fd < 0 || connect(dm->fd, (struct sockaddr *)&sa, sizeof(sa))) {
        floor_die(sock, strerror(errno));
    }
    floor_read_msg(dm, line); /* greeting */
    floor_exec(dm, "{\"execute\": \"qmp_capabilities\"}\n", line);
}

static int floor_reopen(int memfd, int flags)
{
    char p[64];
    int fd;

    snprintf(p, sizeof(p), "/proc/self/fd/%d", memfd);
    fd = open(p, flags | O_CLOEXEC);
    if (fd < 0) {
        floor_die("reopen the memfd", strerror(errno));
    }
    return fd;
}

/* As the coordinator (src/colo/dm.c): one memfd, a write-only and a
   read-only description of it in one fd set. */
static void floor_setup_fdset(FloorDm *dm, char *line)
{
    char req[256];
    const char *id;

    dm->memfd = memfd_create("colo-floor", MFD_CLOEXEC);
    if (dm->memfd < 0) {
        floor_die("memfd_create", strerror(errno));
    }
    dm->wr_fd = floor_reopen(dm->memfd, O_WRONLY);
    dm->rd_fd = floor_reopen(dm->memfd, O_RDONLY);
    floor_send(dm, "{\"execute\": \"add-fd\"}\n", dm->wr_fd);
    floor_reply(dm, line);
    id = strstr(line, "\"fdset-id\":");
    if (!id) {
        floor_die(dm->name, "add-fd answered no fdset-id");
    }
    long set = strtol(id + strlen("\"fdset-id\":"), NULL, 10);
    snprintf(req, sizeof(req),
             "{\"execute\": \"add-fd\", \"arguments\": {\"fdset-id\": %ld}}\n",
             set);
    floor_send(dm, req, dm->rd_fd);
    floor_reply(dm, line);
    snprintf(dm->save_req, sizeof(dm->save_req),
             "{\"execute\": \"xen-save-devices-state\", "
             "\"arguments\": {\"filename\": \"/dev/fdset/%ld\"}}\n",
             set);
    snprintf(dm->load_req, sizeof(dm->load_req),
             "{\"execute\": \"xen-load-devices-state\", "
             "\"arguments\": {\"filename\": \"/dev/fdset/%ld\"}}\n",
             set);
}

static void floor_rewind(FloorDm *dm)
{
    if (ftruncate(dm->memfd, 0) < 0 || lseek(dm->wr_fd, 0, SEEK_SET) < 0 ||
        lseek(dm->rd_fd, 0, SEEK_SET) < 0) {
        floor_die("reset the memfd", strerror(errno));
    }
}

/* Saves into the memfd and reads the bytes back into `state`. */
static size_t floor_save(FloorDm *dm, uint8_t *state, char *line)
{
    struct stat st;

    floor_rewind(dm);
    floor_exec(dm, dm->save_req, line);
    if (fstat(dm->memfd, &st) < 0 || st.st_size <= 0 ||
        st.st_size > FLOOR_MAX_STATE) {
        floor_die(dm->name, "saved nothing, or more than FLOOR_MAX_STATE");
    }
    if (pread(dm->memfd, state, (size_t)st.st_size, 0) != st.st_size) {
        floor_die("read the memfd", strerror(errno));
    }
    return (size_t)st.st_size;
}

static void floor_load(FloorDm *dm, const uint8_t *state, size_t len,
                       char *line)
{
    floor_rewind(dm);
    if (pwrite(dm->memfd, state, len, 0) != (ssize_t)len) {
        floor_die("write the memfd", strerror(errno));
    }
    floor_exec(dm, dm->load_req, line);
}

/* A loopback TCP connection with both ends here: fds[0] sends, fds[1]
   receives; both non-blocking, TCP_NODELAY as the coordinator's link. */
static void floor_link(int fds[2])
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sa);
    int one = 1;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 1) ||
        getsockname(l, (struct sockaddr *)&sa, &sl)) {
        floor_die("loopback listen", strerror(errno));
    }
    fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fds[0] < 0 || connect(fds[0], (struct sockaddr *)&sa, sizeof(sa))) {
        floor_die("loopback connect", strerror(errno));
    }
    fds[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    if (fds[1] < 0) {
        floor_die("loopback accept", strerror(errno));
    }
    close(l);
    for (int i = 0; i < 2; i++) {
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
    }
}

/* Sends len bytes through the link and receives them into `out`,
   interleaved so that a state larger than the socket buffers goes too. */
static void floor_transfer(const int fds[2], const uint8_t *in, size_t len,
                           uint8_t *out)
{
    size_t sent = 0, got = 0;

    while (got < len) {
        struct pollfd p[2] = {{fds[0], sent < len ? POLLOUT : 0, 0},
                              {fds[1], POLLIN, 0}};
        if (poll(p, 2, 5000) <= 0) {
            floor_die("loopback transfer", "stalled");
        }
        ssize_t n = sent < len ? send(fds[0], in + sent, len - sent,
                                      MSG_NOSIGNAL | MSG_DONTWAIT)
                               : 0;
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            floor_die("loopback send", strerror(errno));
        }
        sent += n > 0 ? (size_t)n : 0;
        n = recv(fds[1], out + got, len - got, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            floor_die("loopback recv", n ? strerror(errno) : "closed");
        }
        got += n > 0 ? (size_t)n : 0;
    }
}

typedef struct FloorRun {
    FloorDm *p, *s;
    int link[2];
    uint8_t *state, *rx;
    char *line;
} FloorRun;

/* One checkpoint; fills `us` (phases) and returns the pause. */
static int64_t floor_cycle(FloorRun *r, int64_t us[F_NPHASES], size_t *bytes)
{
    static const char stop[] = "{\"execute\": \"stop\"}\n";
    static const char cont[] = "{\"execute\": \"cont\"}\n";
    int64_t t0 = floor_now_us(), t;

    floor_send(r->s, stop, -1);
    floor_send(r->p, stop, -1);
    floor_reply(r->p, r->line);
    t = floor_now_us();
    us[F_STOP] = t - t0;
    *bytes = floor_save(r->p, r->state, r->line);
    us[F_SAVE] = floor_now_us() - t;
    t = floor_now_us();
    floor_transfer(r->link, r->state, *bytes, r->rx);
    floor_reply(r->s, r->line); /* the secondary's stop */
    us[F_TRANSFER] = floor_now_us() - t;
    t = floor_now_us();
    floor_load(r->s, r->rx, *bytes, r->line);
    us[F_LOAD] = floor_now_us() - t;
    t = floor_now_us();
    floor_send(r->s, cont, -1);
    floor_send(r->p, cont, -1);
    floor_reply(r->p, r->line);
    us[F_RESUME] = floor_now_us() - t;
    int64_t pause = floor_now_us() - t0;
    floor_reply(r->s, r->line);
    return pause;
}

static void floor_sleep_until(int64_t deadline_us)
{
    struct timespec ts = {.tv_sec = deadline_us / 1000000,
                          .tv_nsec = (deadline_us % 1000000) * 1000};

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
           EINTR) {
    }
}

static void floor_run(FloorRun *r, long n, long interval_us)
{
    int64_t next = floor_now_us();

    for (long i = 1; i <= n; i++) {
        int64_t us[F_NPHASES];
        size_t bytes;

        next += interval_us;
        int64_t pause = floor_cycle(r, us, &bytes);
        printf("{\"epoch\":%ld,\"ok\":true,\"pause_us\":%lld,\"phases_us\":{"
               "\"stop\":%lld,\"save\":%lld,\"transfer\":%lld,\"load\":%lld,"
               "\"resume\":%lld},\"devstate_bytes\":%zu}\n",
               i, (long long)pause, (long long)us[F_STOP],
               (long long)us[F_SAVE], (long long)us[F_TRANSFER],
               (long long)us[F_LOAD], (long long)us[F_RESUME], bytes);
        if (floor_now_us() > next) {
            next = floor_now_us(); /* late: no burst to catch up */
        }
        floor_sleep_until(next);
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    static FloorDm p = {.name = "primary"}, s = {.name = "secondary"};
    long n = argc == 5 ? strtol(argv[3], NULL, 10) : 0;
    long interval = argc == 5 ? strtol(argv[4], NULL, 10) : -1;
    FloorRun r = {.p = &p, .s = &s};
    char *line;

    if (n < 1 || n > FLOOR_MAX_CYCLES || interval < 0 || interval > 10000000) {
        fprintf(stderr, "usage: colo-floor PRIMARY_SOCK SECONDARY_SOCK N "
                        "INTERVAL_US (1 <= N <= 1000000, "
                        "INTERVAL_US <= 10 s)\n");
        return 2;
    }
    line = r.line = malloc(FLOOR_MAX_LINE);
    r.state = malloc(FLOOR_MAX_STATE);
    r.rx = malloc(FLOOR_MAX_STATE);
    if (!line || !r.state || !r.rx) {
        floor_die("out of memory", NULL);
    }
    floor_connect(&p, argv[1], line);
    floor_connect(&s, argv[2], line);
    floor_setup_fdset(&p, line);
    floor_setup_fdset(&s, line);
    floor_link(r.link);
    floor_run(&r, n, interval);
    for (int i = 0; i < 2; i++) {
        FloorDm *dm = i ? &s : &p;
        close(dm->fd);
        close(dm->memfd);
        close(dm->wr_fd);
        close(dm->rd_fd);
        close(r.link[i]);
    }
    free(r.state);
    free(r.rx);
    free(line);
    return 0;
}
