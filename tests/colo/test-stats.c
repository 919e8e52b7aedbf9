/*
 * Tests for src/colo/stats*.c: exact percentiles on known inputs (window
 * wrap-around, failures left out), the JSON line / summary / status
 * shapes, the Prometheus text parsed back by a small checker of the
 * documented text format, and the metrics listener over real loopback
 * sockets (404, 405, garbage, oversized and unfinished requests, too many
 * clients).
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "colo/stats.h"

/* Liveness bound for waits on the main loop (generous; not a timing). */
#define WAIT_US (5 * G_USEC_PER_SEC)

static ColoCheckpointRecord ok_record(uint64_t epoch, uint64_t pause)
{
    ColoCheckpointRecord r = {.epoch = epoch, .pause_us = pause, .ok = true};

    for (int p = 0; p < COLO_PHASE_COUNT; p++) {
        r.phase_us[p] = pause * (p + 1);
    }
    r.devstate_bytes = 1000;
    r.output_held = 3;
    r.output_released = 2;
    return r;
}

/* Adds pauses 1..n in a scrambled order. */
static void add_scrambled(ColoStats *st, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = (i * 37) % n + 1; /* 37 is prime to the n used */
        ColoCheckpointRecord r = ok_record(i + 1, v);
        colo_stats_add(st, &r);
    }
}

static void test_percentiles(void)
{
    ColoStats *st = colo_stats_new(0);
    ColoStatsSummary s;

    colo_stats_summary(st, &s);
    g_assert_cmpuint(s.pause.count, ==, 0);
    g_assert_cmpuint(s.pause.p50, ==, 0);
    add_scrambled(st, 100);
    colo_stats_summary(st, &s);
    g_assert_cmpuint(s.checkpoints, ==, 100);
    g_assert_cmpuint(s.pause.count, ==, 100);
    g_assert_cmpuint(s.pause.p50, ==, 50);
    g_assert_cmpuint(s.pause.p99, ==, 99);
    g_assert_cmpuint(s.pause.max, ==, 100);
    g_assert_cmpuint(s.pause.sum, ==, 5050);
    g_assert_cmpuint(s.phase[COLO_PHASE_LOAD].p50, ==, 200);
    g_assert_cmpuint(s.phase[COLO_PHASE_RESUME].p99, ==, 495);
    g_assert_cmpuint(s.devstate_bytes, ==, 100000);
    colo_stats_free(st);

    /* Nearest rank with n = 10: p50 is rank 5, p99 is rank 10. */
    st = colo_stats_new(0);
    add_scrambled(st, 10);
    colo_stats_summary(st, &s);
    g_assert_cmpuint(s.pause.p50, ==, 5);
    g_assert_cmpuint(s.pause.p99, ==, 10);
    colo_stats_free(st);

    /* One value is every percentile. */
    st = colo_stats_new(0);
    ColoCheckpointRecord r = ok_record(1, 42);
    colo_stats_add(st, &r);
    colo_stats_summary(st, &s);
    g_assert_cmpuint(s.pause.p50, ==, 42);
    g_assert_cmpuint(s.pause.p99, ==, 42);
    colo_stats_free(st);
}

