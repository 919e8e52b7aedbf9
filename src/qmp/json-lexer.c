/*
 * QMP framing, part 1: the lexer and the message splitter. Bytes become
 * tokens as QEMU 7.2's json-lexer makes them (strings in double or single
 * quotes, numbers, lower-case keywords, the six structural characters);
 * tokens are grouped into one message until the braces and brackets
 * balance (QEMU's json-streamer), then handed to the parser
 * (json-parser.c).
 *
 * After a lexical error the lexer skips input until a structural character,
 * a control character other than TAB, or a byte 0xFE/0xFF, as QEMU does.
 * After a cap error (size or depth) the splitter discards tokens until the
 * offending value's brackets close, so the session recovers with one error
 * and bounded memory (QEMU instead emits one error per trailing bracket).
 *
 * Leaves out: turning tokens into values (json-parser.c).
 */
#include "qmp/json-internal.h"

#include <string.h>

#include "base/error.h"

static bool qmp_lex_is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool qmp_lex_is_struct(unsigned char c)
{
    return c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':';
}

static bool qmp_lex_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Recovery ends at a character QEMU treats as a resynchronisation point;
   that character is then lexed normally. */
static bool qmp_lex_recovery_ends(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c >= 0xFE || c == '{' || c == '}' ||
           c == '[' || c == ']';
}

