/*
 * Internals of the QMP framing (json-lexer.c, json-parser.c): token types,
 * lexer states and the stream structure. Not for use outside src/qmp.
 */
#ifndef LS_QMP_JSON_INTERNAL_H
#define LS_QMP_JSON_INTERNAL_H

#include "qmp/json-stream.h"

typedef enum QmpJsonTokType {
    QMP_TOK_NONE = 0,
    QMP_TOK_LCURLY,
    QMP_TOK_RCURLY,
    QMP_TOK_LSQUARE,
    QMP_TOK_RSQUARE,
    QMP_TOK_COMMA,
    QMP_TOK_COLON,
    QMP_TOK_STRING, /* text includes the quotes, escapes unprocessed */
    QMP_TOK_INTEGER,
    QMP_TOK_FLOAT,
    QMP_TOK_KEYWORD, /* [a-z]+ */
    QMP_TOK_ERROR,
} QmpJsonTokType;

typedef enum QmpLexState {
    QMP_LEX_START = 0,
    QMP_LEX_RECOVERY,
    QMP_LEX_STRING,
    QMP_LEX_STRING_ESC,
    QMP_LEX_KEYWORD,
    QMP_LEX_NEG,
    QMP_LEX_ZERO,
    QMP_LEX_INT,
    QMP_LEX_DOT,
    QMP_LEX_FRAC,
    QMP_LEX_EXP,
    QMP_LEX_EXP_SIGN,
    QMP_LEX_EXP_DIGITS,
} QmpLexState;

/* A token of the current message: its text is text[off .. off+len). */
typedef struct QmpJsonToken {
    QmpJsonTokType type;
    size_t off;
    size_t len;
} QmpJsonToken;

typedef struct QmpJsonResult {
    json_t *value;
    GError *err;
} QmpJsonResult;

struct QmpJsonStream {
    QmpLexState state;
    char quote;       /* '"' or '\'' inside a string */
    GString *tok;     /* the token being lexed */
    bool tok_too_big; /* the token outgrew QMP_MAX_MESSAGE */
    GString *text;    /* texts of the message's tokens, NUL-separated */
    GArray *tokens;   /* QmpJsonToken */
    int braces;
    int brackets;
    bool skipping; /* discarding the rest of an over-cap value */
    int skip_depth;
    GQueue results; /* QmpJsonResult * */
};

/* QEMU's idea of a valid character (util/unicode.c): U+0000..U+10FFFF
   except surrogates and the 66 noncharacters. */
bool qmp_json_codepoint_valid(int cp);

/* Decodes the modified UTF-8 sequence at s (at most n bytes): returns the
   code point, or -1 if the sequence is invalid (truncated, overlong other
   than C0 80, beyond U+10FFFF, a surrogate or a noncharacter). *used is
   the bytes taken: the whole sequence, or for an invalid one the lead
   byte and the continuation bytes that followed it (at least 1 if n > 0),
   as QEMU's mod_utf8_codepoint. */
int qmp_json_utf8_decode(const char *s, size_t n, size_t *used);

/* Parses one complete message. NULL + *err ("JSON parse error, ...") on
   failure. */
json_t *qmp_json_parse_tokens(const char *text, const QmpJsonToken *toks,
                              size_t ntoks, GError **err);

#endif
