/*
 * QemuOpts-style option strings (see opts.h).
 */
#include "base/opts.h"

#include <string.h>

#include "base/error.h"

static void ls_opt_free(gpointer p)
{
    LsOpt *o = p;

    g_free(o->key);
    g_free(o->val);
    g_free(o);
}

/* Reads one element up to an unescaped comma; advances *s past it. */
static char *ls_opts_next_elem(const char **s)
{
    GString *out = g_string_new(NULL);
    const char *p = *s;

    while (*p) {
        if (p[0] == ',' && p[1] == ',') {
            g_string_append_c(out, ',');
            p += 2;
            continue;
        }
        if (p[0] == ',') {
            p++;
            break;
        }
        g_string_append_c(out, *p++);
    }
    *s = p;
    return g_string_free(out, FALSE);
}

GPtrArray *ls_opts_split(const char *s, const char *implied)
{
    GPtrArray *arr = g_ptr_array_new_with_free_func(ls_opt_free);
    bool first = true;

    while (*s || first) {
        char *elem = ls_opts_next_elem(&s);
        char *eq = strchr(elem, '=');
        LsOpt *o = g_new0(LsOpt, 1);

        if (eq) {
            o->key = g_strndup(elem, eq - elem);
            o->val = g_strdup(eq + 1);
            g_free(elem);
        } else if (first && implied) {
            o->key = g_strdup(implied);
            o->val = elem;
        } else {
            o->key = elem;
        }
        first = false;
        if (!o->key[0] && !o->val) {
            ls_opt_free(o); /* empty element: "a=1," */
            continue;
        }
        g_ptr_array_add(arr, o);
    }
    return arr;
}

const char *ls_opts_get(GPtrArray *opts, const char *key)
{
    const char *val = NULL;

    for (guint i = 0; i < opts->len; i++) {
        LsOpt *o = g_ptr_array_index(opts, i);

        if (!strcmp(o->key, key) && o->val) {
            val = o->val;
        }
    }
    return val;
}

bool ls_opts_has(GPtrArray *opts, const char *key)
{
    for (guint i = 0; i < opts->len; i++) {
        LsOpt *o = g_ptr_array_index(opts, i);

        if (!strcmp(o->key, key)) {
            return true;
        }
    }
    return false;
}

char *ls_opts_escape(const char *s)
{
    g_auto(GStrv) parts = g_strsplit(s, ",", -1);

    return g_strjoinv(",,", parts);
}

bool ls_opts_parse_bool(const char *what, const char *key, const char *val,
                        bool *out, GError **errp)
{
    static const char *const yes[] = {"on", "yes", "true", "y", NULL};
    static const char *const no[] = {"off", "no", "false", "n", NULL};

    if (val && g_strv_contains(yes, val)) {
        *out = true;
        return true;
    }
    if (val && g_strv_contains(no, val)) {
        *out = false;
        return true;
    }
    ls_error_set(errp, "%s%sParameter '%s' expects 'on' or 'off'",
                 what ? what : "", what ? ": " : "", key);
    return false;
}

bool ls_opts_server_wait(GPtrArray *opts, const char *what, bool *server,
                         bool *wait, GError **errp)
{
    *server = false;
    *wait = true;
    for (guint i = 0; i < opts->len; i++) {
        LsOpt *o = g_ptr_array_index(opts, i);
        bool *dst = !strcmp(o->key, "server") ? server
                    : !strcmp(o->key, "wait") ? wait
                                              : NULL;

        if (!strcmp(o->key, "nowait") && !o->val) {
            *wait = false;
        } else if (dst && !o->val) {
            *dst = true;
        } else if (dst &&
                   !ls_opts_parse_bool(what, o->key, o->val, dst, errp)) {
            return false;
        }
    }
    return true;
}

bool ls_opts_check_keys(GPtrArray *opts, const char *what,
                        const char *const *allowed, GError **errp)
{
    for (guint i = 0; i < opts->len; i++) {
        LsOpt *o = g_ptr_array_index(opts, i);

        if (!g_strv_contains(allowed, o->key)) {
            ls_error_set(errp, "%s%sInvalid parameter '%s'", what ? what : "",
                         what ? ": " : "", o->key);
            return false;
        }
    }
    return true;
}
