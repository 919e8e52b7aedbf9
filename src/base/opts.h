/*
 * QEMU-style "key=value,key=value" option strings (QemuOpts syntax), the
 * one splitter for every option string lockstep parses: a literal comma is
 * written ",,"; an element without "=" is either the option's implied key
 * (the first element, e.g. "pc" in -machine pc, PATH in unix:PATH,...) or
 * a bare flag ("server", "nowait"). Which keys an option takes is the
 * caller's business.
 */
#ifndef LS_BASE_OPTS_H
#define LS_BASE_OPTS_H

#include <glib.h>
#include <stdbool.h>

typedef struct LsOpt {
    char *key;
    char *val; /* NULL for a bare flag */
} LsOpt;

/* Splits `s`; with `implied` set, a first element without "=" becomes
   implied=element. Empty elements ("a=1,") are dropped. Returns a
   GPtrArray of LsOpt * (free with g_ptr_array_unref). */
GPtrArray *ls_opts_split(const char *s, const char *implied);
/* Value of the last `key` given with a value, or NULL. */
const char *ls_opts_get(GPtrArray *opts, const char *key);
bool ls_opts_has(GPtrArray *opts, const char *key);
/* `s` with every comma doubled, fit to be split again. */
char *ls_opts_escape(const char *s);

/* on/yes/true/y and off/no/false/n, as QEMU's qapi_bool_parse. Errors
   read "[WHAT: ]Parameter 'KEY' expects 'on' or 'off'" (`what` may be
   NULL). */
bool ls_opts_parse_bool(const char *what, const char *key, const char *val,
                        bool *out, GError **errp);
/* A socket's server=/wait= keys, with QEMU's old bare flags "server"
   (server=on) and "nowait" (wait=off): *server defaults to false, *wait
   to true. Other keys are left to the caller. */
bool ls_opts_server_wait(GPtrArray *opts, const char *what, bool *server,
                         bool *wait, GError **errp);
/* Fails with "[WHAT: ]Invalid parameter 'K'" on the first key not in the
   NULL-terminated `allowed` list. */
bool ls_opts_check_keys(GPtrArray *opts, const char *what,
                        const char *const *allowed, GError **errp);

#endif