static void test_window(void)
{
    ColoStats *st = colo_stats_new(10);
    ColoStatsSummary s;

    for (uint64_t i = 1; i <= 20; i++) {
        ColoCheckpointRecord r = ok_record(i, i == 3 ? 1000 : i);
        colo_stats_add(st, &r);
    }
    colo_stats_summary(st, &s);
    /* The window holds 11..20; max and sum cover the whole run. */
    g_assert_cmpuint(s.pause.count, ==, 10);
    g_assert_cmpuint(s.pause.p50, ==, 15);
    g_assert_cmpuint(s.pause.p99, ==, 20);
    g_assert_cmpuint(s.pause.max, ==, 1000);
    g_assert_cmpuint(s.pause.sum, ==, 210 - 3 + 1000);
    colo_stats_free(st);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest rank of p in the n values of v, by sorting a copy. */
static uint64_t sorted_rank(const uint64_t *v, size_t n, unsigned p)
{
    g_autofree uint64_t *c = g_memdup2(v, n * sizeof(uint64_t));
    size_t rank = ((uint64_t)p * n + 99) / 100;

    qsort(c, n, sizeof(uint64_t), cmp_u64);
    return c[MAX(rank, 1) - 1];
}

/* The selected percentiles equal the sorted ones, for sizes around the
   rank boundaries, few or many distinct values, and a wrapped window. */
static void test_percentiles_random(void)
{
    static const size_t sizes[] = {1, 2, 3, 7, 10, 99, 100, 101, 1000, 4097};
    static const uint64_t spans[] = {1, 3, 1000, (uint64_t)1 << 40};
    GRand *rnd = g_rand_new_with_seed(11);

    for (size_t a = 0; a < G_N_ELEMENTS(sizes); a++) {
        for (size_t b = 0; b < G_N_ELEMENTS(spans); b++) {
            size_t n = sizes[a], window = n > 50 ? n / 3 : 0;
            size_t kept = window ? window : n;
            g_autofree uint64_t *v = g_new(uint64_t, n);
            ColoStats *st = colo_stats_new(window);
            ColoStatsSummary s;
            for (size_t i = 0; i < n; i++) {
                ColoCheckpointRecord r;
                v[i] = ((uint64_t)g_rand_int(rnd) << 32 | g_rand_int(rnd)) %
                       spans[b];
                r = ok_record(i + 1, v[i]);
                colo_stats_add(st, &r);
            }
            colo_stats_summary(st, &s);
            /* The window holds the last `kept` values. */
            g_assert_cmpuint(s.pause.count, ==, kept);
            g_assert_cmpuint(s.pause.p50, ==,
                             sorted_rank(v + n - kept, kept, 50));
            g_assert_cmpuint(s.pause.p99, ==,
                             sorted_rank(v + n - kept, kept, 99));
            colo_stats_free(st);
        }
    }
    g_rand_free(rnd);
}

/* Percentiles are kept between queries, and a new successful record
   (only that) moves them. */
static void test_percentiles_kept(void)
{
    ColoStats *st = colo_stats_new(0);
    ColoStatsSummary s;
    ColoCheckpointRecord r;

    add_scrambled(st, 100);
    colo_stats_summary(st, &s);
    colo_stats_summary(st, &s);
    g_assert_cmpuint(s.pause.p50, ==, 50);
    g_assert_cmpuint(s.pause.p99, ==, 99);
    r = ok_record(101, 0);
    r.ok = false;
    r.reason = "failed";
    colo_stats_add(st, &r);
    colo_stats_summary(st, &s);
    g_assert_cmpuint(s.pause.p50, ==, 50);
    for (uint64_t i = 0; i < 100; i++) {
        r = ok_record(102 + i, 1000 + i);
        colo_stats_add(st, &r);
    }
    colo_stats_summary(st, &s);
    g_assert_cmpuint(s.pause.count, ==, 200);
    g_assert_cmpuint(s.pause.p50, ==, 100);
    g_assert_cmpuint(s.pause.p99, ==, 1097);
    g_assert_cmpuint(s.phase[COLO_PHASE_STOP].p99, ==, 1097);
    colo_stats_free(st);
}

static void test_failures(void)
{
    ColoStats *st = colo_stats_new(0);
    ColoStatsSummary s;
    g_autofree char *longr = g_strnfill(1000, 'x');
    ColoCheckpointRecord bad = {.epoch = 3,
                                .pause_us = 999999,
                                .failed_phase = COLO_PHASE_LOAD,
                                .reason = longr};
    json_t *status;
    ColoStatusInfo info = {.role = "primary", .state = "protected"};

    add_scrambled(st, 2);
    colo_stats_add(st, &bad);
    colo_stats_summary(st, &s);
    g_assert_cmpuint(s.checkpoints, ==, 3);
    g_assert_cmpuint(s.failures, ==, 1);
    g_assert_cmpuint(s.ok_checkpoints, ==, 2);
    g_assert_cmpuint(s.pause.max, ==, 2);
    g_assert_cmpuint(s.last_epoch, ==, 3);
    g_assert_cmpuint(s.last_ok_epoch, ==, 2);
    status = colo_stats_status_json(st, &info);
    g_assert_cmpuint(
        strlen(json_string_value(json_object_get(status, "last-error"))), ==,
        COLO_STATS_REASON_MAX);
    json_decref(status);
    colo_stats_free(st);
}

static json_t *load_line(const char *line)
{
    json_error_t jerr;
    json_t *o = json_loads(line, 0, &jerr);

    g_assert_nonnull(o);
    g_assert_true(json_is_object(o));
    return o;
}

static void test_json_lines(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-stats-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "stats.jsonl", NULL);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    ColoStats *st = colo_stats_new(0);
    ColoCheckpointRecord good = ok_record(7, 250);
    ColoCheckpointRecord bad = {.epoch = 8,
                                .failed_phase = COLO_PHASE_TRANSFER,
                                .reason = "peer closed"};
    g_autoptr(GError) err = NULL;
    json_t *o;

    g_assert_false(colo_stats_set_output(st, "/nonexistent/x", &err));
    g_assert_true(colo_stats_set_output(st, path, NULL));
    good.wall_us = 1700000000000000;
    colo_stats_add(st, &good);
    colo_stats_add(st, &bad);
    colo_stats_free(st);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, 3);
    g_assert_cmpstr(lines[2], ==, "");
    o = load_line(lines[0]);
    g_assert_cmpint(json_integer_value(json_object_get(o, "epoch")), ==, 7);
    g_assert_true(json_is_true(json_object_get(o, "ok")));
    g_assert_cmpint(json_integer_value(json_object_get(o, "pause_us")), ==,
                    250);
    g_assert_cmpint(json_integer_value(json_object_get(o, "time_us")), ==,
                    1700000000000000);
    g_assert_cmpint(json_integer_value(json_object_get(
                        json_object_get(o, "phases_us"), "transfer")),
                    ==, 750);
    g_assert_cmpint(json_object_size(json_object_get(o, "phases_us")), ==, 5);
    g_assert_null(json_object_get(o, "reason"));
    json_decref(o);
    o = load_line(lines[1]);
    g_assert_true(json_is_false(json_object_get(o, "ok")));
    g_assert_null(json_object_get(o, "time_us"));
    g_assert_cmpstr(json_string_value(json_object_get(o, "failed_phase")), ==,
                    "transfer");
    g_assert_cmpstr(json_string_value(json_object_get(o, "reason")), ==,
                    "peer closed");
    json_decref(o);
    unlink(path);
    rmdir(dir);
}

