/*
 * The dispatcher, session-less (negotiated): envelope and argument error
 * texts byte for byte as QEMU 7.2 writes them (transcript S0 and replies
 * recorded from qemu-system-x86_64 7.2), reply key order, id echo for any
 * JSON type, handler errors and their classes, query-commands; and every
 * request of tests/fixtures/qemu-7.2/qmp-texts.txt (recorded from QEMU
 * 7.2 by scripts/record-qmp-texts: numbers beyond int64, U+0000,
 * noncharacters) replayed with QEMU's reply compared byte for byte.
 */
#include <string.h>

#include "base/error.h"
#include "qmp/fds.h"
#include "qmp/json-stream.h"
#include "qmp/qmp.h"

static json_t *cmd_ok(json_t *args, QmpSession *s, void *opaque, GError **errp)
{
    return json_pack("{sO}", "args", args);
}

static json_t *cmd_fail(json_t *args, QmpSession *s, void *opaque,
                        GError **errp)
{
    g_set_error(errp, LS_ERROR, LS_ERROR_DEVICE_NOT_FOUND,
                "Device 'x' not found");
    return NULL;
}

static const QmpArg save_args[] = {
    {"filename", QMP_ARG_STR, false},
    {"live", QMP_ARG_BOOL, true},
    {NULL},
};

static const QmpArg typed_args[] = {
    {"i", QMP_ARG_INT, true},    {"n", QMP_ARG_NUMBER, true},
    {"o", QMP_ARG_OBJECT, true}, {"a", QMP_ARG_ARRAY, true},
    {"x", QMP_ARG_ANY, true},    {NULL},
};

static QmpCommands *make_cmds(void)
{
    QmpCommands *cmds = qmp_commands_new();

    qmp_commands_add(cmds, "xen-save-devices-state", cmd_ok, save_args, 0,
                     NULL);
    qmp_commands_add(cmds, "typed", cmd_ok, typed_args, 0, NULL);
    qmp_commands_add(cmds, "noargs", cmd_ok, NULL, 0, NULL);
    qmp_commands_add(cmds, "free", cmd_ok, NULL, QMP_CMD_NO_ARG_CHECK, NULL);
    qmp_commands_add(cmds, "fail", cmd_fail, NULL, 0, NULL);
    return cmds;
}

/* Parses `req` with the framer, dispatches, and compares the reply text. */
static void check(QmpCommands *cmds, const char *req, const char *expect)
{
    QmpJsonStream *st = qmp_json_stream_new();
    json_t *v = NULL;
    GError *err = NULL;
    json_t *rsp;
    g_autofree char *text = NULL;

    qmp_json_stream_feed(st, req, strlen(req));
    qmp_json_stream_feed(st, "\n", 1);
    g_assert_true(qmp_json_stream_next(st, &v, &err));
    rsp = v ? qmp_dispatch(cmds, NULL, v) : qmp_error_reply(err, NULL);
    text = qmp_json_dumps(rsp);
    g_assert_cmpstr(text, ==, expect);
    json_decref(rsp);
    json_decref(v);
    g_clear_error(&err);
    qmp_json_stream_free(st);
}

#define GEN(d) "{\"error\": {\"class\": \"GenericError\", \"desc\": \"" d "\"}}"
#define GEN_ID(id, d)                                                          \
    "{\"id\": " id ", \"error\": {\"class\": \"GenericError\", \"desc\": \"" d \
    "\"}}"

