/*
 * Differential fuzz target: our QMP JSON parser (json-lexer.c,
 * json-parser.c) against jansson's json_loadb, on inputs both read as one
 * double-quoted JSON value. The hand-written parser exists only for
 * QEMU's error texts; on values it must agree with a standard parser.
 *
 * Inputs taken: no byte '\'' (QEMU's single-quoted strings and its \'
 * escape are excluded by construction), at most QMP_MAX_MESSAGE bytes,
 * and our stream yields exactly one result (a value or an error) with
 * nothing pending. jansson parses with JSON_DECODE_ANY (QMP values may be
 * scalars), JSON_REJECT_DUPLICATES (QEMU rejects them) and JSON_ALLOW_NUL.
 *
 * Both must accept or both reject; accepted values must be equal (types,
 * integer values, reals bit for bit, string and key bytes, member order).
 * Deliberate differences, all QEMU 7.2 behaviour we keep:
 * - numbers jansson cannot hold ("too big integer", "too big negative
 *   integer", "real number overflow"): we accept them (wide numbers, or
 *   reals below INT64_MIN), so the input is not compared;
 * - strings are modified UTF-8: U+0000 is C0 80 in our values (NUL in
 *   jansson's), compared as equal; raw C0 80 in the input is U+0000 for us
 *   and invalid for jansson, so jansson then reads the input with each
 *   C0 80 written as \u0000 and must agree; jansson refuses U+0000 in
 *   object keys ("NUL byte in object key not supported"), QEMU takes it;
 * - noncharacters (U+FDD0..U+FDEF, U+xxFFFE/xxFFFF) we reject and
 *   jansson accepts: a rejection is deliberate when jansson's value
 *   holds one;
 * - our caps (QMP_MAX_DEPTH 1024, jansson's 2048; QMP_MAX_MESSAGE): a
 *   cap error is not compared.
 * A disagreement prints both sides and aborts.
 */
#include <glib.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp/json-stream.h"
#include "qmp/qmp.h"

#define FUZZ_JSON_FLAGS                                                        \
    (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

/* Our bytes with each C0 80 as NUL, jansson's representation. */
static GString *fuzz_unmodify(const char *s, size_t len)
{
    GString *out = g_string_sized_new(len);

    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] == 0xC0 && i + 1 < len &&
            (unsigned char)s[i + 1] == 0x80) {
            g_string_append_c(out, '\0');
            i++;
        } else {
            g_string_append_c(out, s[i]);
        }
    }
    return out;
}

static bool fuzz_same_bytes(const char *ours, size_t ours_len,
                            const char *theirs, size_t theirs_len)
{
    g_autoptr(GString) u = fuzz_unmodify(ours, ours_len);

    return u->len == theirs_len && !memcmp(u->str, theirs, theirs_len);
}

static bool fuzz_equal(const json_t *a, const json_t *b);

static bool fuzz_equal_objects(const json_t *a, const json_t *b)
{
    void *ia = json_object_iter((json_t *)a);
    void *ib = json_object_iter((json_t *)b);

    if (json_object_size(a) != json_object_size(b)) {
        return false;
    }
    for (; ia && ib; ia = json_object_iter_next((json_t *)a, ia),
                     ib = json_object_iter_next((json_t *)b, ib)) {
        if (!fuzz_same_bytes(
                json_object_iter_key(ia), json_object_iter_key_len(ia),
                json_object_iter_key(ib), json_object_iter_key_len(ib)) ||
            !fuzz_equal(json_object_iter_value(ia),
                        json_object_iter_value(ib))) {
            return false;
        }
    }
    return !ia && !ib;
}

/* a: ours, b: jansson's. */
static bool fuzz_equal(const json_t *a, const json_t *b)
{
    double da, db;

    if (json_typeof(a) != json_typeof(b)) {
        return false;
    }
    switch (json_typeof(a)) {
    case JSON_OBJECT:
        return fuzz_equal_objects(a, b);
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b)) {
            return false;
        }
        for (size_t i = 0; i < json_array_size(a); i++) {
            if (!fuzz_equal(json_array_get(a, i), json_array_get(b, i))) {
                return false;
            }
        }
        return true;
    case JSON_STRING:
        return fuzz_same_bytes(json_string_value(a), json_string_length(a),
                               json_string_value(b), json_string_length(b));
    case JSON_INTEGER:
        return json_integer_value(a) == json_integer_value(b);
    case JSON_REAL:
        da = json_real_value(a);
        db = json_real_value(b);
        return !memcmp(&da, &db, sizeof(da));
    default:
        return true; /* true, false, null */
    }
}

