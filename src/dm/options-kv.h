/*
 * Shared by options.c and options-sock.c: the option-string splitter
 * (base/opts.h) and the bridge from -chardev socket's keys to a
 * DmSockSpec.
 */
#ifndef LS_DM_OPTIONS_KV_H
#define LS_DM_OPTIONS_KV_H

#include <glib.h>
#include <stdbool.h>

#include "base/opts.h"

/* -chardev socket's keys (path | host+port | fd, server, wait) into a
   DmSockSpec (options-sock.c). */
typedef struct DmSockSpec DmSockSpec;
bool dm_sock_spec_from_chardev(const char *opt, GPtrArray *kv, DmSockSpec *out,
                               GError **errp);

#endif
