/*
 * The QMP server library: command table with per-command argument schema,
 * the dispatcher (the one place where a GError becomes QMP JSON), sessions
 * with capability negotiation, events, and a GLib-driven server listening
 * on unix/tcp sockets, on an inherited listening fd, or connecting out.
 * Speaks QMP as QEMU 7.2 does (texts byte-exact, "\r\n" after every
 * message, QEMU's `{"a": 1, "b": 2}` spacing).
 *
 * Knows nothing of devices. The fd-passing commands (getfd, add-fd, ...)
 * are in qmp/fds.h; the client side is qmp/client.h.
 *
 * Ownership rules: handlers borrow `args` and return a new reference.
 * Sessions are owned by the server; a session pointer is valid during the
 * handler call that received it (and until the session's close, which
 * never happens inside one of its own callbacks).
 */
#ifndef LS_QMP_QMP_H
#define LS_QMP_QMP_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Greeting: {"QMP": {"version": {"qemu": {"micro": 0, "minor": 2,
   "major": 7}, "package": "lockstep <version>"}, "capabilities": []}} */
#define QMP_QEMU_MAJOR 7
#define QMP_QEMU_MINOR 2
#define QMP_QEMU_MICRO 0

/* A session whose unsent output exceeds this is dropped (a client that
   stops reading must not grow memory or block the loop). */
#define QMP_MAX_OUTPUT (8 * 1024 * 1024)
/* SCM_RIGHTS fds queued per session and not yet taken (QEMU: 16). */
#define QMP_MAX_QUEUED_FDS 16

typedef struct QmpServer QmpServer;
typedef struct QmpSession QmpSession;
typedef struct QmpCommands QmpCommands;

/* ---- Argument schema ---------------------------------------------------- */

typedef enum QmpArgType {
    QMP_ARG_STR,    /* "string"  */
    QMP_ARG_BOOL,   /* "boolean" */
    QMP_ARG_INT,    /* "integer" (JSON integer) */
    QMP_ARG_NUMBER, /* "number"  (integer or real) */
    QMP_ARG_OBJECT, /* "object"  */
    QMP_ARG_ARRAY,  /* "array"   (contents unchecked) */
    QMP_ARG_ANY,    /* any JSON value, unchecked */
} QmpArgType;

/* One member of a command's arguments; a table ends with {NULL}. */
typedef struct QmpArg {
    const char *name;
    QmpArgType type;
    bool optional;
} QmpArg;

/*
 * A command handler. `args` is always a JSON object (empty if the request
 * had no "arguments"), already checked against the command's schema, and
 * borrowed. Returns a new reference (json_object() for commands without a
 * result), or NULL with *errp set; the error's code (LsErrorCode) gives
 * the QMP class and its message the "desc".
 */
typedef json_t *(*QmpCommandFn)(json_t *args, QmpSession *session, void *opaque,
                                GError **errp);

/* Command flags. */
enum {
    /* Skip schema checking: the handler validates `args` itself. */
    QMP_CMD_NO_ARG_CHECK = 1 << 0,
    /* Allowed in preconfig state (QEMU's 'allow-preconfig'). */
    QMP_CMD_ALLOW_PRECONFIG = 1 << 1,
};

QmpCommands *qmp_commands_new(void);
void qmp_commands_free(QmpCommands *cmds);

/*
 * Registers `name`. `args` is a static {NULL}-terminated table (NULL means
 * the command takes no arguments: any member is "unexpected"). Replaces a
 * previous registration of the same name. qmp_capabilities and
 * query-commands are registered by qmp_commands_new.
 */
void qmp_commands_add(QmpCommands *cmds, const char *name, QmpCommandFn fn,
                      const QmpArg *args, unsigned flags, void *opaque);

/* True if `name` is registered. */
bool qmp_commands_has(const QmpCommands *cmds, const char *name);

/* Adds QMP_CMD_ALLOW_PRECONFIG to `name` if registered (qmp_capabilities
   and query-commands have it from the start). */
void qmp_commands_allow_preconfig(QmpCommands *cmds, const char *name);

/* Calls fn(name, args, opaque) for every command, in registration order
   (args: the schema table, NULL for none). */
void qmp_commands_foreach(const QmpCommands *cmds,
                          void (*fn)(const char *name, const QmpArg *args,
                                     void *opaque),
                          void *opaque);

/* schema.c: registers query-qmp-schema (QEMU's introspection shape) for
   the commands of `cmds`, including those registered later. */
void qmp_schema_register(QmpCommands *cmds);

/* In preconfig state (QEMU's --preconfig until x-exit-preconfig) a command
   without QMP_CMD_ALLOW_PRECONFIG is refused with QEMU's GenericError
   "The command 'NAME' is permitted only after machine initialization has
   completed", before its arguments are checked. */
void qmp_commands_set_preconfig(QmpCommands *cmds, bool preconfig);
bool qmp_commands_in_preconfig(const QmpCommands *cmds);

/*
 * Runs one parsed request (any JSON value) for `session` (may be NULL for
 * a negotiated, session-less dispatch: tests, fuzzing) and returns the
 * reply object (new reference): {"return": R[, "id": I]} or {"error":
 * {"class": C, "desc": D}[, "id": I]}. Handles negotiation mode, envelope
 * checks, schema checks. Never returns NULL.
 */
