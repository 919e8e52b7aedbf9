/*
 * QMP framing: values split or merged across feeds, multi-line objects,
 * single quotes, QEMU's parse error texts and resynchronisation, the
 * nesting and size caps (one error, then recovery), and the output format
 * (QEMU's spacing and escapes); how values QEMU keeps and jansson cannot
 * are held (U+0000 as modified UTF-8, wide numbers).
 */
#include <string.h>

#include "base/error.h"
#include "qmp/json-stream.h"
#include "qmp/qmp.h"

/* Feeds `in` and returns every result as text: values through
   qmp_json_dumps, errors as "ERR: message", joined by '\n'. */
static char *feed_all(QmpJsonStream *st, const char *in, size_t len)
{
    GString *out = g_string_new(NULL);
    json_t *v;
    GError *err = NULL;

    qmp_json_stream_feed(st, in, len);
    while (qmp_json_stream_next(st, &v, &err)) {
        if (out->len) {
            g_string_append_c(out, '\n');
        }
        if (v) {
            g_autofree char *s = qmp_json_dumps(v);
            g_string_append(out, s);
            json_decref(v);
        } else {
            g_assert_error(err, LS_ERROR, LS_ERROR_GENERIC);
            g_string_append_printf(out, "ERR: %s", err->message);
            g_clear_error(&err);
        }
    }
    return g_string_free(out, FALSE);
}

static void check(const char *in, const char *expect)
{
    QmpJsonStream *st = qmp_json_stream_new();
    g_autofree char *got = feed_all(st, in, strlen(in));

    g_assert_cmpstr(got, ==, expect);
    qmp_json_stream_free(st);
}

static void test_split_and_merged(void)
{
    const char *msg = "{\"execute\": \"a\", \"id\": [1, {\"x\": null}]}";
    QmpJsonStream *st = qmp_json_stream_new();
    GString *all = g_string_new(NULL);

    /* One byte at a time: only the last byte completes the value. */
    for (size_t i = 0; i < strlen(msg); i++) {
        g_autofree char *got = feed_all(st, msg + i, 1);
        g_assert_cmpint(qmp_json_stream_pending(st), ==, i + 1 < strlen(msg));
        g_string_append(all, got);
    }
    g_assert_cmpstr(all->str, ==, msg);
    g_string_free(all, TRUE);
    qmp_json_stream_free(st);

    check("{\"a\": 1}{\"b\": 2} {\"c\": 3}\r\n[4]",
          "{\"a\": 1}\n{\"b\": 2}\n{\"c\": 3}\n[4]");
}

static void test_multi_line(void)
{
    check("{\n  \"execute\":\n\t\"query-status\",\r\n  \"id\": 7\n}\n",
          "{\"execute\": \"query-status\", \"id\": 7}");
}

static void test_single_quotes(void)
{
    check("{'execute': 'x', 'id': 'it\\'s \"q\"'}",
          "{\"execute\": \"x\", \"id\": \"it's \\\"q\\\"\"}");
    check("[\"a\\'b\", 'c\\\"d']", "[\"a'b\", \"c\\\"d\"]");
}

static void test_scalars_and_numbers(void)
{
    /* A scalar ends only when the next character arrives (QEMU too). */
    check("12", "");
    check("12 ", "12");
    check("[0.1, 1.0, 1e5, -0.0, -9223372036854775808, true, false, null]",
          "[0.10000000000000001, 1, 100000, -0, -9223372036854775808, "
          "true, false, null]");
    check("[1.5e300]", "[1.5000000000000001e+300]");
}

static void test_strings_out(void)
{
    check("[\"a\\/b\\b\\f\\n\\r\\t\\u0001\\u007f\"]",
          "[\"a/b\\b\\f\\n\\r\\t\\u0001\\u007F\"]");
    check("[\"\\u00e9\\ud83d\\ude00\"]", "[\"\\u00E9\\uD83D\\uDE00\"]");
    check("[\"\xc3\xa9\"]", "[\"\\u00E9\"]");
    check("[\"\\u0000x\"]", "[\"\\u0000x\"]");
}

/* Parses one value. */
static json_t *parse_one(const char *in)
{
    QmpJsonStream *st = qmp_json_stream_new();
    json_t *v = NULL;
    GError *err = NULL;

    qmp_json_stream_feed(st, in, strlen(in));
    qmp_json_stream_feed(st, "\n", 1);
    g_assert_true(qmp_json_stream_next(st, &v, &err));
    g_assert_no_error(err);
    qmp_json_stream_free(st);
    return v;
}

/* U+0000 never becomes a NUL byte: a C consumer of the string (a file
   name) sees it whole, as QEMU's does. */