static void test_summary_shapes(void)
{
    ColoStats *st = colo_stats_new(0);
    ColoStatusInfo info = {.role = "secondary",
                           .state = "protected",
                           .peer = "127.0.0.1:4444",
                           .interval_ms = 100};
    json_t *sum, *status, *d;
    g_autofree char *table = NULL;

    add_scrambled(st, 100);
    colo_stats_set_output_held_now(st, 17);
    sum = colo_stats_summary_json(st);
    g_assert_cmpint(json_integer_value(json_object_get(sum, "checkpoints")), ==,
                    100);
    d = json_object_get(sum, "pause_us");
    g_assert_cmpint(json_integer_value(json_object_get(d, "p50")), ==, 50);
    g_assert_cmpint(json_integer_value(json_object_get(d, "p99")), ==, 99);
    g_assert_cmpint(json_integer_value(json_object_get(d, "max")), ==, 100);
    d = json_object_get(json_object_get(sum, "phases_us"), "save");
    g_assert_cmpint(json_integer_value(json_object_get(d, "p50")), ==, 100);
    g_assert_cmpint(json_integer_value(json_object_get(sum, "output_released")),
                    ==, 200);
    status = colo_stats_status_json(st, &info);
    g_assert_cmpstr(json_string_value(json_object_get(status, "role")), ==,
                    "secondary");
    g_assert_cmpstr(json_string_value(json_object_get(status, "peer")), ==,
                    "127.0.0.1:4444");
    g_assert_cmpint(
        json_integer_value(json_object_get(status, "last-checkpoint")), ==,
        100);
    g_assert_cmpint(
        json_integer_value(json_object_get(status, "output-held-bytes")), ==,
        17);
    g_assert_cmpint(json_integer_value(json_object_get(status, "pause-p99-us")),
                    ==, 99);
    g_assert_null(json_object_get(status, "last-error"));
    table = colo_stats_summary_table(st);
    g_assert_nonnull(strstr(table, "checkpoints 100, failed 0"));
    g_assert_nonnull(strstr(
        table, "  pause            100         50         99        100\n"));
    g_assert_nonnull(strstr(
        table, "  stop             100         50         99        100\n"));
    json_decref(sum);
    json_decref(status);
    colo_stats_free(st);
}

/* ------------------------------------- Prometheus text format checker */

/*
 * Checks `text` against the documented text exposition format (0.0.4):
 * '\n' line ends (the last too), "# HELP name docstring" and "# TYPE name
 * type" at most once per name and before its samples, samples "name
 * [{label="value",...}] value [timestamp]" with valid names and escapes,
 * one uninterrupted group per metric family, summaries made of
 * name{quantile=...}, name_sum and name_count. Stricter than the format
 * here: every family has HELP and TYPE. Returns "name{labels}" -> value
 * text, or NULL with *why set.
 */
static bool prom_name_ok(const char *s, size_t n)
{
    if (n == 0 || !(g_ascii_isalpha(s[0]) || s[0] == '_' || s[0] == ':')) {
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        if (!(g_ascii_isalnum(s[i]) || s[i] == '_' || s[i] == ':')) {
            return false;
        }
    }
    return true;
}

static bool prom_value_ok(const char *v)
{
    char *end;

    if (!strcmp(v, "NaN") || !strcmp(v, "+Inf") || !strcmp(v, "-Inf")) {
        return true;
    }
    g_ascii_strtod(v, &end);
    return *v && !*end;
}

/* Parses {a="x",b="y"} at *p; appends the canonical text to `key`;
   sets *has_quantile. */