static bool fuzz_has_nonchar_bytes(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        gunichar c = g_utf8_get_char_validated(s + i, (gssize)(len - i));
        if (c == (gunichar)-1 || c == (gunichar)-2) {
            i++;
            continue;
        }
        if ((c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE) {
            return true;
        }
        i += (size_t)(g_utf8_next_char(s + i) - (s + i));
    }
    return false;
}

/* True if a string or key of jansson's value holds a noncharacter. */
static bool fuzz_has_nonchar(const json_t *v)
{
    const char *key;
    size_t key_len;
    json_t *m;
    size_t i;

    switch (json_typeof(v)) {
    case JSON_STRING:
        return fuzz_has_nonchar_bytes(json_string_value(v),
                                      json_string_length(v));
    case JSON_ARRAY:
        json_array_foreach((json_t *)v, i, m)
        {
            if (fuzz_has_nonchar(m)) {
                return true;
            }
        }
        return false;
    case JSON_OBJECT:
        json_object_keylen_foreach((json_t *)v, key, key_len, m)
        {
            if (fuzz_has_nonchar_bytes(key, key_len) || fuzz_has_nonchar(m)) {
                return true;
            }
        }
        return false;
    default:
        return false;
    }
}

/* Our one result, or false when the stream does not see one value. */
static bool fuzz_ours(const uint8_t *data, size_t size, json_t **v,
                      GError **err)
{
    QmpJsonStream *st = qmp_json_stream_new();
    json_t *extra = NULL;
    GError *extra_err = NULL;
    bool one;

    qmp_json_stream_feed(st, data, size);
    qmp_json_stream_feed(st, "\n", 1);
    one = qmp_json_stream_next(st, v, err) &&
          !qmp_json_stream_next(st, &extra, &extra_err) &&
          !qmp_json_stream_pending(st);
    json_decref(extra);
    g_clear_error(&extra_err);
    qmp_json_stream_free(st);
    return one;
}

static bool fuzz_has_c080(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i + 1 < size; i++) {
        if (data[i] == 0xC0 && data[i + 1] == 0x80) {
            return true;
        }
    }
    return false;
}

/* jansson on the input with every C0 80 written as \u0000. */
static json_t *fuzz_jansson_nul_escaped(const uint8_t *data, size_t size,
                                        json_error_t *jerr)
{
    g_autoptr(GString) in = g_string_sized_new(size);

    for (size_t i = 0; i < size; i++) {
        if (data[i] == 0xC0 && i + 1 < size && data[i + 1] == 0x80) {
            g_string_append(in, "\\u0000");
            i++;
        } else {
            g_string_append_c(in, (char)data[i]);
        }
    }
    return json_loadb(in->str, in->len, FUZZ_JSON_FLAGS, jerr);
}

static bool fuzz_jansson_cannot_hold(const json_error_t *jerr)
{
    return strstr(jerr->text, "NUL byte in object key not supported") ||
           strstr(jerr->text, "too big integer") ||
           strstr(jerr->text, "too big negative integer") ||
           strstr(jerr->text, "real number overflow");
}

static void fuzz_disagree(const char *why, const json_t *ours,
                          const GError *err, const json_t *theirs,
                          const char *jtext)
{
    g_autofree char *a = ours ? qmp_json_dumps(ours) : NULL;
    g_autofree char *b = theirs ? qmp_json_dumps(theirs) : NULL;

    fprintf(stderr, "json-diff: %s\n  ours:    %s\n  jansson: %s\n", why,
            a ? a : err->message, b ? b : jtext);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *ours = NULL;
    json_t *theirs;
    GError *err = NULL;
    json_error_t jerr;

    if (size > QMP_MAX_MESSAGE || memchr(data, '\'', size) ||
        !fuzz_ours(data, size, &ours, &err)) {
        goto out;
    }
    theirs = json_loadb((const char *)data, size, FUZZ_JSON_FLAGS, &jerr);
    if (ours && !theirs && fuzz_has_c080(data, size)) {
        theirs = fuzz_jansson_nul_escaped(data, size, &jerr);
    }
    if (ours && !theirs && !fuzz_jansson_cannot_hold(&jerr)) {
        fuzz_disagree("we accept, jansson rejects", ours, err, NULL, jerr.text);
    }
    if (!ours && theirs && !strstr(err->message, "limit exceeded") &&
        !fuzz_has_nonchar(theirs)) {
        fuzz_disagree("we reject, jansson accepts", NULL, err, theirs, NULL);
    }
    if (ours && theirs && !fuzz_equal(ours, theirs)) {
        fuzz_disagree("values differ", ours, err, theirs, NULL);
    }
    json_decref(theirs);
out:
    json_decref(ours);
    g_clear_error(&err);
    return 0;
}
