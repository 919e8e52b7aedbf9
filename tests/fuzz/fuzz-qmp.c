/*
 * Fuzz target for QMP input: the bytes go through the framer (fed in two
 * parts, split at a point taken from the first byte, so values that span
 * reads are exercised) and every resulting value through the dispatcher
 * with a small dummy command table (schemas of every argument type, a
 * handler that fails, the fd commands, the built-ins). Every reply is
 * serialised. Every parsed value is checked for the parser's invariant
 * that no string or key holds a NUL byte (U+0000 is kept as C0 80, so C
 * consumers such as file names never see a string cut short). A crash,
 * an abort or a sanitizer report is the failure.
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "qmp/fds.h"
#include "qmp/json-stream.h"
#include "qmp/qmp.h"

static json_t *fuzz_qmp_echo(json_t *args, QmpSession *s, void *opaque,
                             GError **errp)
{
    return json_incref(args);
}

static json_t *fuzz_qmp_fail(json_t *args, QmpSession *s, void *opaque,
                             GError **errp)
{
    g_set_error(errp, LS_ERROR, LS_ERROR_DEVICE_NOT_ACTIVE, "no: %s",
                json_string_value(json_object_get(args, "s")));
    return NULL;
}

static const QmpArg fuzz_qmp_args[] = {
    {"s", QMP_ARG_STR, false},   {"b", QMP_ARG_BOOL, true},
    {"i", QMP_ARG_INT, true},    {"n", QMP_ARG_NUMBER, true},
    {"o", QMP_ARG_OBJECT, true}, {"a", QMP_ARG_ARRAY, true},
    {"x", QMP_ARG_ANY, true},    {NULL},
};

static void fuzz_qmp_check_bytes(const char *s, size_t len)
{
    if (memchr(s, '\0', len)) {
        fprintf(stderr, "fuzz-qmp: a parsed string holds a NUL byte\n");
        abort();
    }
}

static void fuzz_qmp_check_value(json_t *v)
{
    const char *key;
    size_t key_len;
    json_t *m;
    size_t i;

    if (json_is_string(v)) {
        fuzz_qmp_check_bytes(json_string_value(v), json_string_length(v));
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m)
        {
            fuzz_qmp_check_value(m);
        }
    } else if (json_is_object(v)) {
        json_object_keylen_foreach(v, key, key_len, m)
        {
            fuzz_qmp_check_bytes(key, key_len);
            fuzz_qmp_check_value(m);
        }
    }
}

static void fuzz_qmp_drain(QmpCommands *cmds, QmpJsonStream *st)
{
    json_t *v;
    GError *err = NULL;

    while (qmp_json_stream_next(st, &v, &err)) {
        json_t *rsp;
        if (v) {
            fuzz_qmp_check_value(v);
        }
        rsp = v ? qmp_dispatch(cmds, NULL, v) : qmp_error_reply(err, NULL);
        g_free(qmp_json_dumps(rsp));
        json_decref(rsp);
        json_decref(v);
        g_clear_error(&err);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    QmpCommands *cmds = qmp_commands_new();
    QmpJsonStream *st = qmp_json_stream_new();
    size_t cut = size ? data[0] % (size + 1) : 0;

    qmp_fds_register(cmds);
    qmp_commands_add(cmds, "echo", fuzz_qmp_echo, fuzz_qmp_args, 0, NULL);
    qmp_commands_add(cmds, "fail", fuzz_qmp_fail, fuzz_qmp_args, 0, NULL);
    qmp_commands_add(cmds, "free", fuzz_qmp_echo, NULL, QMP_CMD_NO_ARG_CHECK,
                     NULL);
    qmp_json_stream_feed(st, data, cut);
    fuzz_qmp_drain(cmds, st);
    qmp_json_stream_feed(st, data + cut, size - cut);
    fuzz_qmp_drain(cmds, st);
    qmp_json_stream_feed(st, "\n", 1);
    fuzz_qmp_drain(cmds, st);
    qmp_json_stream_free(st);
    qmp_commands_free(cmds);
    return 0;
}
