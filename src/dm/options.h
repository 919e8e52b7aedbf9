/*
 * lockstep-dm command line, QEMU's spelling (see DESIGN.md). Parsed by
 * dm_options_parse (options.c); read by the machine, the QMP setup and
 * qtest. Strings are owned by the struct.
 */
#ifndef LS_DM_OPTIONS_H
#define LS_DM_OPTIONS_H

#include <glib.h>
#include <stdbool.h>

#include "vms/vms.h"

#define DM_MAX_SERIAL 4

typedef enum DmMachineKind {
    DM_MACHINE_PC,
    DM_MACHINE_NONE,
} DmMachineKind;

/* A socket endpoint for a QMP monitor (-qmp, or -chardev socket + -mon). */
typedef enum DmSockKind {
    DM_SOCK_UNIX, /* path */
    DM_SOCK_TCP,  /* host, port */
    DM_SOCK_FD,   /* fd: a listening socket inherited from the launcher */
} DmSockKind;

typedef struct DmSockSpec {
    DmSockKind kind;
    char *path;
    char *host;
    char *port;
    int fd;
    bool server; /* listen (server=on) or connect out (libqtest's way) */
    bool wait;   /* server=on,wait=on: accepted, but we never block */
} DmSockSpec;

typedef struct DmOptions {
    bool start_paused;                 /* -S */
    char *name;                        /* -name */
    DmMachineKind machine;             /* -machine pc|none */
    bool section_footers;              /* -machine pc,section-footers= (on) */
    VmsUnknownPolicy unknown_sections; /* unknown-sections=reject|skip */
    GPtrArray *qmp_specs;              /* -qmp SPEC, and -chardev+-mon pairs
                                          resolved to SPEC strings, char * */
    char *serial[DM_MAX_SERIAL];       /* -serial SPEC, in order */
    int nserial;
    bool nodefaults;     /* -nodefaults */
    char *qtest_spec;    /* -qtest SPEC, or NULL */
    char *qtest_log;     /* -qtest-log PATH */
    bool accel_qtest;    /* -accel qtest: stepped clock */
    uint64_t ram_size;   /* -m SIZE in bytes; 0: no -m */
    char *rtc_base;      /* -rtc base=utc|localtime|DATETIME */
    char *rtc_clock;     /* -rtc clock=host|rt|vm */
    char *boot_order;    /* -boot order=... ("cad" by default) */
    char *boot_once;     /* -boot once=... */
    bool no_fd_bootchk;  /* -no-fd-bootchk */
    char *pidfile;       /* -pidfile */
    bool daemonize;      /* -daemonize */
    GPtrArray *monitors; /* DmSockSpec *, same order as
                            qmp_specs */
    bool show_version;   /* -version */
    bool show_help;      /* -help, -h */
    bool preconfig;      /* --preconfig: QMP waits for x-exit-preconfig */
} DmOptions;

/* Parses argv (QEMU spelling, option keys in any order). On error returns
   false with a message fit for stderr; the caller exits with status 1. */
bool dm_options_parse(DmOptions *opts, int argc, char **argv, GError **errp);
void dm_options_clear(DmOptions *opts);

/* Parses a socket SPEC as -qmp takes it: unix:PATH | tcp:HOST:PORT |
   fd:N, then ,server=on|off ,wait=on|off (or the flags server, nowait).
   `opt` names the option in error messages. */
bool dm_sock_spec_parse(const char *opt, const char *spec, DmSockSpec *out,
                        GError **errp);
void dm_sock_spec_free(DmSockSpec *s);
/* Canonical text of a spec: "unix:PATH,server=on,wait=off" etc. */
char *dm_sock_spec_str(const DmSockSpec *s);
/* The usage text printed by -help. */
const char *dm_options_usage(void);
/* The name of the i-th option taken (without its dash), NULL past the
   last: every one appears in the usage text. */
const char *dm_options_name(size_t i);

#endif
