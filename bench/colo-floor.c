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
 *   colo-floor PRIMARY_SOCK SECONDARY_SOCK N INTERVAL_US [ram]
 *
 * With `ram` (dms with guest RAM, docs/ram-format.md) each checkpoint also
 * carries RAM, as the coordinator's do: the primary's dirty log is enabled
 * at start (xen-set-global-dirty-log), the first cycle saves all of RAM
 * (x-lockstep-save-ram, dirty: false) and later ones the dirty pages
 * (dirty: true) into a second memfd, the bytes go through the same link
 * after the device state, and the secondary loads both with one
 * x-lockstep-load-checkpoint. Save then covers both saves, transfer both
 * transfers, load the one command. The secondary is neither stopped nor
 * resumed: as the coordinator's secondary while it carries RAM
 * (docs/colo.md, "RAM"), it stays paused (start it with -S).
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
/* A RAM file: the dm reads one whole, at most 256 MiB (docs/ram-format.md). */
#define FLOOR_MAX_RAM (256 * 1024 * 1024)

/* A memfd passed as one fd set: a write-only and a read-only description. */
typedef struct FloorFile {
    int memfd, wr_fd, rd_fd;
    long set;
} FloorFile;

typedef struct FloorDm {
    const char *name;
    int fd;
    FloorFile dev, ram;
    char save_req[160], load_req[160]; /* on /dev/fdset/N */
    char ram_req[2][200];              /* save all (0) or dirty (1) RAM */
    char ckpt_req[256];                /* x-lockstep-load-checkpoint */
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
static void floor_fdset(FloorDm *dm, FloorFile *f, char *line)
{
    char req[256];
    const char *id;

    f->memfd = memfd_create("colo-floor", MFD_CLOEXEC);
    if (f->memfd < 0) {
        floor_die("memfd_create", strerror(errno));
    }
    f->wr_fd = floor_reopen(f->memfd, O_WRONLY);
    f->rd_fd = floor_reopen(f->memfd, O_RDONLY);
    floor_send(dm, "{\"execute\": \"add-fd\"}\n", f->wr_fd);
    floor_reply(dm, line);
    id = strstr(line, "\"fdset-id\":");
    if (!id) {
        floor_die(dm->name, "add-fd answered no fdset-id");
    }
    f->set = strtol(id + strlen("\"fdset-id\":"), NULL, 10);
    snprintf(req, sizeof(req),
             "{\"execute\": \"add-fd\", \"arguments\": {\"fdset-id\": %ld}}\n",
             f->set);
    floor_send(dm, req, f->rd_fd);
    floor_reply(dm, line);
}

static void floor_setup_fdset(FloorDm *dm, char *line)
{
    floor_fdset(dm, &dm->dev, line);
    snprintf(dm->save_req, sizeof(dm->save_req),
             "{\"execute\": \"xen-save-devices-state\", "
             "\"arguments\": {\"filename\": \"/dev/fdset/%ld\"}}\n",
             dm->dev.set);
    snprintf(dm->load_req, sizeof(dm->load_req),
             "{\"execute\": \"xen-load-devices-state\", "
             "\"arguments\": {\"filename\": \"/dev/fdset/%ld\"}}\n",
             dm->dev.set);
}

/* The RAM memfd and its commands; on the primary, the dirty log on. */
static void floor_setup_ram(FloorDm *dm, bool primary, char *line)
{
    floor_fdset(dm, &dm->ram, line);
    for (int dirty = 0; dirty < 2; dirty++) {
        snprintf(dm->ram_req[dirty], sizeof(dm->ram_req[dirty]),
                 "{\"execute\": \"x-lockstep-save-ram\", \"arguments\": "
                 "{\"filename\": \"/dev/fdset/%ld\", \"dirty\": %s}}\n",
                 dm->ram.set, dirty ? "true" : "false");
    }
    snprintf(
        dm->ckpt_req, sizeof(dm->ckpt_req),
        "{\"execute\": \"x-lockstep-load-checkpoint\", \"arguments\": "
        "{\"devices\": \"/dev/fdset/%ld\", \"ram\": \"/dev/fdset/%ld\"}}\n",
        dm->dev.set, dm->ram.set);
    if (primary) {
        floor_exec(dm,
                   "{\"execute\": \"xen-set-global-dirty-log\", "
                   "\"arguments\": {\"enable\": true}}\n",
                   line);
    }
}

static void floor_rewind(FloorFile *f)
{
    if (ftruncate(f->memfd, 0) < 0 || lseek(f->wr_fd, 0, SEEK_SET) < 0 ||
        lseek(f->rd_fd, 0, SEEK_SET) < 0) {
        floor_die("reset the memfd", strerror(errno));
    }
}

/* Runs `req`, which writes into f's memfd, and reads the bytes back into
   `out`. */
static size_t floor_save_file(FloorDm *dm, FloorFile *f, const char *req,
                              uint8_t *out, size_t cap, char *line)
{
    struct stat st;

    floor_rewind(f);
    floor_exec(dm, req, line);
    if (fstat(f->memfd, &st) < 0 || st.st_size <= 0 ||
        (size_t)st.st_size > cap) {
        floor_die(dm->name, "saved nothing, or more than its cap");
    }
    if (pread(f->memfd, out, (size_t)st.st_size, 0) != st.st_size) {
        floor_die("read the memfd", strerror(errno));
    }
    return (size_t)st.st_size;
}

static void floor_fill(FloorFile *f, const uint8_t *in, size_t len)
{
    floor_rewind(f);
    if (pwrite(f->memfd, in, len, 0) != (ssize_t)len) {
        floor_die("write the memfd", strerror(errno));
    }
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
    uint8_t *ram, *ram_rx; /* NULL without `ram` */
    long cycles;           /* done so far: the first RAM save is full */
    char *line;
} FloorRun;

typedef struct FloorSizes {
    size_t dev, ram;
    long ram_pages;
} FloorSizes;

/* The save phase: device state, then (with RAM) all RAM or its dirty
   pages. */
static void floor_save(FloorRun *r, FloorSizes *sz)
{
    FloorDm *p = r->p;
    const char *pages;

    sz->dev = floor_save_file(p, &p->dev, p->save_req, r->state,
                              FLOOR_MAX_STATE, r->line);
    sz->ram = 0;
    sz->ram_pages = 0;
    if (r->ram) {
        sz->ram = floor_save_file(p, &p->ram, p->ram_req[r->cycles > 0], r->ram,
                                  FLOOR_MAX_RAM, r->line);
        pages = strstr(r->line, "\"pages\":");
        sz->ram_pages = pages ? strtol(pages + 8, NULL, 10) : -1;
    }
}

/* The load phase: devices alone, or devices and RAM in one command. */
static void floor_load(FloorRun *r, const FloorSizes *sz)
{
    FloorDm *s = r->s;

    floor_fill(&s->dev, r->rx, sz->dev);
    if (!r->ram) {
        floor_exec(s, s->load_req, r->line);
        return;
    }
    floor_fill(&s->ram, r->ram_rx, sz->ram);
    floor_exec(s, s->ckpt_req, r->line);
}

/* One checkpoint; fills `us` (phases) and returns the pause. */
static int64_t floor_cycle(FloorRun *r, int64_t us[F_NPHASES], FloorSizes *sz)
{
    static const char stop[] = "{\"execute\": \"stop\"}\n";
    static const char cont[] = "{\"execute\": \"cont\"}\n";
    int64_t t0 = floor_now_us(), t;

    if (!r->ram) {
        floor_send(r->s, stop, -1);
    }
    floor_send(r->p, stop, -1);
    floor_reply(r->p, r->line);
    t = floor_now_us();
    us[F_STOP] = t - t0;
    floor_save(r, sz);
    us[F_SAVE] = floor_now_us() - t;
    t = floor_now_us();
    floor_transfer(r->link, r->state, sz->dev, r->rx);
    if (r->ram) {
        floor_transfer(r->link, r->ram, sz->ram, r->ram_rx);
    }
    if (!r->ram) {
        floor_reply(r->s, r->line); /* the secondary's stop */
    }
    us[F_TRANSFER] = floor_now_us() - t;
    t = floor_now_us();
    floor_load(r, sz);
    us[F_LOAD] = floor_now_us() - t;
    t = floor_now_us();
    if (!r->ram) {
        floor_send(r->s, cont, -1);
    }
    floor_send(r->p, cont, -1);
    floor_reply(r->p, r->line);
    us[F_RESUME] = floor_now_us() - t;
    int64_t pause = floor_now_us() - t0;
    if (!r->ram) {
        floor_reply(r->s, r->line);
    }
    r->cycles++;
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
        FloorSizes sz;

        next += interval_us;
        int64_t pause = floor_cycle(r, us, &sz);
        printf("{\"epoch\":%ld,\"ok\":true,\"pause_us\":%lld,\"phases_us\":{"
               "\"stop\":%lld,\"save\":%lld,\"transfer\":%lld,\"load\":%lld,"
               "\"resume\":%lld},\"devstate_bytes\":%zu,\"ram_pages\":%ld,"
               "\"ram_bytes\":%zu}\n",
               i, (long long)pause, (long long)us[F_STOP],
               (long long)us[F_SAVE], (long long)us[F_TRANSFER],
               (long long)us[F_LOAD], (long long)us[F_RESUME], sz.dev,
               sz.ram_pages, sz.ram);
        if (floor_now_us() > next) {
            next = floor_now_us(); /* late: no burst to catch up */
        }
        floor_sleep_until(next);
    }
    fflush(stdout);
}

