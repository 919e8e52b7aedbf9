/*
 * QEMU-style "key=value,key=value" option strings (QemuOpts syntax): a
 * literal comma is written ",,", an element without "=" is either the
 * option's implied key (the first element, e.g. "pc" in -machine pc) or a
 * bare flag ("server", "nowait"). Used by options.c only.
 */
#ifndef LS_DM_OPTIONS_KV_H
#define LS_DM_OPTIONS_KV_H

#include <glib.h>
#include <stdbool.h>

typedef struct DmKv {
    char *key;
    char *val; /* NULL for a bare flag */
} DmKv;

/* Splits `s`; with `implied` set, a first element without "=" becomes
   implied=element. Returns a GPtrArray of DmKv * (free with
   g_ptr_array_unref). */
GPtrArray *dm_kv_split(const char *s, const char *implied);
/* Value of the last `key`, or NULL. */
const char *dm_kv_get(GPtrArray *kv, const char *key);
bool dm_kv_has(GPtrArray *kv, const char *key);
/* on/yes/true/y and off/no/false/n, as QEMU's qapi_bool_parse. */
bool dm_kv_parse_bool(const char *opt, const char *key, const char *val,
                      bool *out, GError **errp);
/* Fails with "OPT: Invalid parameter 'K'" on the first key not in the
   NULL-terminated `allowed` list. */
bool dm_kv_check_keys(GPtrArray *kv, const char *opt,
                      const char *const *allowed, GError **errp);

/* -chardev socket's keys (path | host+port | fd, server, wait) into a
   DmSockSpec (options-sock.c). */
typedef struct DmSockSpec DmSockSpec;
bool dm_sock_spec_from_chardev(const char *opt, GPtrArray *kv, DmSockSpec *out,
                               GError **errp);

#endif