static void test_envelope(void)
{
    QmpCommands *cmds = make_cmds();

    check(cmds, "[1,2]", GEN("QMP input must be a JSON object"));
    check(cmds, "\"abc\"", GEN("QMP input must be a JSON object"));
    check(cmds, "{\"arguments\": {}}", GEN("QMP input lacks member 'execute'"));
    check(cmds, "{\"id\": 1}", GEN_ID("1", "QMP input lacks member 'execute'"));
    check(cmds, "{\"execute\": 1, \"id\": 7}",
          GEN_ID("7", "QMP input member 'execute' must be a string"));
    check(cmds, "{\"execute\": \"noargs\", \"arguments\": [], \"id\": 1}",
          GEN_ID("1", "QMP input member 'arguments' must be an object"));
    check(cmds, "{\"execute\": \"noargs\", \"arguments\": null}",
          GEN("QMP input member 'arguments' must be an object"));
    check(cmds, "{\"arguments\": 5, \"execute\": \"foo\", \"id\": 1}",
          GEN_ID("1", "QMP input member 'arguments' must be an object"));
    check(cmds, "{\"execute\": \"foo\", \"bogus\": 1, \"id\": 1}",
          GEN_ID("1", "QMP input member 'bogus' is unexpected"));
    check(cmds, "{\"bogus\": 1, \"execute\": 3, \"id\": 1}",
          GEN_ID("1", "QMP input member 'bogus' is unexpected"));
    check(cmds, "{\"exec-oob\": \"noargs\", \"id\": 1}",
          GEN_ID("1", "QMP input member 'exec-oob' is unexpected"));
    check(cmds, "{\"execute\": \"no-such-command\"}",
          "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
          "\"The command no-such-command has not been found\"}}");
    check(cmds, "{\"execute\": }", GEN("JSON parse error, expecting value"));
    qmp_commands_free(cmds);
}

static void test_arguments(void)
{
    QmpCommands *cmds = make_cmds();

    check(cmds, "{\"execute\": \"xen-save-devices-state\"}",
          GEN("Parameter 'filename' is missing"));
    check(cmds,
          "{\"execute\": \"xen-save-devices-state\", "
          "\"arguments\": {\"filename\": 5}}",
          GEN("Invalid parameter type for 'filename', expected: string"));
    check(cmds,
          "{\"execute\": \"xen-save-devices-state\", \"arguments\": "
          "{\"filename\": \"x.bin\", \"live\": \"yes\"}}",
          GEN("Invalid parameter type for 'live', expected: boolean"));
    check(cmds,
          "{\"execute\": \"xen-save-devices-state\", \"arguments\": "
          "{\"filename\": \"x.bin\", \"bogus\": 1}}",
          GEN("Parameter 'bogus' is unexpected"));
    check(cmds,
          "{\"execute\": \"xen-save-devices-state\", \"arguments\": "
          "{\"filename\": null}}",
          GEN("Invalid parameter type for 'filename', expected: string"));
    check(cmds, "{\"execute\": \"typed\", \"arguments\": {\"i\": 1.5}}",
          GEN("Invalid parameter type for 'i', expected: integer"));
    check(cmds, "{\"execute\": \"typed\", \"arguments\": {\"i\": \"1\"}}",
          GEN("Invalid parameter type for 'i', expected: integer"));
    check(cmds, "{\"execute\": \"typed\", \"arguments\": {\"n\": true}}",
          GEN("Invalid parameter type for 'n', expected: number"));
    check(cmds, "{\"execute\": \"typed\", \"arguments\": {\"o\": []}}",
          GEN("Invalid parameter type for 'o', expected: object"));
    check(cmds, "{\"execute\": \"typed\", \"arguments\": {\"a\": {}}}",
          GEN("Invalid parameter type for 'a', expected: array"));
    check(cmds, "{\"execute\": \"noargs\", \"arguments\": {\"x\": 1}}",
          GEN("Parameter 'x' is unexpected"));
    check(cmds,
          "{\"execute\": \"typed\", \"arguments\": {\"i\": -3, "
          "\"n\": 2.5, \"o\": {}, \"a\": [1], \"x\": null}}",
          "{\"return\": {\"args\": {\"i\": -3, \"n\": 2.5, \"o\": {}, "
          "\"a\": [1], \"x\": null}}}");
    check(cmds, "{\"execute\": \"free\", \"arguments\": {\"any\": 1}}",
          "{\"return\": {\"args\": {\"any\": 1}}}");
    qmp_commands_free(cmds);
}