static void floor_close(FloorFile *f)
{
    if (f->memfd > 0) {
        close(f->memfd);
        close(f->wr_fd);
        close(f->rd_fd);
    }
}

static void floor_alloc(FloorRun *r, bool ram)
{
    r->line = malloc(FLOOR_MAX_LINE);
    r->state = malloc(FLOOR_MAX_STATE);
    r->rx = malloc(FLOOR_MAX_STATE);
    if (ram) {
        r->ram = malloc(FLOOR_MAX_RAM);
        r->ram_rx = malloc(FLOOR_MAX_RAM);
    }
    if (!r->line || !r->state || !r->rx || (ram && (!r->ram || !r->ram_rx))) {
        floor_die("out of memory", NULL);
    }
}

int main(int argc, char **argv)
{
    static FloorDm p = {.name = "primary"}, s = {.name = "secondary"};
    bool args_ok = argc == 5 || (argc == 6 && !strcmp(argv[5], "ram"));
    long n = args_ok ? strtol(argv[3], NULL, 10) : 0;
    long interval = args_ok ? strtol(argv[4], NULL, 10) : -1;
    FloorRun r = {.p = &p, .s = &s};

    if (n < 1 || n > FLOOR_MAX_CYCLES || interval < 0 || interval > 10000000) {
        fprintf(stderr, "usage: colo-floor PRIMARY_SOCK SECONDARY_SOCK N "
                        "INTERVAL_US [ram] (1 <= N <= 1000000, "
                        "INTERVAL_US <= 10 s)\n");
        return 2;
    }
    floor_alloc(&r, argc == 6);
    floor_connect(&p, argv[1], r.line);
    floor_connect(&s, argv[2], r.line);
    floor_setup_fdset(&p, r.line);
    floor_setup_fdset(&s, r.line);
    if (r.ram) {
        floor_setup_ram(&p, true, r.line);
        floor_setup_ram(&s, false, r.line);
    }
    floor_link(r.link);
    floor_run(&r, n, interval);
    for (int i = 0; i < 2; i++) {
        FloorDm *dm = i ? &s : &p;
        close(dm->fd);
        floor_close(&dm->dev);
        floor_close(&dm->ram);
        close(r.link[i]);
    }
    free(r.state);
    free(r.rx);
    free(r.ram);
    free(r.ram_rx);
    free(r.line);
    return 0;
}
