/*
 * QMP framing, part 2: turns the tokens of one complete message into a
 * jansson value, with QEMU 7.2's json-parser error texts ("JSON parse
 * error, expecting value", "... missing : in object pair", "... invalid
 * keyword 'x'", ...). Single-quoted strings are QEMU's extension; both
 * quote styles accept \' and \".
 *
 * Strings are modified UTF-8, as QEMU keeps them: U+0000 (written \u0000,
 * or sent raw as the bytes C0 80) is stored as C0 80, so no string holds a
 * NUL byte and a C consumer never sees it cut short. Noncharacters
 * (U+FDD0..U+FDEF, U+xxFFFE/U+xxFFFF), surrogates and overlong or
 * out-of-range sequences are rejected, escaped or raw, with QEMU's texts.
 *
 * Numbers as QEMU's parse_literal: an integer that fits int64 is a jansson
 * integer; one above INT64_MAX that fits uint64 is kept exact, and a
 * number that overflows a double is +-inf, both as wide numbers (qmp.h:
 * jansson holds neither); everything else is a jansson real.
 *
 * Leaves out: lexing and message splitting (json-lexer.c).
 */
#include "qmp/json-internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "qmp/qmp.h"

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

bool qmp_json_codepoint_valid(int cp)
{
    return cp >= 0 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF) &&
           !(cp >= 0xFDD0 && cp <= 0xFDEF) && (cp & 0xFFFE) != 0xFFFE;
}

/* The lead byte's count of continuation bytes (1..5), or -1 for a byte
   that cannot start a multi-byte sequence (continuation, FE, FF). */
static int qmp_utf8_tail_len(unsigned char b)
{
    int len = 0;

    if (b >= 0xFE || (b & 0xC0) != 0xC0) {
        return -1;
    }
    for (unsigned char mask = 0x40; b & mask; mask >>= 1) {
        len++;
    }
    return len;
}

int qmp_json_utf8_decode(const char *s, size_t n, size_t *used)
{
    static const int min_cp[] = {0, 0x80, 0x800, 0x10000, 0x200000, 0x4000000};
    const unsigned char *p = (const unsigned char *)s;
    int tail;
    long cp;

    *used = n ? 1 : 0;
    if (!n || p[0] < 0x80) {
        return n ? p[0] : -1;
    }
    tail = qmp_utf8_tail_len(p[0]);
    if (tail < 0) {
        return -1;
    }
    cp = p[0] & (0x3F >> tail);
    for (int i = 1; i <= tail; i++) {
        if ((size_t)i >= n || (p[i] & 0xC0) != 0x80) {
            return -1;
        }
        cp = (cp << 6) | (p[i] & 0x3F);
        *used = (size_t)i + 1;
    }
    if (cp == 0 && tail == 1) {
        return 0; /* C0 80: modified UTF-8's U+0000 */
    }
    if (cp > 0x10FFFF || cp < min_cp[tail] ||
        !qmp_json_codepoint_valid((int)cp)) {
        return -1;
    }
    return (int)cp;
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
   the closing quote included). A high surrogate followed by \u takes the
   next escape as its pair, as QEMU does. Appends modified UTF-8 and
   returns the bytes used, or 0 after an error. */
static size_t qmp_parse_uescape(QmpParser *p, GString *out, const char *s,
                                const char *end)
{
    int cp = qmp_hex4(s + 2, end);
    size_t used = 6;

    if (cp >= 0xD800 && cp < 0xDC00 && end - s >= 8 && s[6] == '\\' &&
        s[7] == 'u') {
        int lo = qmp_hex4(s + 8, end);
        if (lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            used = 12;
        } else {
            cp = -1;
        }
    }
    if (!qmp_json_codepoint_valid(cp)) {
        qmp_parse_error(p, "%.*s is not a valid Unicode character",
                        (int)MIN(used, (size_t)(end - s)), s);
        return 0;
    }
    if (cp == 0) {
        g_string_append_len(out, "\xC0\x80", 2);
    } else {
        g_string_append_unichar(out, (gunichar)cp);
    }
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

/* A character that is not an escape; returns bytes used, 0 after an
   error. */
static size_t qmp_parse_plain(QmpParser *p, GString *out, const char *s,
                              const char *end)
{
    size_t n;

    if (qmp_json_utf8_decode(s, (size_t)(end - s), &n) < 0) {
        qmp_parse_error(p, "invalid UTF-8 sequence in string");
        return 0;
    }
    g_string_append_len(out, s, (gssize)n);
    return n;
}

static json_t *qmp_parse_string(QmpParser *p, const QmpJsonToken *t)
{
    const char *s = p->text + t->off + 1;
    const char *end = p->text + t->off + t->len; /* after closing quote */
    g_autoptr(GString) out = g_string_sized_new(t->len);

    while (s < end - 1) {
        size_t n = *s == '\\' ? qmp_parse_escape(p, out, s, end)
                              : qmp_parse_plain(p, out, s, end - 1);
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
    char *end = NULL;
    double d;

    if (t->type == QMP_TOK_INTEGER) {
        long long v;
        unsigned long long u;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == 0 && *end == '\0') {
            return json_integer(v);
        }
        errno = 0;
        u = s[0] == '-' ? 0 : strtoull(s, &end, 10);
        if (s[0] != '-' && errno == 0 && *end == '\0') {
            g_autofree char *text = g_strdup_printf("%llu", u);
            return qmp_json_wide_new(text);
        }
    }
    d = g_ascii_strtod(s, NULL);
    if (isinf(d)) {
        return qmp_json_wide_new(d > 0 ? "inf" : "-inf");
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
