/*
 * QemuOpts-style "key=value,..." splitting (see options-kv.h). Covers the
 * syntax only; which keys an option takes is options.c's business.
 */
#include "dm/options-kv.h"

#include <string.h>

#include "base/error.h"

static void dm_kv_free(gpointer p)
{
    DmKv *kv = p;

    g_free(kv->key);
    g_free(kv->val);
    g_free(kv);
}

/* Reads one element up to an unescaped comma; advances *s past it. */
static char *dm_kv_next_elem(const char **s)
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

GPtrArray *dm_kv_split(const char *s, const char *implied)
{
    GPtrArray *arr = g_ptr_array_new_with_free_func(dm_kv_free);
    bool first = true;

    while (*s || first) {
        char *elem = dm_kv_next_elem(&s);
        char *eq = strchr(elem, '=');
        DmKv *kv = g_new0(DmKv, 1);

        if (eq) {
            kv->key = g_strndup(elem, eq - elem);
            kv->val = g_strdup(eq + 1);
            g_free(elem);
        } else if (first && implied) {
            kv->key = g_strdup(implied);
            kv->val = elem;
        } else {
            kv->key = elem;
        }
        first = false;
        if (!kv->key[0] && !kv->val) {
            dm_kv_free(kv); /* empty element: "a=1," */
            continue;
        }
        g_ptr_array_add(arr, kv);
    }
    return arr;
}

const char *dm_kv_get(GPtrArray *kv, const char *key)
{
    const char *val = NULL;

    for (guint i = 0; i < kv->len; i++) {
        DmKv *e = g_ptr_array_index(kv, i);

        if (!strcmp(e->key, key) && e->val) {
            val = e->val;
        }
    }
    return val;
}

bool dm_kv_has(GPtrArray *kv, const char *key)
{
    for (guint i = 0; i < kv->len; i++) {
        DmKv *e = g_ptr_array_index(kv, i);

        if (!strcmp(e->key, key)) {
            return true;
        }
    }
    return false;
}

bool dm_kv_parse_bool(const char *opt, const char *key, const char *val,
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
    ls_error_set(errp, "%s: Parameter '%s' expects 'on' or 'off'", opt, key);
    return false;
}

bool dm_kv_check_keys(GPtrArray *kv, const char *opt,
                      const char *const *allowed, GError **errp)
{
    for (guint i = 0; i < kv->len; i++) {
        DmKv *e = g_ptr_array_index(kv, i);

        if (!g_strv_contains(allowed, e->key)) {
            ls_error_set(errp, "%s: Invalid parameter '%s'", opt, e->key);
            return false;
        }
    }
    return true;
}
