/*
 * QMP framing, part 2: turns the tokens of one complete message into a
 * jansson value, with QEMU 7.2's json-parser error texts ("JSON parse
 * error, expecting value", "... missing : in object pair", "... invalid
 * keyword 'x'", ...). Single-quoted strings are QEMU's extension; both
 * quote styles accept \' and \". Numbers: integers that fit int64 become
 * jansson integers; others (fractions, exponents, larger integers) become
 * reals, as QEMU keeps them as doubles (except that QEMU keeps integers up
 * to UINT64_MAX exact; those are reals here). Infinite values are clamped
 * to +-DBL_MAX (jansson cannot hold infinities; QEMU echoes "inf").
 *
 * Leaves out: lexing and message splitting (json-lexer.c).
 */
#include "qmp/json-internal.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

typedef struct QmpParser {
    const char *text;
    const QmpJsonToken *toks;
    size_t ntoks;
    size_t pos;
    GError **err;
} QmpParser;

static json_t *qmp_parse_value(QmpParser *p);

static void qmp_parse_error(QmpParser *p, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

static void qmp_parse_error(QmpParser *p, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    if (p->err && *p->err) {
        return;
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(p->err, LS_ERROR, LS_ERROR_GENERIC, "JSON parse error, %s",
                msg);
}

static const QmpJsonToken *qmp_parse_peek(QmpParser *p)
{
    return p->pos < p->ntoks ? &p->toks[p->pos] : NULL;
}

static const QmpJsonToken *qmp_parse_pop(QmpParser *p)
{
    return p->pos < p->ntoks ? &p->toks[p->pos++] : NULL;
}

static int qmp_hex4(const char *s, const char *end)
{
    int v = 0;

    if (end - s < 4) {
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        int d = g_ascii_xdigit_value(s[i]);
        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

/* A \u escape at s (pointing at the backslash; `end` is the token's end,
   the closing quote included). Appends UTF-8 and returns the bytes used,
   or 0 after an error. */
static size_t qmp_parse_uescape(QmpParser *p, GString *out, const char *s,
                                const char *end)
{
    int cp = qmp_hex4(s + 2, end);
    size_t used = 6;
    int span = (int)MIN(6, end - s);

    if (cp >= 0xD800 && cp < 0xDC00 && end - s >= 12 && s[6] == '\\' &&
        s[7] == 'u') {
        int lo = qmp_hex4(s + 8, end);
        if (lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            used = 12;
        }
    }
    if (cp < 0 || (cp >= 0xD800 && cp < 0xE000)) {
        qmp_parse_error(p, "%.*s is not a valid Unicode character", span, s);
        return 0;
    }
    g_string_append_unichar(out, (gunichar)cp);
    return used;
}

/* One escape sequence at s; returns bytes consumed, 0 after an error. */
static size_t qmp_parse_escape(QmpParser *p, GString *out, const char *s,
                               const char *end)
{
    static const char from[] = "\"'\\/bfnrt";
    static const char to[] = "\"'\\/\b\f\n\r\t";
    const char *hit = s[1] ? strchr(from, s[1]) : NULL;

    if (s[1] == 'u') {
        return qmp_parse_uescape(p, out, s, end);
    }
    if (!hit || s + 1 >= end - 1) {
        qmp_parse_error(p, "invalid escape sequence in string");
        return 0;
    }
    g_string_append_c(out, to[hit - from]);
    return 2;
}

static json_t *qmp_parse_string(QmpParser *p, const QmpJsonToken *t)
{
    const char *s = p->text + t->off + 1;
    const char *end = p->text + t->off + t->len; /* after closing quote */
    g_autoptr(GString) out = g_string_sized_new(t->len);

    while (s < end - 1) {
        size_t n;
        if (*s == '\\') {
            n = qmp_parse_escape(p, out, s, end);
        } else if ((unsigned char)*s < 0x80) {
            g_string_append_c(out, *s);
            n = 1;
        } else {
            gunichar c = g_utf8_get_char_validated(s, end - 1 - s);
            n = (c == (gunichar)-1 || c == (gunichar)-2) ? 0 : 1;
            if (!n) {
                qmp_parse_error(p, "invalid UTF-8 sequence in string");
            } else {
                n = g_utf8_next_char(s) - s;
                g_string_append_len(out, s, (gssize)n);
            }
        }
        if (!n) {
            return NULL;
        }
        s += n;
    }
    return json_stringn_nocheck(out->str, out->len);
}

static json_t *qmp_parse_number(QmpParser *p, const QmpJsonToken *t)
{
    const char *s = p->text + t->off;
    double d;

    if (t->type == QMP_TOK_INTEGER) {
        char *end = NULL;
        long long v;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == 0 && end && *end == '\0') {
            return json_integer(v);
        }
    }
    d = g_ascii_strtod(s, NULL);
    if (isinf(d)) {
        d = copysign(DBL_MAX, d);
    }
    return json_real(d);
}

static json_t *qmp_parse_keyword(QmpParser *p, const QmpJsonToken *t)
{
    const char *s = p->text + t->off;

    if (!strcmp(s, "true")) {
        return json_true();
    }
    if (!strcmp(s, "false")) {
        return json_false();
    }
    if (!strcmp(s, "null")) {
        return json_null();
    }
    qmp_parse_error(p, "invalid keyword '%s'", s);
    return NULL;
}

static bool qmp_parse_pair(QmpParser *p, json_t *obj)
{
    const QmpJsonToken *t;
    json_t *key = qmp_parse_value(p);
    json_t *val;
    bool ok = false;

    if (!key) {
        return false;
    }
    if (!json_is_string(key)) {
        qmp_parse_error(p, "key is not a string in object");
        goto out;
    }
    t = qmp_parse_pop(p);
    if (!t || t->type != QMP_TOK_COLON) {
        qmp_parse_error(p, "missing : in object pair");
        goto out;
    }
    val = qmp_parse_value(p);
    if (!val) {
        goto out;
    }
    if (json_object_getn(obj, json_string_value(key),
                         json_string_length(key))) {
        json_decref(val);
        qmp_parse_error(p, "duplicate key");
        goto out;
    }
    ok = json_object_setn_new_nocheck(obj, json_string_value(key),
                                      json_string_length(key), val) == 0;
out:
    json_decref(key);
    return ok;
}

static json_t *qmp_parse_object(QmpParser *p)
{
    json_t *obj = json_object();
    const QmpJsonToken *t = qmp_parse_peek(p);

    if (t && t->type == QMP_TOK_RCURLY) {
        p->pos++;
        return obj;
    }
    for (;;) {
        if (!qmp_parse_pair(p, obj)) {
            break;
        }
        t = qmp_parse_pop(p);
        if (t && t->type == QMP_TOK_RCURLY) {
            return obj;
        }
        if (!t || t->type != QMP_TOK_COMMA) {
            qmp_parse_error(p,
                            t ? "expected separator in dict" : "premature EOI");
            break;
        }
    }
    json_decref(obj);
    return NULL;
}

static json_t *qmp_parse_array(QmpParser *p)
{
    json_t *arr = json_array();
    const QmpJsonToken *t = qmp_parse_peek(p);

    if (t && t->type == QMP_TOK_RSQUARE) {
        p->pos++;
        return arr;
    }
    for (;;) {
        json_t *v = qmp_parse_value(p);
        if (!v) {
            break;
        }
        json_array_append_new(arr, v);
        t = qmp_parse_pop(p);
        if (t && t->type == QMP_TOK_RSQUARE) {
            return arr;
        }
        if (!t || t->type != QMP_TOK_COMMA) {
            qmp_parse_error(p,
                            t ? "expected separator in list" : "premature EOI");
            break;
        }
    }
    json_decref(arr);
    return NULL;
}

static json_t *qmp_parse_value(QmpParser *p)
{
    const QmpJsonToken *t = qmp_parse_pop(p);

    if (!t) {
        qmp_parse_error(p, "premature EOI");
        return NULL;
    }
    switch (t->type) {
    case QMP_TOK_LCURLY:
        return qmp_parse_object(p);
    case QMP_TOK_LSQUARE:
        return qmp_parse_array(p);
    case QMP_TOK_STRING:
        return qmp_parse_string(p, t);
    case QMP_TOK_INTEGER:
    case QMP_TOK_FLOAT:
        return qmp_parse_number(p, t);
    case QMP_TOK_KEYWORD:
        return qmp_parse_keyword(p, t);
    default:
        qmp_parse_error(p, "expecting value");
        return NULL;
    }
}

json_t *qmp_json_parse_tokens(const char *text, const QmpJsonToken *toks,
                              size_t ntoks, GError **err)
{
    QmpParser p = {text, toks, ntoks, 0, err};
    json_t *v = qmp_parse_value(&p);

    /* The splitter ends a message where its value ends, so nothing can
       follow; stay defensive all the same. */
    if (v && p.pos != ntoks) {
        json_decref(v);
        qmp_parse_error(&p, "expecting value");
        return NULL;
    }
    return v;
}