static void test_id_echo(void)
{
    QmpCommands *cmds = make_cmds();

    check(cmds, "{\"execute\": \"noargs\", \"id\": \"abc-1\"}",
          "{\"return\": {\"args\": {}}, \"id\": \"abc-1\"}");
    check(cmds, "{\"execute\": \"noargs\", \"id\": 42}",
          "{\"return\": {\"args\": {}}, \"id\": 42}");
    check(cmds, "{\"execute\": \"noargs\", \"id\": 3.5}",
          "{\"return\": {\"args\": {}}, \"id\": 3.5}");
    check(cmds, "{\"execute\": \"noargs\", \"id\": {\"a\": [1, \"x\"]}}",
          "{\"return\": {\"args\": {}}, \"id\": {\"a\": [1, \"x\"]}}");
    check(cmds, "{'execute': 'noargs', 'id': [true, false, null]}",
          "{\"return\": {\"args\": {}}, \"id\": [true, false, null]}");
    check(cmds, "{\"execute\": \"nope\", \"id\": \"q\"}",
          "{\"id\": \"q\", \"error\": {\"class\": \"CommandNotFound\", "
          "\"desc\": \"The command nope has not been found\"}}");
    qmp_commands_free(cmds);
}

/* Wide numbers (integers above INT64_MAX, +-inf) are numbers, not
   integers, and never objects. */
static void test_wide_numbers(void)
{
    QmpCommands *cmds = make_cmds();

    check(cmds, "{\"execute\": \"typed\", \"arguments\": {\"n\": 1e400}}",
          "{\"return\": {\"args\": {\"n\": inf}}}");
    check(cmds,
          "{\"execute\": \"typed\", \"arguments\": "
          "{\"n\": 18446744073709551615}}",
          "{\"return\": {\"args\": {\"n\": 18446744073709551615}}}");
    check(cmds,
          "{\"execute\": \"typed\", \"arguments\": "
          "{\"i\": 9223372036854775808}}",
          GEN("Invalid parameter type for 'i', expected: integer"));
    check(cmds, "{\"execute\": \"typed\", \"arguments\": {\"o\": -1e400}}",
          GEN("Invalid parameter type for 'o', expected: object"));
    check(cmds, "{\"execute\": \"noargs\", \"arguments\": 1e999, \"id\": 2}",
          GEN_ID("2", "QMP input member 'arguments' must be an object"));
    check(cmds, "1e400", GEN("QMP input must be a JSON object"));
    check(cmds, "18446744073709551615", GEN("QMP input must be a JSON object"));
    qmp_commands_free(cmds);
}

static void test_handler_error_and_builtins(void)
{
    QmpCommands *cmds = make_cmds();

    check(cmds, "{\"execute\": \"fail\", \"id\": 1}",
          "{\"id\": 1, \"error\": {\"class\": \"DeviceNotFound\", "
          "\"desc\": \"Device 'x' not found\"}}");
    /* Session-less dispatch counts as negotiated. */
    check(cmds, "{\"execute\": \"qmp_capabilities\"}",
          "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
          "\"Capabilities negotiation is already complete, command "
          "ignored\"}}");
    check(cmds,
          "{\"execute\": \"qmp_capabilities\", "
          "\"arguments\": {\"enable\": 5}}",
          GEN("Invalid parameter type for 'enable', expected: array"));
    check(cmds,
          "{\"execute\": \"qmp_capabilities\", "
          "\"arguments\": {\"enable\": [5]}}",
          GEN("Invalid parameter type for 'enable[0]', expected: string"));
    check(cmds,
          "{\"execute\": \"qmp_capabilities\", "
          "\"arguments\": {\"enable\": [\"foo\"]}}",
          GEN("Parameter 'null' does not accept value 'foo'"));
    check(cmds, "{\"execute\": \"query-commands\"}",
          "{\"return\": [{\"name\": \"qmp_capabilities\"}, "
          "{\"name\": \"query-commands\"}, "
          "{\"name\": \"xen-save-devices-state\"}, {\"name\": \"typed\"}, "
          "{\"name\": \"noargs\"}, {\"name\": \"free\"}, "
          "{\"name\": \"fail\"}]}");
    g_assert_true(qmp_commands_has(cmds, "typed"));
    g_assert_false(qmp_commands_has(cmds, "getfd"));
    qmp_fds_register(cmds);
    g_assert_true(qmp_commands_has(cmds, "getfd"));
    check(cmds, "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"x\"}}",
          GEN("No file descriptor supplied via SCM_RIGHTS"));
    check(cmds,
          "{\"execute\": \"add-fd\", \"arguments\": {\"fdset-id\": "
          "\"x\"}}",
          GEN("Invalid parameter type for 'fdset-id', expected: integer"));
    qmp_commands_free(cmds);
}