static bool prom_labels(const char **p, GString *key, bool *has_quantile)
{
    const char *s = *p + 1;

    g_string_append_c(key, '{');
    while (*s != '}') {
        size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                             "WXYZ0123456789_");
        if (!prom_name_ok(s, n) || s[n] != '=' || s[n + 1] != '"') {
            return false;
        }
        *has_quantile |= n == 8 && !strncmp(s, "quantile", 8);
        g_string_append_len(key, s, n + 2);
        for (s += n + 2; *s != '"'; s++) {
            if (!*s || *s == '\n') {
                return false;
            }
            if (*s == '\\' && (!s[1] || !strchr("\\\"n", s[1]))) {
                return false;
            }
            s += *s == '\\';
            g_string_append_c(key, *s);
        }
        g_string_append_c(key, '"');
        s++;
        if (*s == ',') {
            g_string_append_c(key, *s++);
        } else if (*s != '}') {
            return false;
        }
    }
    g_string_append_c(key, '}');
    *p = s + 1;
    return true;
}

typedef struct PromState {
    GHashTable *types;  /* family -> type */
    GHashTable *helps;  /* family -> 1 */
    GHashTable *closed; /* families whose group has ended */
    GHashTable *out;
    char *current; /* family of the last sample */
} PromState;

/* The family a sample name belongs to, given the declared types. */
static char *prom_family(PromState *ps, const char *name)
{
    for (int i = 0; i < 2; i++) {
        const char *suf = i ? "_count" : "_sum";
        if (g_str_has_suffix(name, suf)) {
            g_autofree char *base = g_strndup(name, strlen(name) - strlen(suf));
            const char *t = g_hash_table_lookup(ps->types, base);
            if (t && !strcmp(t, "summary")) {
                return g_steal_pointer(&base);
            }
        }
    }
    return g_strdup(name);
}

static const char *prom_comment(PromState *ps, const char *line)
{
    g_auto(GStrv) tok = g_strsplit(line, " ", 4);

    if (g_strv_length(tok) < 3 || strcmp(tok[0], "#")) {
        return NULL; /* another comment: ignored */
    }
    if (!prom_name_ok(tok[2], strlen(tok[2]))) {
        return "bad name in a comment";
    }
    if (!strcmp(tok[1], "HELP")) {
        if (g_hash_table_contains(ps->helps, tok[2])) {
            return "second HELP";
        }
        g_hash_table_add(ps->helps, g_strdup(tok[2]));
    } else if (!strcmp(tok[1], "TYPE")) {
        static const char *const types[] = {"counter", "gauge", "histogram",
                                            "summary", "untyped"};
        bool known = false;
        for (size_t i = 0; tok[3] && i < G_N_ELEMENTS(types); i++) {
            known |= !strcmp(tok[3], types[i]);
        }
        if (!known || g_hash_table_contains(ps->types, tok[2])) {
            return "bad or second TYPE";
        }
        if (g_hash_table_contains(ps->closed, tok[2]) ||
            g_strcmp0(ps->current, tok[2]) == 0) {
            return "TYPE after samples";
        }
        g_hash_table_insert(ps->types, g_strdup(tok[2]), g_strdup(tok[3]));
    }
    return NULL;
}

static const char *prom_sample(PromState *ps, const char *line)
{
    size_t n = strspn(line, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                            "WXYZ0123456789_:");
    g_autofree char *name = g_strndup(line, n);
    g_autofree char *family = NULL;
    g_autoptr(GString) key = g_string_new(name);
    const char *p = line + n, *type;
    bool has_q = false;
    g_auto(GStrv) rest = NULL;

    if (!prom_name_ok(line, n) ||
        (*p == '{' && !prom_labels(&p, key, &has_q))) {
        return "bad sample name or labels";
    }
    rest = g_strsplit(p, " ", -1);
    if (*p != ' ' || g_strv_length(rest) < 2 || g_strv_length(rest) > 3 ||
        !prom_value_ok(rest[1])) {
        return "bad value";
    }
    family = prom_family(ps, name);
    type = g_hash_table_lookup(ps->types, family);
    if (!type || !g_hash_table_contains(ps->helps, family)) {
        return "sample without TYPE or HELP";
    }
    if (!strcmp(type, "summary") && !strcmp(name, family) && !has_q) {
        return "summary sample without quantile";
    }
    if (g_strcmp0(ps->current, family)) {
        if (g_hash_table_contains(ps->closed, family)) {
            return "family split into two groups";
        }
        if (ps->current) {
            g_hash_table_add(ps->closed, ps->current);
        }
        ps->current = g_strdup(family);
    }
    if (g_hash_table_contains(ps->out, key->str)) {
        return "duplicate sample";
    }
    g_hash_table_insert(ps->out, g_strdup(key->str), g_strdup(rest[1]));
    return NULL;
}