json_t *qmp_dispatch(QmpCommands *cmds, QmpSession *session, json_t *req);

/* The reply for a framing error (no id): {"error": {"class":
   "GenericError", "desc": err->message}}. New reference. */
json_t *qmp_error_reply(const GError *err, json_t *id);

/* ---- Wide numbers -------------------------------------------------------- */

/*
 * QEMU 7.2 keeps a JSON integer above INT64_MAX (up to UINT64_MAX) as an
 * exact uint64, and a number that overflows a double as +-inf; jansson
 * holds neither (int64 integers, finite reals). The parser returns such a
 * number as a "wide number": an object whose only member is
 * QMP_JSON_WIDE_KEY (not valid UTF-8, so no parsed key can be it) with
 * the number's text as QEMU prints it: "18446744073709551615", "inf",
 * "-inf". qmp_json_dumps prints that text; the dispatcher's checks take
 * it as a "number" that is neither an "integer" (QEMU's int64 arguments
 * refuse it too) nor an "object". Handlers of QMP_ARG_ANY arguments or
 * QMP_CMD_NO_ARG_CHECK commands see the object itself.
 */
#define QMP_JSON_WIDE_KEY "\xFF"

/* A new wide number holding `text` (copied). */
json_t *qmp_json_wide_new(const char *text);
/* Its text, or NULL if `v` is not a wide number. */
const char *qmp_json_wide_text(const json_t *v);
/* True for a JSON object that is not a wide number. */
bool qmp_json_is_plain_object(const json_t *v);

/* ---- JSON output -------------------------------------------------------- */

/* Serialises `v` as QEMU does: ", " and ": " separators, no newlines,
   non-ASCII escaped as \uXXXX, member order preserved. No "\r\n". */
char *qmp_json_dumps(const json_t *v);

/* An event object {"timestamp": {"seconds": S, "microseconds": U},
   "event": name[, "data": data]} with the current wall clock. Steals
   `data` (may be NULL: no "data" member). */
json_t *qmp_event_new(const char *name, json_t *data);

/* ---- Server and sessions ------------------------------------------------ */

/*
 * A server runs in `ctx` (NULL: the thread-default main context) and
 * dispatches with `cmds` (borrowed; must outlive the server). `package` is
 * the greeting's "package" string (NULL: "lockstep " LOCKSTEP_VERSION).
 */
QmpServer *qmp_server_new(QmpCommands *cmds, GMainContext *ctx,
                          const char *package);
/* Closes every listener and session (pending output is dropped; call
   qmp_server_flush first to deliver it) and every fdset fd. */
void qmp_server_free(QmpServer *srv);

/*
 * Adds an endpoint. Spec forms, QEMU's spellings:
 *   unix:PATH[,server=on|off][,wait=on|off]    (also ",server,nowait")
 *   tcp:HOST:PORT[,server=on|off][,wait=on|off]
 *   fd:N                 an inherited, already-listening socket
 *   chardev-style keys:  path=PATH | host=H,port=P | fd=N, plus server=,
 *                        wait=, id= (ignored), in any order
 * Without server=on (and not fd), the server connects out once, as QEMU's
 * chardev client mode (libqtest waits on its socket for this); the
 * connection becomes a session. wait=on is accepted and treated as
 * wait=off (we never block startup). A unix path that exists as a socket
 * is replaced. Fails with a message on a bad spec or socket error.
 */
bool qmp_server_add(QmpServer *srv, const char *spec, GError **errp);

/* Queues `event` (stolen; from qmp_event_new) to every session that has
   completed negotiation. Sessions in negotiation mode get nothing. */
void qmp_server_broadcast(QmpServer *srv, json_t *event);
/* Shorthand: qmp_server_broadcast(srv, qmp_event_new(name, data)). */
void qmp_server_emit(QmpServer *srv, const char *name, json_t *data);

/* Writes pending output of every session, blocking up to timeout_ms in
   total (e.g. before exit after `quit`). */
void qmp_server_flush(QmpServer *srv, int timeout_ms);

/* Number of open sessions (connected, not yet reaped). */
unsigned qmp_server_session_count(const QmpServer *srv);

/* Called (if set) once per session after it closes, from an idle
   callback, never from within the session's own I/O. */
typedef void (*QmpSessionClosedFn)(QmpServer *srv, void *opaque);
void qmp_server_set_closed_cb(QmpServer *srv, QmpSessionClosedFn fn,
                              void *opaque);

QmpServer *qmp_session_server(QmpSession *s);
/* Small unique number, for logs. */
unsigned qmp_session_id(const QmpSession *s);
/* True once qmp_capabilities succeeded on this session. */
bool qmp_session_negotiated(const QmpSession *s);
/* Takes the oldest fd received via SCM_RIGHTS and not yet taken, or -1.
   The caller owns it. */
int qmp_session_take_fd(QmpSession *s);
/* Marks the session for closing after its pending output is written
   (safe inside a handler). */
void qmp_session_close_later(QmpSession *s);

#endif