static json_t *texts_query_status(json_t *args, QmpSession *s, void *opaque,
                                  GError **errp)
{
    return json_pack("{sssbsb}", "status", "prelaunch", "singlestep", 0,
                     "running", 0);
}

/* Records the file name it is given, as the fixture writes it: bytes
   outside 0x21..0x7e and the backslash as \xNN. */
static json_t *texts_save(json_t *args, QmpSession *s, void *opaque,
                          GError **errp)
{
    GString *names = opaque;
    json_t *f = json_object_get(args, "filename");
    const unsigned char *p = (const unsigned char *)json_string_value(f);
    size_t len = json_string_length(f);

    g_string_append(names, "= ");
    for (size_t i = 0; i < len; i++) {
        if (p[i] >= 0x21 && p[i] <= 0x7e && p[i] != '\\') {
            g_string_append_c(names, (char)p[i]);
        } else {
            g_string_append_printf(names, "\\x%02x", p[i]);
        }
    }
    g_string_append_c(names, '\n');
    return json_object();
}

/* One request of the fixture: dispatch every result the stream gives for
   it, then compare the replies ("< " lines) and the files the save stub
   was asked to create ("= " lines) with QEMU's record. */
static void texts_run(QmpCommands *cmds, GString *names, const char *req,
                      const char *expect)
{
    QmpJsonStream *st = qmp_json_stream_new();
    g_autoptr(GString) got = g_string_new(NULL);
    json_t *v = NULL;
    GError *err = NULL;

    g_string_truncate(names, 0);
    qmp_json_stream_feed(st, req, strlen(req));
    qmp_json_stream_feed(st, "\n", 1);
    while (qmp_json_stream_next(st, &v, &err)) {
        json_t *rsp =
            v ? qmp_dispatch(cmds, NULL, v) : qmp_error_reply(err, NULL);
        g_autofree char *text = qmp_json_dumps(rsp);
        g_string_append_printf(got, "< %s\n", text);
        json_decref(rsp);
        json_decref(v);
        g_clear_error(&err);
    }
    g_string_append(got, names->str);
    if (strcmp(got->str, expect)) {
        g_printerr("request: %s\nqemu:\n%sours:\n%s", req, expect, got->str);
    }
    g_assert_cmpstr(got->str, ==, expect);
    g_assert_false(qmp_json_stream_pending(st));
    qmp_json_stream_free(st);
}

static void test_qemu_texts(void)
{
    g_autofree char *path =
        g_build_filename(g_getenv("LOCKSTEP_SRC") ?: "..", "tests", "fixtures",
                         "qemu-7.2", "qmp-texts.txt", NULL);
    g_autofree char *data = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(GString) names = g_string_new(NULL);
    g_autoptr(GString) expect = g_string_new(NULL);
    QmpCommands *cmds = qmp_commands_new();
    unsigned n = 0;

    g_assert_true(g_file_get_contents(path, &data, NULL, NULL));
    qmp_fds_register(cmds);
    qmp_commands_add(cmds, "query-status", texts_query_status, NULL, 0, NULL);
    qmp_commands_add(cmds, "xen-save-devices-state", texts_save, save_args, 0,
                     names);
    lines = g_strsplit(data, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        guint j = i + 1;
        if (!g_str_has_prefix(lines[i], "> ")) {
            continue;
        }
        g_string_truncate(expect, 0);
        for (; lines[j] && (g_str_has_prefix(lines[j], "< ") ||
                            g_str_has_prefix(lines[j], "= "));
             j++) {
            g_string_append_printf(expect, "%s\n", lines[j]);
        }
        g_assert_true(g_str_has_prefix(expect->str, "< "));
        texts_run(cmds, names, lines[i] + 2, expect->str);
        n++;
    }
    g_assert_cmpuint(n, >=, 50);
    qmp_commands_free(cmds);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qmp/dispatch/envelope", test_envelope);
    g_test_add_func("/qmp/dispatch/arguments", test_arguments);
    g_test_add_func("/qmp/dispatch/id-echo", test_id_echo);
    g_test_add_func("/qmp/dispatch/errors-builtins",
                    test_handler_error_and_builtins);
    g_test_add_func("/qmp/dispatch/wide-numbers", test_wide_numbers);
    g_test_add_func("/qmp/dispatch/qemu-texts", test_qemu_texts);
    return g_test_run();
}