static GHashTable *prom_check(const char *text, const char **why)
{
    PromState ps = {
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free), NULL};
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    guint n = g_strv_length(lines);

    *why = !g_str_has_suffix(text, "\n") ? "no final line feed" : NULL;
    for (guint i = 0; !*why && i + 1 < n; i++) {
        if (!g_utf8_validate(lines[i], -1, NULL)) {
            *why = "not UTF-8";
        } else if (lines[i][0] == '#') {
            *why = prom_comment(&ps, lines[i]);
        } else if (lines[i][0]) {
            *why = prom_sample(&ps, lines[i]);
        }
    }
    g_hash_table_unref(ps.types);
    g_hash_table_unref(ps.helps);
    g_hash_table_unref(ps.closed);
    g_free(ps.current);
    if (*why) {
        g_hash_table_unref(ps.out);
        return NULL;
    }
    return ps.out;
}

static GHashTable *prom_parse(const char *text)
{
    const char *why = NULL;
    GHashTable *h = prom_check(text, &why);

    if (!h) {
        g_test_message("Prometheus text rejected: %s\n%s", why, text);
    }
    g_assert_nonnull(h);
    return h;
}

#define ASSERT_SAMPLE(h, key, want)                                            \
    g_assert_cmpstr(g_hash_table_lookup(h, key), ==, want)

static void test_prometheus(void)
{
    ColoStats *st = colo_stats_new(0);
    ColoCheckpointRecord bad = {.epoch = 101, .reason = "x"};
    g_autofree char *text = NULL;
    GHashTable *h;

    add_scrambled(st, 100);
    colo_stats_add(st, &bad);
    colo_stats_set_output_held_now(st, 5);
    text = colo_stats_prometheus(st);
    h = prom_parse(text);
    ASSERT_SAMPLE(h, "lockstep_colo_checkpoints_total", "101");
    ASSERT_SAMPLE(h, "lockstep_colo_checkpoint_failures_total", "1");
    ASSERT_SAMPLE(h, "lockstep_colo_last_checkpoint", "100");
    ASSERT_SAMPLE(h, "lockstep_colo_pause_seconds{quantile=\"0.5\"}",
                  "0.000050");
    ASSERT_SAMPLE(h, "lockstep_colo_pause_seconds{quantile=\"0.99\"}",
                  "0.000099");
    ASSERT_SAMPLE(h, "lockstep_colo_pause_seconds_sum", "0.005050");
    ASSERT_SAMPLE(h, "lockstep_colo_pause_seconds_count", "100");
    ASSERT_SAMPLE(h, "lockstep_colo_pause_max_seconds", "0.000100");
    ASSERT_SAMPLE(
        h, "lockstep_colo_phase_seconds{phase=\"transfer\",quantile=\"0.5\"}",
        "0.000150");
    ASSERT_SAMPLE(h, "lockstep_colo_phase_seconds_sum{phase=\"resume\"}",
                  "0.025250");
    ASSERT_SAMPLE(h, "lockstep_colo_phase_seconds_count{phase=\"stop\"}",
                  "100");
    ASSERT_SAMPLE(h, "lockstep_colo_devstate_bytes_total", "100000");
    ASSERT_SAMPLE(h, "lockstep_colo_output_held_bytes", "5");
    ASSERT_SAMPLE(h, "lockstep_colo_output_released_bytes_total", "200");
    ASSERT_SAMPLE(h, "lockstep_colo_ram_pages_per_checkpoint_count", "100");
    /* 13 plain samples, 4 per phase, RAM: 1 counter + 2 summaries of 4 */
    g_assert_cmpuint(g_hash_table_size(h), ==,
                     13 + 4 * COLO_PHASE_COUNT + 1 + 2 * 4);
    g_hash_table_unref(h);
    colo_stats_free(st);
}

/* RAM figures: per-checkpoint pages and bytes (a full first checkpoint of
   4096 pages, then 1..99 dirty pages), in the summary, the status, the
   record line and the Prometheus text. */
