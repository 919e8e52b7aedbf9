/*
 * Internals shared by the QMP server files (server.c, session.c,
 * dispatch.c, fds.c): the session and server structures. Not for use
 * outside src/qmp.
 */
#ifndef LS_QMP_QMP_INTERNAL_H
#define LS_QMP_QMP_INTERNAL_H

#include "base/unix-socket.h"
#include "qmp/json-stream.h"
#include "qmp/qmp.h"

/* Bytes read from a socket per call, and fds accepted per recvmsg. */
#define QMP_READ_CHUNK      65536
#define QMP_MAX_FDS_PER_MSG 16
/* Backlog of our own listening sockets. */
#define QMP_LISTEN_BACKLOG 16

typedef struct QmpFdSet QmpFdSet;

struct QmpSession {
    QmpServer *srv;
    unsigned id;
    int fd;
    GSource *src;
    gpointer tag;
    GIOCondition cond; /* what the fd is polled for now */
    QmpJsonStream *in;
    GString *out;
    size_t out_off;
    bool negotiated;
    bool close_when_flushed;
    bool dead;
    GQueue fds;            /* received, not yet taken (GINT_TO_POINTER) */
    GHashTable *named_fds; /* getfd name -> fd (GINT_TO_POINTER) */
};

typedef struct QmpListener {
    QmpServer *srv;
    int fd;
    GSource *src;
    LsUnixBound *bound; /* our unix socket file, removed at free */
} QmpListener;

struct QmpServer {
    QmpCommands *cmds;
    GMainContext *ctx;
    char *package;
    GPtrArray *sessions;  /* QmpSession *, live and dead */
    GPtrArray *listeners; /* QmpListener * */
    GList *fdsets;        /* QmpFdSet *, ascending id */
    unsigned next_session_id;
    GSource *reaper;
    QmpSessionClosedFn closed_cb;
    void *closed_opaque;
    bool (*vm_running)(void *opaque); /* fds.c: QEMU's runstate_is_running */
    void *vm_running_opaque;
};

/* A GSource watching one fd whose callback is a QmpFdFunc. */
typedef gboolean (*QmpFdFunc)(void *opaque, GIOCondition revents);
GSource *qmp_fd_source_new(int fd, GIOCondition cond, QmpFdFunc fn,
                           void *opaque, GMainContext *ctx, gpointer *tag);

/* session.c */
QmpSession *qmp_session_new(QmpServer *srv, int fd);
void qmp_session_free(QmpSession *s);
/* Appends one message (+ "\r\n"); drops the session if its output would
   exceed QMP_MAX_OUTPUT. */
void qmp_session_send(QmpSession *s, const json_t *msg);
/* Writes what the socket accepts now; true if everything went out. */
bool qmp_session_try_write(QmpSession *s);
void qmp_session_kill(QmpSession *s);

/* server.c */
void qmp_server_schedule_reap(QmpServer *srv);

/* fds.c */
/* QEMU's monitor_fdsets_cleanup: run after a session closes. */
void qmp_fdsets_cleanup(QmpServer *srv);
void qmp_fdsets_free(QmpServer *srv);

#endif