static void qmp_stream_push_error(QmpJsonStream *st, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

static void qmp_stream_push_error(QmpJsonStream *st, const char *fmt, ...)
{
    QmpJsonResult r = {NULL, NULL};
    va_list ap;

    va_start(ap, fmt);
    r.err = g_error_new_valist(LS_ERROR, LS_ERROR_GENERIC, fmt, ap);
    va_end(ap);
    g_queue_push_tail(&st->results, g_memdup2(&r, sizeof(r)));
}

static void qmp_stream_reset_message(QmpJsonStream *st)
{
    g_array_set_size(st->tokens, 0);
    g_string_truncate(st->text, 0);
    st->braces = 0;
    st->brackets = 0;
}

/* The message is complete: parse it and queue the value or the error. */
static void qmp_stream_emit(QmpJsonStream *st)
{
    QmpJsonResult r = {NULL, NULL};

    r.value =
        qmp_json_parse_tokens(st->text->str, (QmpJsonToken *)st->tokens->data,
                              st->tokens->len, &r.err);
    g_queue_push_tail(&st->results, g_memdup2(&r, sizeof(r)));
    qmp_stream_reset_message(st);
}

/* A cap was exceeded: report it once and skip the rest of this value. */
static void qmp_stream_overflow(QmpJsonStream *st, const char *what)
{
    qmp_stream_push_error(st, "JSON %s limit exceeded", what);
    st->skip_depth = st->braces + st->brackets;
    qmp_stream_reset_message(st);
    st->skipping = st->skip_depth > 0;
}

static void qmp_stream_skip_token(QmpJsonStream *st, QmpJsonTokType type)
{
    if (type == QMP_TOK_LCURLY || type == QMP_TOK_LSQUARE) {
        st->skip_depth++;
    } else if (type == QMP_TOK_RCURLY || type == QMP_TOK_RSQUARE) {
        st->skip_depth--;
    }
    if (st->skip_depth <= 0) {
        st->skipping = false;
    }
}

/* One complete token, its text in st->tok. */
static void qmp_stream_token(QmpJsonStream *st, QmpJsonTokType type)
{
    QmpJsonToken t = {type, st->text->len, st->tok->len};

    if (st->skipping) {
        qmp_stream_skip_token(st, type);
        return;
    }
    if (type == QMP_TOK_ERROR) {
        qmp_stream_reset_message(st);
        qmp_stream_push_error(st, "JSON parse error, stray '%s'", st->tok->str);
        return;
    }
    st->braces += type == QMP_TOK_LCURLY ? 1 : type == QMP_TOK_RCURLY ? -1 : 0;
    st->brackets += type == QMP_TOK_LSQUARE   ? 1
                    : type == QMP_TOK_RSQUARE ? -1
                                              : 0;
    g_string_append_len(st->text, st->tok->str, st->tok->len);
    g_string_append_c(st->text, '\0');
    g_array_append_val(st->tokens, t);
    if (st->braces < 0 || st->brackets < 0 ||
        (st->braces == 0 && st->brackets == 0)) {
        qmp_stream_emit(st);
    } else if (st->text->len > QMP_MAX_MESSAGE) {
        qmp_stream_overflow(st, "token size");
    } else if (st->braces + st->brackets > QMP_MAX_DEPTH) {
        qmp_stream_overflow(st, "nesting depth");
    }
}

/* Appends to the current token unless it has already outgrown the cap
   (then only its end is tracked: memory stays bounded). */
static void qmp_lex_append(QmpJsonStream *st, unsigned char c)
{
    if (st->text->len + st->tok->len <= QMP_MAX_MESSAGE) {
        g_string_append_c(st->tok, (char)c);
    } else {
        st->tok_too_big = true;
    }
}

static void qmp_lex_finish(QmpJsonStream *st, QmpJsonTokType type)
{
    if (st->tok_too_big && !st->skipping) {
        qmp_stream_overflow(st, "token size");
    } else {
        qmp_stream_token(st, type);
    }
    g_string_truncate(st->tok, 0);
    st->tok_too_big = false;
    st->state = type == QMP_TOK_ERROR ? QMP_LEX_RECOVERY : QMP_LEX_START;
}

static void qmp_lex_start_char(QmpJsonStream *st, unsigned char c)
{
    static const QmpJsonTokType structs[128] = {
        ['{'] = QMP_TOK_LCURLY,  ['}'] = QMP_TOK_RCURLY,
        ['['] = QMP_TOK_LSQUARE, [']'] = QMP_TOK_RSQUARE,
        [','] = QMP_TOK_COMMA,   [':'] = QMP_TOK_COLON,
    };

    if (qmp_lex_is_ws(c)) {
        return;
    }
    qmp_lex_append(st, c);
    if (qmp_lex_is_struct(c)) {
        qmp_lex_finish(st, structs[c]);
    } else if (c == '"' || c == '\'') {
        st->quote = (char)c;
        st->state = QMP_LEX_STRING;
    } else if (c == '-') {
        st->state = QMP_LEX_NEG;
    } else if (c == '0') {
        st->state = QMP_LEX_ZERO;
    } else if (qmp_lex_is_digit(c)) {
        st->state = QMP_LEX_INT;
    } else if (c >= 'a' && c <= 'z') {
        st->state = QMP_LEX_KEYWORD;
    } else {
        qmp_lex_finish(st, QMP_TOK_ERROR);
    }
}

static void qmp_lex_string_char(QmpJsonStream *st, unsigned char c)
{
    if (c < 0x20 || c >= 0xFE) {
        qmp_lex_append(st, c);
        qmp_lex_finish(st, QMP_TOK_ERROR);
        return;
    }
    qmp_lex_append(st, c);
    if (st->state == QMP_LEX_STRING_ESC) {
        st->state = QMP_LEX_STRING;
    } else if (c == '\\') {
        st->state = QMP_LEX_STRING_ESC;
    } else if (c == (unsigned char)st->quote) {
        qmp_lex_finish(st, QMP_TOK_STRING);
    }
}

/*
 * Number states. Returns true if `c` was consumed; false if the number
 * ended before `c` (the caller lexes `c` again from the start state).
 */
static bool qmp_lex_number_char(QmpJsonStream *st, unsigned char c)
{
    bool digit = qmp_lex_is_digit(c);
    QmpLexState next = QMP_LEX_START;

    switch (st->state) {
    case QMP_LEX_NEG:
        next = c == '0' ? QMP_LEX_ZERO : digit ? QMP_LEX_INT : QMP_LEX_START;
        break;
    case QMP_LEX_ZERO:
        if (digit) {
            break; /* "01": an error */
        }
        /* fall through */
    case QMP_LEX_INT:
        next = digit                    ? QMP_LEX_INT
               : c == '.'               ? QMP_LEX_DOT
               : (c == 'e' || c == 'E') ? QMP_LEX_EXP
                                        : QMP_LEX_START;
        if (next == QMP_LEX_START) {
            qmp_lex_finish(st, QMP_TOK_INTEGER);
            return false;
        }
        break;
    case QMP_LEX_DOT:
        next = digit ? QMP_LEX_FRAC : QMP_LEX_START;
        break;
    case QMP_LEX_FRAC:
        next = digit                    ? QMP_LEX_FRAC
               : (c == 'e' || c == 'E') ? QMP_LEX_EXP
                                        : QMP_LEX_START;
        if (next == QMP_LEX_START) {
            qmp_lex_finish(st, QMP_TOK_FLOAT);
            return false;
        }
        break;
    case QMP_LEX_EXP:
        next =
            (digit || c == '+' || c == '-') ? QMP_LEX_EXP_SIGN : QMP_LEX_START;
        if (digit) {
            next = QMP_LEX_EXP_DIGITS;
        }
        break;
    case QMP_LEX_EXP_SIGN:
        next = digit ? QMP_LEX_EXP_DIGITS : QMP_LEX_START;
        break;
    default: /* QMP_LEX_EXP_DIGITS */
        if (!digit) {
            qmp_lex_finish(st, QMP_TOK_FLOAT);
            return false;
        }
        next = QMP_LEX_EXP_DIGITS;
        break;
    }
    qmp_lex_append(st, c);
    if (next == QMP_LEX_START) {
        qmp_lex_finish(st, QMP_TOK_ERROR);
    } else {
        st->state = next;
    }
    return true;
}

static void qmp_lex_char(QmpJsonStream *st, unsigned char c)
{
    switch (st->state) {
    case QMP_LEX_START:
        qmp_lex_start_char(st, c);
        return;
    case QMP_LEX_RECOVERY:
        if (qmp_lex_recovery_ends(c)) {
            st->state = QMP_LEX_START;
            qmp_lex_start_char(st, c);
        }
        return;
    case QMP_LEX_STRING:
    case QMP_LEX_STRING_ESC:
        qmp_lex_string_char(st, c);
        return;
    case QMP_LEX_KEYWORD:
        if (c >= 'a' && c <= 'z') {
            qmp_lex_append(st, c);
            return;
        }
        qmp_lex_finish(st, QMP_TOK_KEYWORD);
        qmp_lex_start_char(st, c);
        return;
    default:
        if (!qmp_lex_number_char(st, c)) {
            qmp_lex_start_char(st, c);
        }
        return;
    }
}

QmpJsonStream *qmp_json_stream_new(void)
{
    QmpJsonStream *st = g_new0(QmpJsonStream, 1);

    st->tok = g_string_new(NULL);
    st->text = g_string_new(NULL);
    st->tokens = g_array_new(FALSE, FALSE, sizeof(QmpJsonToken));
    g_queue_init(&st->results);
    return st;
}

static void qmp_json_result_free(gpointer p)
{
    QmpJsonResult *r = p;

    if (r->value) {
        json_decref(r->value);
    }
    if (r->err) {
        g_error_free(r->err);
    }
    g_free(r);
}

void qmp_json_stream_free(QmpJsonStream *st)
{
    if (!st) {
        return;
    }
    g_string_free(st->tok, TRUE);
    g_string_free(st->text, TRUE);
    g_array_free(st->tokens, TRUE);
    g_queue_clear_full(&st->results, qmp_json_result_free);
    g_free(st);
}

void qmp_json_stream_feed(QmpJsonStream *st, const void *buf, size_t len)
{
    const unsigned char *p = buf;

    for (size_t i = 0; i < len; i++) {
        qmp_lex_char(st, p[i]);
    }
}

bool qmp_json_stream_next(QmpJsonStream *st, json_t **value, GError **err)
{
    QmpJsonResult *r = g_queue_pop_head(&st->results);

    *value = NULL;
    if (!r) {
        return false;
    }
    if (r->err) {
        g_propagate_error(err, r->err);
    } else {
        *value = r->value;
    }
    g_free(r);
    return true;
}

bool qmp_json_stream_pending(const QmpJsonStream *st)
{
    return st->tokens->len > 0 || st->tok->len > 0 || st->skipping ||
           st->tok_too_big ||
           (st->state != QMP_LEX_START && st->state != QMP_LEX_RECOVERY);
}
