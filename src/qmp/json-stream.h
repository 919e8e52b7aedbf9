/*
 * QMP framing: splits a byte stream into JSON values, as QEMU's
 * json-lexer/json-streamer do. Values may span lines or share a line; no
 * delimiter is needed between them. QEMU's extension of single-quoted
 * strings ('abc', with \' and " inside) is accepted. The lexer and the
 * parser are ours (json-lexer.c, json-parser.c), not jansson's, because
 * QEMU's error texts are part of the QMP contract; jansson only holds the
 * resulting values.
 *
 * Caps (named, tested): a value larger than QMP_MAX_MESSAGE bytes or nested
 * deeper than QMP_MAX_DEPTH fails with QEMU's texts ("JSON token size limit
 * exceeded", "JSON nesting depth limit exceeded"); the stream then discards
 * input until the offending value's brackets close (or a newline at depth 0
 * after a lexical error), so memory stays bounded and the session recovers.
 *
 * Leaves out: output (see qmp_json_dumps in qmp.h), sockets.
 */
#ifndef LS_QMP_JSON_STREAM_H
#define LS_QMP_JSON_STREAM_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Largest accepted JSON value, in bytes (libxl caps its replies at 1 MiB;
   our requests are tiny). QEMU's own cap is 64 MiB per token. */
#define QMP_MAX_MESSAGE (1024 * 1024)
/* Deepest accepted nesting of objects/arrays (QEMU: 1024). */
#define QMP_MAX_DEPTH 1024

typedef struct QmpJsonStream QmpJsonStream;

QmpJsonStream *qmp_json_stream_new(void);
void qmp_json_stream_free(QmpJsonStream *st);

/* Feeds bytes. Complete values (or errors) are queued; take them with
   qmp_json_stream_next. Never fails: malformed input becomes queued
   errors. */
void qmp_json_stream_feed(QmpJsonStream *st, const void *buf, size_t len);

/* Pops the next result. Returns false when nothing is queued (and sets
   *value to NULL). Otherwise returns true and sets exactly one of *value
   (new reference, any JSON type) or *err (a GenericError whose message is
   QEMU's text, e.g. "JSON parse error, expecting value"). As in QEMU,
   strings are modified UTF-8 (U+0000 is the bytes C0 80, never a NUL
   byte), and numbers jansson cannot hold are wide numbers (qmp.h). */
bool qmp_json_stream_next(QmpJsonStream *st, json_t **value, GError **err);

/* True while a value has started but not ended (bytes are buffered). */
bool qmp_json_stream_pending(const QmpJsonStream *st);

#endif
