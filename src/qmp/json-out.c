/*
 * QMP output: JSON text exactly as QEMU 7.2's qobject_to_json writes it
 * ("{"a": 1, "b": [true, null]}": ", " and ": " separators, no newlines;
 * strings escape '"', '\\', \b \f \n \r \t by name and every other
 * character outside 0x20..0x7E as \uXXXX in upper-case hex, with
 * surrogate pairs above U+FFFF; '/' is not escaped; reals as "%.17g"),
 * and event objects with QEMU's key order. Strings are read as modified
 * UTF-8 (C0 80 is U+0000, written \u0000); an invalid sequence is written
 * as \uFFFD, one per sequence as QEMU's mod_utf8_codepoint delimits it.
 * Wide numbers (qmp.h) are written as their text.
 *
 * Leaves out: parsing (json-lexer.c, json-parser.c), sockets.
 */
#include "qmp/qmp.h"

#include <stdio.h>
#include <string.h>

#include "qmp/json-internal.h"

static void qmp_dump_value(GString *out, const json_t *v);

static void qmp_dump_unichar(GString *out, gunichar c)
{
    if (c >= 0x10000) {
        c -= 0x10000;
        g_string_append_printf(out, "\\u%04X\\u%04X", 0xD800 + (c >> 10),
                               0xDC00 + (c & 0x3FF));
    } else {
        g_string_append_printf(out, "\\u%04X", c);
    }
}

static const char *qmp_dump_named_escape(unsigned char c)
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    default:
        return NULL;
    }
}

/* Returns the bytes consumed from s (at least 1). */
static size_t qmp_dump_char(GString *out, const char *s, const char *end)
{
    unsigned char c = (unsigned char)*s;
    const char *named = qmp_dump_named_escape(c);
    size_t used;
    int cp;

    if (named) {
        g_string_append(out, named);
        return 1;
    }
    if (c >= 0x20 && c < 0x7F) {
        g_string_append_c(out, (char)c);
        return 1;
    }
    cp = qmp_json_utf8_decode(s, (size_t)(end - s), &used);
    qmp_dump_unichar(out, cp < 0 ? 0xFFFD : (gunichar)cp);
    return MAX(used, 1);
}

static void qmp_dump_string(GString *out, const char *s, size_t len)
{
    const char *end = s + len;

    g_string_append_c(out, '"');
    while (s < end) {
        s += qmp_dump_char(out, s, end);
    }
    g_string_append_c(out, '"');
}

static void qmp_dump_object(GString *out, const json_t *v)
{
    const char *key;
    size_t key_len;
    json_t *val;
    bool first = true;
    const char *wide = qmp_json_wide_text(v);

    if (wide) {
        g_string_append(out, wide);
        return;
    }
    g_string_append_c(out, '{');
    json_object_keylen_foreach((json_t *)v, key, key_len, val)
    {
        if (!first) {
            g_string_append(out, ", ");
        }
        first = false;
        qmp_dump_string(out, key, key_len);
        g_string_append(out, ": ");
        qmp_dump_value(out, val);
    }
    g_string_append_c(out, '}');
}

static void qmp_dump_array(GString *out, const json_t *v)
{
    g_string_append_c(out, '[');
    for (size_t i = 0; i < json_array_size(v); i++) {
        if (i) {
            g_string_append(out, ", ");
        }
        qmp_dump_value(out, json_array_get(v, i));
    }
    g_string_append_c(out, ']');
}

static void qmp_dump_value(GString *out, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        qmp_dump_object(out, v);
        break;
    case JSON_ARRAY:
        qmp_dump_array(out, v);
        break;
    case JSON_STRING:
        qmp_dump_string(out, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        g_string_append_printf(out, "%" JSON_INTEGER_FORMAT,
                               json_integer_value(v));
        break;
    case JSON_REAL:
        g_string_append_printf(out, "%.17g", json_real_value(v));
        break;
    case JSON_TRUE:
        g_string_append(out, "true");
        break;
    case JSON_FALSE:
        g_string_append(out, "false");
        break;
    default:
        g_string_append(out, "null");
        break;
    }
}

json_t *qmp_json_wide_new(const char *text)
{
    json_t *v = json_object();

    json_object_set_new_nocheck(v, QMP_JSON_WIDE_KEY, json_string(text));
    return v;
}

const char *qmp_json_wide_text(const json_t *v)
{
    if (!json_is_object(v) || json_object_size(v) != 1) {
        return NULL;
    }
    return json_string_value(json_object_get(v, QMP_JSON_WIDE_KEY));
}

bool qmp_json_is_plain_object(const json_t *v)
{
    return json_is_object(v) && !qmp_json_wide_text(v);
}

char *qmp_json_dumps(const json_t *v)
{
    GString *out = g_string_new(NULL);

    if (v) {
        qmp_dump_value(out, v);
    } else {
        g_string_append(out, "null");
    }
    return g_string_free(out, FALSE);
}

json_t *qmp_event_new(const char *name, json_t *data)
{
    gint64 now = g_get_real_time();
    json_t *ev = json_object();

    json_object_set_new(
        ev, "timestamp",
        json_pack("{sIsI}", "seconds", (json_int_t)(now / G_USEC_PER_SEC),
                  "microseconds", (json_int_t)(now % G_USEC_PER_SEC)));
    json_object_set_new(ev, "event", json_string(name));
    if (data) {
        json_object_set_new(ev, "data", data);
    }
    return ev;
}