static void test_nul_is_modified_utf8(void)
{
    const char *ins[] = {"\"x\\u0000.evil\"", "\"x\xc0\x80.evil\"",
                         "'x\\u0000.evil'"};

    for (size_t i = 0; i < G_N_ELEMENTS(ins); i++) {
        json_t *v = parse_one(ins[i]);
        g_assert_cmpuint(json_string_length(v), ==, 8);
        g_assert_cmpuint(strlen(json_string_value(v)), ==, 8);
        g_assert_cmpmem(json_string_value(v), 8, "x\xc0\x80.evil", 8);
        json_decref(v);
    }
    /* A key too. */
    check("{\"k\\u0000\": 1}", "{\"k\\u0000\": 1}");
}

/* Invalid sequences (only error texts quoting input bytes reach the
   printer with them) become one U+FFFD per sequence, as QEMU delimits
   them; noncharacters are invalid. */
static void test_out_invalid_utf8(void)
{
    json_t *v = json_stringn_nocheck("\xe2\x82x\xff\xef\xbf\xbe\xc0\x80", 9);
    g_autofree char *s = qmp_json_dumps(v);

    g_assert_cmpstr(s, ==, "\"\\uFFFDx\\uFFFD\\uFFFD\\u0000\"");
    json_decref(v);
}

static void test_wide_numbers(void)
{
    json_t *v = parse_one("18446744073709551615");

    g_assert_cmpstr(qmp_json_wide_text(v), ==, "18446744073709551615");
    g_assert_false(qmp_json_is_plain_object(v));
    json_decref(v);
    v = parse_one("9223372036854775807");
    g_assert_true(json_is_integer(v));
    g_assert_null(qmp_json_wide_text(v));
    json_decref(v);
    v = parse_one("-9223372036854775809");
    g_assert_true(json_is_real(v));
    json_decref(v);
    check("[-1e400, 1e400, 18446744073709551616]",
          "[-inf, inf, 1.8446744073709552e+19]");
    /* A parsed object is never taken for a wide number. */
    v = parse_one("{\"\\u00ff\": \"inf\"}");
    g_assert_null(qmp_json_wide_text(v));
    g_assert_true(qmp_json_is_plain_object(v));
    json_decref(v);
}

static void test_parse_errors(void)
{
    check("{\"execute\": }", "ERR: JSON parse error, expecting value");
    check("}", "ERR: JSON parse error, expecting value");
    check("@", "ERR: JSON parse error, stray '@'");
    check("{\"a\" 1}", "ERR: JSON parse error, missing : in object pair");
    check("{\"a\": 1 \"b\": 2}",
          "ERR: JSON parse error, expected separator in dict");
    check("[1 2]", "ERR: JSON parse error, expected separator in list");
    check("{1: 2}", "ERR: JSON parse error, key is not a string in object");
    check("[1,]", "ERR: JSON parse error, expecting value");
    check("{\"a\":1,\"a\":2}", "ERR: JSON parse error, duplicate key");
    check("[\"\\x\"]",
          "ERR: JSON parse error, invalid escape sequence in string");
    check("[\"\\u00\"]",
          "ERR: JSON parse error, \\u00\" is not a valid Unicode character");
    check("[\"\\ud800\"]",
          "ERR: JSON parse error, \\ud800 is not a valid Unicode character");
    check("[\"\xc3(\"]",
          "ERR: JSON parse error, invalid UTF-8 sequence in string");
    check("{} junk {}",
          "{}\nERR: JSON parse error, invalid keyword 'junk'\n{}");
}

static void test_garbage_recovery(void)
{
    /* After a lexical error QEMU skips to a structural character. */
    check("{\"execute\": @ \"x\"}", "ERR: JSON parse error, stray '@'\n"
                                    "ERR: JSON parse error, expecting value");
    check("[01]", "ERR: JSON parse error, stray '01'\n"
                  "ERR: JSON parse error, expecting value");
    check("{\"a\": \"x\ny\"}\n{\"b\": 1}",
          "ERR: JSON parse error, stray '\"x\n'\n"
          "ERR: JSON parse error, expecting value\n{\"b\": 1}");
    check("\xff{\"a\": 1}", "ERR: JSON parse error, stray '\xff'\n{\"a\": 1}");
}

static void test_nesting_cap(void)
{
    GString *ok = g_string_new(NULL);
    GString *deep = g_string_new(NULL);
    g_autofree char *got = NULL;
    QmpJsonStream *st = qmp_json_stream_new();

    for (int i = 0; i < QMP_MAX_DEPTH; i++) {
        g_string_append_c(ok, '[');
    }
    for (int i = 0; i < QMP_MAX_DEPTH; i++) {
        g_string_append_c(ok, ']');
    }
    got = feed_all(st, ok->str, ok->len);
    g_assert_cmpstr(got, ==, ok->str);
    g_clear_pointer(&got, g_free);

    for (int i = 0; i < QMP_MAX_DEPTH + 10; i++) {
        g_string_append(deep, "{\"a\": [");
    }
    for (int i = 0; i < QMP_MAX_DEPTH + 10; i++) {
        g_string_append(deep, "]}");
    }
    g_string_append(deep, "{\"after\": true}");
    got = feed_all(st, deep->str, deep->len);
    /* One error for the whole value, then the next value parses. */
    g_assert_cmpstr(got, ==,
                    "ERR: JSON nesting depth limit exceeded\n"
                    "{\"after\": true}");
    g_assert_false(qmp_json_stream_pending(st));
    g_string_free(ok, TRUE);
    g_string_free(deep, TRUE);
    qmp_json_stream_free(st);
}