static void test_ram(void)
{
    ColoStats *st = colo_stats_new(0);
    ColoStatsSummary s;
    g_autofree char *text = NULL, *line = NULL;
    ColoStatusInfo info = {.role = "primary", .state = "protected"};
    json_t *o;
    GHashTable *h;

    for (uint64_t i = 0; i < 100; i++) {
        ColoCheckpointRecord r = ok_record(i + 1, 10);
        r.ram_full = i == 0;
        r.ram_pages = i == 0 ? 4096 : (i * 37) % 99 + 1;
        r.ram_bytes = r.ram_pages * 4104;
        colo_stats_add(st, &r);
    }
    colo_stats_summary(st, &s);
    g_assert_cmpuint(s.ram_full, ==, 1);
    g_assert_cmpuint(s.ram_pages_per.count, ==, 100);
    g_assert_cmpuint(s.ram_pages_per.p50, ==, 50);
    g_assert_cmpuint(s.ram_pages_per.p99, ==, 99);
    g_assert_cmpuint(s.ram_pages_per.max, ==, 4096);
    g_assert_cmpuint(s.ram_pages, ==, 4096 + 99 * 50);
    g_assert_cmpuint(s.ram_bytes_per.p50, ==, 50 * 4104);
    g_assert_cmpuint(s.ram_pages_per.sum, ==, s.ram_pages);
    o = colo_stats_status_json(st, &info);
    g_assert_cmpint(json_integer_value(json_object_get(o, "ram-pages-p50")), ==,
                    50);
    g_assert_cmpint(
        json_integer_value(json_object_get(o, "ram-full-checkpoints")), ==, 1);
    g_assert_cmpint(json_integer_value(json_object_get(o, "ram-pages")), ==,
                    4096 + 99 * 50);
    json_decref(o);
    o = colo_stats_summary_json(st);
    g_assert_cmpint(json_integer_value(json_object_get(
                        json_object_get(o, "ram_pages_per_checkpoint"), "p99")),
                    ==, 99);
    json_decref(o);
    text = colo_stats_prometheus(st);
    h = prom_parse(text);
    ASSERT_SAMPLE(h, "lockstep_colo_ram_pages_per_checkpoint{quantile=\"0.5\"}",
                  "50");
    ASSERT_SAMPLE(h, "lockstep_colo_ram_full_checkpoints_total", "1");
    g_hash_table_unref(h);
    ColoCheckpointRecord r = ok_record(1, 1);
    r.ram_full = true;
    o = colo_stats_record_json(&r);
    line = json_dumps(o, JSON_COMPACT);
    g_assert_nonnull(strstr(line, "\"ram_full\":true"));
    json_decref(o);
    colo_stats_free(st);
}

static void test_prometheus_empty(void)
{
    ColoStats *st = colo_stats_new(0);
    g_autofree char *text = colo_stats_prometheus(st);
    GHashTable *h = prom_parse(text);

    ASSERT_SAMPLE(h, "lockstep_colo_pause_seconds{quantile=\"0.99\"}", "NaN");
    ASSERT_SAMPLE(h, "lockstep_colo_pause_seconds_count", "0");
    ASSERT_SAMPLE(h, "lockstep_colo_checkpoints_total", "0");
    g_hash_table_unref(h);
    colo_stats_free(st);
}

/* The checker itself must be able to say no. */
static void test_checker_rejects(void)
{
    static const char *const bad[] = {
        "# HELP a x\n# TYPE a gauge\na 1",              /* no final \n */
        "a 1\n",                                        /* no TYPE */
        "# HELP a x\n# TYPE a gauge\na one\n",          /* value */
        "# HELP a x\n# TYPE a gauge\n1a 1\n",           /* name */
        "# HELP a x\n# TYPE a gauge\na{b=\"c} 1\n",     /* label */
        "# HELP a x\n# TYPE a gauge\na{b=\"\\x\"} 1\n", /* escape */
        "# HELP a x\n# TYPE a gauge\na 1\n# TYPE a gauge\n",
        "# HELP a x\n# TYPE a summary\na 1\n", /* no quantile */
        ("# HELP a x\n# TYPE a gauge\n# HELP b x\n# TYPE b gauge\n"
         "a{x=\"1\"} 1\nb 1\na{x=\"2\"} 1\n"),    /* split group */
        "# HELP a x\n# TYPE a gauge\na 1\na 2\n", /* duplicate */
        "# HELP a x\n# TYPE a wrong\na 1\n",      /* type */
    };
    const char *why;

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_null(prom_check(bad[i], &why));
        g_assert_nonnull(why);
    }
    GHashTable *h = prom_check("# HELP a x\n# TYPE a summary\n"
                               "a{quantile=\"0.5\"} 1e-3\na_sum 2\na_count 3\n"
                               "# free comment\n\n",
                               &why);
    g_assert_nonnull(h);
    g_hash_table_unref(h);
}

/* ------------------------------------------------- metrics listener */

static int http_connect(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

/*
 * Reads until the server closes, running the default main context (the
 * server's). Returns what came, or NULL if the server did not close
 * within WAIT_US.
 */
static char *http_read_all(int fd)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_US;
    GString *got = g_string_new(NULL);
    char buf[4096];

    while (g_get_monotonic_time() < deadline) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            g_string_append_len(got, buf, n);
        } else if (n == 0 || errno == ECONNRESET) {
            close(fd);
            return g_string_free(got, FALSE);
        } else {
            g_main_context_iteration(NULL, FALSE);
            g_usleep(500);
        }
    }
    close(fd);
    g_string_free(got, TRUE);
    return NULL;
}

