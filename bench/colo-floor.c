/*
 * The floor of a COLO checkpoint: the same work as the coordinator with
 * nothing else. Stop both dms, save the primary's device state into a
 * memfd, send the bytes over a loopback TCP connection and read them
 * back, load them into the secondary, cont both; one process, no
 * protocol, no event loop. Uses the coordinator's own QMP view of a dm
 * (src/colo/dm.h), so the QMP traffic is the same.
 *
 * Usage: colo-floor PRIMARY_QMP SECONDARY_QMP N
 * Prints one JSON object: p50/p99/max of the cycle in microseconds.
 */
#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "colo/dm.h"
#include "colo/proto.h"

#define FLOOR_MAX_N 1000000

static int floor_pair(int fds[2])
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(l, 1) < 0 || getsockname(l, (struct sockaddr *)&a, &len) < 0) {
        return -1;
    }
    fds[0] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fds[0], (struct sockaddr *)&a, sizeof(a)) < 0) {
        return -1;
    }
    fds[1] = accept(l, NULL, NULL);
    close(l);
    setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fds[1] < 0 ? -1 : 0;
}

/* Sends `len` bytes on fds[0] and reads them on fds[1] into `out`. */
static int floor_send(int fds[2], const uint8_t *p, size_t len, uint8_t *out)
{
    size_t sent = 0, got = 0;

    while (got < len) {
        if (sent < len) {
            ssize_t n = send(fds[0], p + sent, len - sent, MSG_DONTWAIT);
            sent += n > 0 ? (size_t)n : 0;
        }
        ssize_t n = recv(fds[1], out + got, len - got, 0);
        if (n <= 0) {
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

static int floor_cmp(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

    return x < y ? -1 : x > y;
}

static bool floor_cycle(ColoDm *p, ColoDm *s, int fds[2], GError **errp)
{
    g_autoptr(GBytes) state = NULL;
    g_autofree uint8_t *copy = NULL;
    gsize len;
    const uint8_t *data;

    if (!colo_dm_stop(p, errp) || !colo_dm_stop(s, errp)) {
        return false;
    }
    state = colo_dm_save(p, COLO_PROTO_MAX_DATA, errp);
    if (!state) {
        return false;
    }
    data = g_bytes_get_data(state, &len);
    copy = g_malloc(len);
    if (floor_send(fds, data, len, copy) < 0) {
        g_set_error(errp, g_quark_from_static_string("colo-floor"), 0,
                    "loopback send failed");
        return false;
    }
    return colo_dm_load(s, copy, len, errp) && colo_dm_cont(p, errp) &&
           colo_dm_cont(s, errp);
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    ColoDm *p, *s;
    int fds[2];
    long n = argc == 4 ? strtol(argv[3], NULL, 10) : 0;
    gint64 *t;

    if (n <= 0 || n > FLOOR_MAX_N) {
        fprintf(stderr, "usage: colo-floor PRIMARY_QMP SECONDARY_QMP N\n");
        return 2;
    }
    p = colo_dm_connect(argv[1], 2000, &err);
    s = p ? colo_dm_connect(argv[2], 2000, &err) : NULL;
    if (!s || floor_pair(fds) < 0) {
        fprintf(stderr, "colo-floor: %s\n", err ? err->message : "socket");
        return 2;
    }
    t = g_new(gint64, n);
    for (long i = 0; i < n; i++) {
        gint64 t0 = g_get_monotonic_time();
        if (!floor_cycle(p, s, fds, &err)) {
            fprintf(stderr, "colo-floor: %s\n", err->message);
            return 1;
        }
        t[i] = g_get_monotonic_time() - t0;
    }
    qsort(t, n, sizeof(*t), floor_cmp);
    printf("{\"n\": %ld, \"p50_us\": %" G_GINT64_FORMAT
           ", \"p99_us\": %" G_GINT64_FORMAT ", \"max_us\": %" G_GINT64_FORMAT
           "}\n",
           n, t[(n - 1) / 2], t[(n * 99 + 99) / 100 - 1], t[n - 1]);
    g_free(t);
    colo_dm_free(p);
    colo_dm_free(s);
    return 0;
}