/* An oversized value fails once and its bytes are not all kept. */
static void test_size_cap(void)
{
    QmpJsonStream *st = qmp_json_stream_new();
    size_t big = QMP_MAX_MESSAGE + 4096;
    char *chunk = g_malloc(65536);
    g_autofree char *got = NULL;
    GString *all = g_string_new(NULL);
    const char *head = "{\"execute\": \"a\", \"arguments\": {\"s\": \"";
    const char *tail = "\"}, \"id\": 1}{\"ok\": 1}";

    memset(chunk, 'x', 65536);
    got = feed_all(st, head, strlen(head));
    g_assert_cmpstr(got, ==, "");
    for (size_t done = 0; done < big; done += 65536) {
        g_free(got);
        got = feed_all(st, chunk, 65536);
        g_string_append(all, got);
    }
    g_free(got);
    got = feed_all(st, tail, strlen(tail));
    g_string_append(all, got);
    g_assert_cmpstr(all->str, ==,
                    "ERR: JSON token size limit exceeded\n{\"ok\": 1}");
    /* Many small tokens hit the same cap. */
    g_string_truncate(all, 0);
    g_string_append_c(all, '[');
    while (all->len < QMP_MAX_MESSAGE + 16) {
        g_string_append(all, "1,");
    }
    g_string_append(all, "1]{\"ok\": 2}");
    g_free(got);
    got = feed_all(st, all->str, all->len);
    g_assert_cmpstr(got, ==,
                    "ERR: JSON token size limit exceeded\n{\"ok\": 2}");
    g_string_free(all, TRUE);
    g_free(chunk);
    qmp_json_stream_free(st);
}

static void test_dumps_spacing(void)
{
    json_t *v = json_pack("{s{}s[]s[i,s]so}", "return", "e", "l", 1, "x",
                          "nested", json_pack("{sb}", "k", 1));
    g_autofree char *s = qmp_json_dumps(v);

    g_assert_cmpstr(s, ==,
                    "{\"return\": {}, \"e\": [], \"l\": [1, \"x\"], "
                    "\"nested\": {\"k\": true}}");
    json_decref(v);
}

static void test_event_shape(void)
{
    json_t *ev = qmp_event_new("STOP", NULL);
    g_autofree char *s = qmp_json_dumps(ev);
    json_t *ev2 = qmp_event_new(
        "SHUTDOWN", json_pack("{sbss}", "guest", 0, "reason", "host-qmp-quit"));
    g_autofree char *s2 = qmp_json_dumps(ev2);

    g_assert_true(g_str_has_prefix(s, "{\"timestamp\": {\"seconds\": "));
    g_assert_nonnull(strstr(s, ", \"microseconds\": "));
    g_assert_true(g_str_has_suffix(s, "}, \"event\": \"STOP\"}"));
    g_assert_true(g_str_has_suffix(
        s2, "}, \"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, "
            "\"reason\": \"host-qmp-quit\"}}"));
    json_decref(ev);
    json_decref(ev2);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qmp/stream/split-merged", test_split_and_merged);
    g_test_add_func("/qmp/stream/multi-line", test_multi_line);
    g_test_add_func("/qmp/stream/single-quotes", test_single_quotes);
    g_test_add_func("/qmp/stream/scalars", test_scalars_and_numbers);
    g_test_add_func("/qmp/stream/strings-out", test_strings_out);
    g_test_add_func("/qmp/stream/nul-modified-utf8", test_nul_is_modified_utf8);
    g_test_add_func("/qmp/stream/wide-numbers", test_wide_numbers);
    g_test_add_func("/qmp/out/invalid-utf8", test_out_invalid_utf8);
    g_test_add_func("/qmp/stream/parse-errors", test_parse_errors);
    g_test_add_func("/qmp/stream/garbage-recovery", test_garbage_recovery);
    g_test_add_func("/qmp/stream/nesting-cap", test_nesting_cap);
    g_test_add_func("/qmp/stream/size-cap", test_size_cap);
    g_test_add_func("/qmp/out/spacing", test_dumps_spacing);
    g_test_add_func("/qmp/out/event", test_event_shape);
    return g_test_run();
}