static char *http_exchange(int port, const char *req, size_t len)
{
    int fd = http_connect(port);

    g_assert_cmpint(send(fd, req, len, MSG_NOSIGNAL), ==, (ssize_t)len);
    return http_read_all(fd);
}

static char *http_get(int port, const char *req)
{
    return http_exchange(port, req, strlen(req));
}

static ColoMetricsServer *start_server(ColoStats *st)
{
    g_autoptr(GError) err = NULL;
    ColoMetricsServer *srv = colo_metrics_server_new(
        "tcp:127.0.0.1:0", NULL, colo_stats_render_metrics, st, &err);

    g_assert_no_error(err);
    g_assert_cmpint(colo_metrics_server_port(srv), >, 0);
    return srv;
}

/* Runs pending callbacks (the server's reaper) before a leak check. */
static void drain_context(void)
{
    while (g_main_context_iteration(NULL, FALSE)) {
    }
}

static void test_http(void)
{
    ColoStats *st = colo_stats_new(0);
    ColoMetricsServer *srv;
    g_autofree char *want = NULL;
    g_autofree char *head = NULL;
    g_autofree char *r1 = NULL, *r2 = NULL;
    g_autoptr(GError) err = NULL;
    const char *body;

    g_assert_null(colo_metrics_server_new("unix:/tmp/x.sock", NULL,
                                          colo_stats_render_metrics, st, &err));
    g_clear_error(&err);
    srv = start_server(st);
    add_scrambled(st, 10);
    want = colo_stats_prometheus(st);
    r1 = http_get(colo_metrics_server_port(srv),
                  "GET /metrics HTTP/1.0\r\n\r\n");
    g_assert_nonnull(r1);
    body = strstr(r1, "\r\n\r\n");
    g_assert_nonnull(body);
    head = g_strndup(r1, body - r1);
    g_assert_true(g_str_has_prefix(head, "HTTP/1.0 200 OK\r\n"));
    g_assert_nonnull(strstr(
        head, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8"));
    g_autofree char *clen =
        g_strdup_printf("\r\nContent-Length: %zu", strlen(want));
    g_assert_nonnull(strstr(head, clen));
    g_assert_cmpstr(body + 4, ==, want);
    g_hash_table_unref(prom_parse(body + 4));
    r2 = http_get(colo_metrics_server_port(srv),
                  "GET /metrics?x=1 HTTP/1.1\r\nHost: localhost\r\n"
                  "Accept: */*\r\n\r\n");
    g_assert_true(g_str_has_prefix(r2, "HTTP/1.0 200 OK\r\n"));
    colo_metrics_server_free(srv);
    drain_context();
    colo_stats_free(st);
}

static void expect_status(int port, const char *req, size_t len,
                          const char *status)
{
    g_autofree char *r = http_exchange(port, req, len);

    g_assert_nonnull(r);
    if (!g_str_has_prefix(r, status)) {
        g_test_message("got: %.80s", r);
    }
    g_assert_true(g_str_has_prefix(r, status));
}

static void test_http_bad(void)
{
    ColoStats *st = colo_stats_new(0);
    ColoMetricsServer *srv = start_server(st);
    int port = colo_metrics_server_port(srv);
    g_autofree char *big = g_strnfill(COLO_METRICS_MAX_REQUEST + 1000, 'A');
    static const char nul[] = "GET /metrics\0 HTTP/1.0\r\n\r\n";

#define EXPECT(req, status) expect_status(port, req, strlen(req), status)
    EXPECT("GET / HTTP/1.0\r\n\r\n", "HTTP/1.0 404 Not Found\r\n");
    EXPECT("GET /metricsX HTTP/1.0\r\n\r\n", "HTTP/1.0 404 ");
    EXPECT("POST /metrics HTTP/1.0\r\n\r\n", "HTTP/1.0 405 ");
    EXPECT("hello\r\n\r\n", "HTTP/1.0 400 ");
    EXPECT("GET /metrics\r\n\r\n", "HTTP/1.0 400 ");
    EXPECT("GET /metrics HTTP/2.0\r\n\r\n", "HTTP/1.0 400 ");
    EXPECT("GET metrics HTTP/1.0\r\n\r\n", "HTTP/1.0 400 ");
    EXPECT("\x01\x02\xff\xfe\r\n\r\n", "HTTP/1.0 400 ");
    EXPECT(big, "HTTP/1.0 431 ");
#undef EXPECT
    expect_status(port, nul, sizeof(nul) - 1, "HTTP/1.0 400 ");
    /* Still serving after all that. */
    expect_status(port, "GET /metrics HTTP/1.0\n\n", 23, "HTTP/1.0 200 ");
    colo_metrics_server_free(srv);
    drain_context();
    colo_stats_free(st);
}

static void test_http_slow(void)
{
    ColoStats *st = colo_stats_new(0);
    ColoMetricsServer *srv = start_server(st);
    int port = colo_metrics_server_port(srv);
    int slow = http_connect(port);
    int silent = http_connect(port);
    g_autofree char *r = NULL;

    /* Unfinished and silent clients do not hold up others. */
    g_assert_cmpint(send(slow, "GET /metr", 9, 0), ==, 9);
    expect_status(port, "GET /metrics HTTP/1.0\r\n\r\n", 25, "HTTP/1.0 200 ");
    close(slow);
    close(silent);
    /* A client that never finishes is closed, unanswered, by the timer. */
    colo_metrics_server_set_timeout(srv, 300);
    slow = http_connect(port);
    g_assert_cmpint(send(slow, "GET /metrics HTTP/1.0\r\n", 23, 0), ==, 23);
    r = http_read_all(slow);
    g_assert_nonnull(r);
    g_assert_cmpstr(r, ==, "");
    colo_metrics_server_free(srv);
    drain_context();
    colo_stats_free(st);
}

static void test_http_max_clients(void)
{
    ColoStats *st = colo_stats_new(0);
    ColoMetricsServer *srv = start_server(st);
    int port = colo_metrics_server_port(srv);
    int idle[COLO_METRICS_MAX_CLIENTS];
    g_autofree char *r = NULL;

    for (int i = 0; i < COLO_METRICS_MAX_CLIENTS; i++) {
        idle[i] = http_connect(port);
        g_main_context_iteration(NULL, FALSE);
    }
    drain_context();
    /* One more is closed at once, unanswered. */
    r = http_get(port, "GET /metrics HTTP/1.0\r\n\r\n");
    g_assert_cmpstr(r, ==, "");
    for (int i = 0; i < COLO_METRICS_MAX_CLIENTS; i++) {
        close(idle[i]);
    }
    drain_context(); /* the server sees the closes and frees the slots */
    expect_status(port, "GET /metrics HTTP/1.0\r\n\r\n", 25, "HTTP/1.0 200 ");
    colo_metrics_server_free(srv);
    drain_context();
    colo_stats_free(st);
}

/* Out of fds: the server pauses accepting instead of spinning on a
   listening fd that stays readable, and recovers. */
static void test_http_out_of_fds(void)
{
    ColoStats *st = colo_stats_new(0);
    ColoMetricsServer *srv = start_server(st);
    int port = colo_metrics_server_port(srv);
    struct rlimit old, rl;
    g_autofree char *r = NULL;
    int c;

    drain_context();
    c = http_connect(port); /* the lowest free fd: none free below it */
    g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &old), ==, 0);
    rl = old;
    rl.rlim_cur = c + 1;
    g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &rl), ==, 0);
    g_assert_true(g_main_context_iteration(NULL, FALSE)); /* EMFILE */
    for (int i = 0; i < 3; i++) {
        g_assert_false(g_main_context_iteration(NULL, FALSE));
    }
    g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &old), ==, 0);
    g_assert_cmpint(send(c, "GET /metrics HTTP/1.0\r\n\r\n", 25, 0), ==, 25);
    r = http_read_all(c);
    g_assert_nonnull(r);
    g_assert_true(g_str_has_prefix(r, "HTTP/1.0 200 "));
    colo_metrics_server_free(srv);
    drain_context();
    colo_stats_free(st);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/colo/stats/percentiles", test_percentiles);
    g_test_add_func("/colo/stats/window", test_window);
    g_test_add_func("/colo/stats/ram", test_ram);
    g_test_add_func("/colo/stats/percentiles-random", test_percentiles_random);
    g_test_add_func("/colo/stats/percentiles-kept", test_percentiles_kept);
    g_test_add_func("/colo/stats/failures", test_failures);
    g_test_add_func("/colo/stats/json-lines", test_json_lines);
    g_test_add_func("/colo/stats/summary-shapes", test_summary_shapes);
    g_test_add_func("/colo/stats/prometheus", test_prometheus);
    g_test_add_func("/colo/stats/prometheus-empty", test_prometheus_empty);
    g_test_add_func("/colo/stats/checker-rejects", test_checker_rejects);
    g_test_add_func("/colo/stats/http", test_http);
    g_test_add_func("/colo/stats/http-bad-requests", test_http_bad);
    g_test_add_func("/colo/stats/http-slow-client", test_http_slow);
    g_test_add_func("/colo/stats/http-max-clients", test_http_max_clients);
    g_test_add_func("/colo/stats/http-out-of-fds", test_http_out_of_fds);
    return g_test_run();
}
