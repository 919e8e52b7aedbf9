/*
 * lockstep diff A B [--schema VMDESC.json] [--json]: compares two
 * device-state files section by section (matched by idstr and instance);
 * with a schema, field by field. Exit 0 same, 1 differ, 2 error.
 * Section ids and footers are framing, not state: they are not compared.
 */
#include "tools.h"

#include <stdio.h>
#include <string.h>

typedef struct DiffOut {
    json_t *list; /* one object per difference */
    bool as_json;
} DiffOut;

static void diff_report(DiffOut *o, const VmsDecSection *s, const char *field,
                        const char *a, const char *b)
{
    json_t *j = json_pack("{s:s, s:I}", "section", s->idstr, "instance",
                          (json_int_t)s->instance_id);
    if (field) {
        json_object_set_new(j, "field", json_string(field));
    }
    json_object_set_new(j, "a", json_string(a));
    json_object_set_new(j, "b", json_string(b));
    json_array_append_new(o->list, j);
    if (!o->as_json) {
        printf("section '%s' instance %u%s%s%s: %s -> %s\n", s->idstr,
               s->instance_id, field ? ": field '" : "", field ? field : "",
               field ? "'" : "", a, b);
    }
}

static void diff_collect(const VmsDecNode *n, const char *base,
                         GPtrArray *paths, GHashTable *map)
{
    for (guint i = 0; i < n->children->len; i++) {
        const VmsDecNode *k = n->children->pdata[i];
        char *path = g_strconcat(base, k->name, NULL);
        if (!k->children) {
            g_ptr_array_add(paths, path);
            g_hash_table_insert(map, path, (gpointer)k);
            continue;
        }
        if (!strcmp(k->type, "array")) {
            diff_collect(k, base, paths, map);
        } else {
            g_autofree char *sub = g_strconcat(path, "/", NULL);
            diff_collect(k, sub, paths, map);
        }
        g_free(path);
    }
}

static void diff_fields(DiffOut *o, const VmsDecSection *a,
                        const VmsDecSection *b)
{
    g_autoptr(GPtrArray) pa = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) pb = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) ma = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) mb = g_hash_table_new(g_str_hash, g_str_equal);

    diff_collect(a->root, "", pa, ma);
    diff_collect(b->root, "", pb, mb);
    for (guint i = 0; i < pa->len; i++) {
        const VmsDecNode *x = g_hash_table_lookup(ma, pa->pdata[i]);
        const VmsDecNode *y = g_hash_table_lookup(mb, pa->pdata[i]);
        g_autofree char *vx = vms_dec_node_value(x);
        if (!y) {
            diff_report(o, a, pa->pdata[i], vx, "(absent)");
        } else if (x->size != y->size ||
                   memcmp(x->data, y->data, x->size) != 0) {
            g_autofree char *vy = vms_dec_node_value(y);
            diff_report(o, a, pa->pdata[i], vx, vy);
        }
    }
    for (guint i = 0; i < pb->len; i++) {
        if (!g_hash_table_contains(ma, pb->pdata[i])) {
            const VmsDecNode *y = g_hash_table_lookup(mb, pb->pdata[i]);
            g_autofree char *vy = vms_dec_node_value(y);
            diff_report(o, b, pb->pdata[i], "(absent)", vy);
        }
    }
}

static void diff_section(DiffOut *o, const VmsDecSection *a, const uint8_t *ba,
                         const VmsDecSection *b, const uint8_t *bb)
{
    const uint8_t *pa = ba + a->payload_offset, *pb = bb + b->payload_offset;

    if (a->version_id != b->version_id) {
        g_autofree char *x = g_strdup_printf("version %u", a->version_id);
        g_autofree char *y = g_strdup_printf("version %u", b->version_id);
        diff_report(o, a, NULL, x, y);
        return;
    }
    if (a->payload_len == b->payload_len &&
        memcmp(pa, pb, a->payload_len) == 0) {
        return;
    }
    if (a->root && b->root) {
        diff_fields(o, a, b);
        return;
    }
    size_t i = 0;
    while (i < a->payload_len && i < b->payload_len && pa[i] == pb[i]) {
        i++;
    }
    g_autofree char *x = g_strdup_printf("%zu payload bytes", a->payload_len);
    g_autofree char *y = g_strdup_printf("%zu payload bytes, first "
                                         "difference at payload byte %zu",
                                         b->payload_len, i);
    diff_report(o, a, NULL, x, y);
}

static const VmsDecSection *diff_find(const VmsDecoded *d,
                                      const VmsDecSection *s)
{
    for (guint i = 0; i < d->sections->len; i++) {
        const VmsDecSection *t = d->sections->pdata[i];
        if (!strcmp(t->idstr, s->idstr) && t->instance_id == s->instance_id) {
            return t;
        }
    }
    return NULL;
}

static void diff_all(DiffOut *o, const VmsDecoded *a, const GByteArray *ba,
                     const VmsDecoded *b, const GByteArray *bb)
{
    for (guint i = 0; i < a->sections->len; i++) {
        const VmsDecSection *s = a->sections->pdata[i];
        const VmsDecSection *t = diff_find(b, s);
        if (!t) {
            diff_report(o, s, NULL, "present", "(absent)");
        } else {
            diff_section(o, s, ba->data, t, bb->data);
        }
    }
    for (guint i = 0; i < b->sections->len; i++) {
        const VmsDecSection *t = b->sections->pdata[i];
        if (!diff_find(a, t)) {
            diff_report(o, t, NULL, "(absent)", "present");
        }
    }
}

int tools_cmd_diff(int argc, char **argv)
{
    ToolsSetup s = {.nfiles = 2, .json_option = true, .own_schema = true};
    g_autoptr(GError) err = NULL;

    if (!tools_setup(&s, argc, argv, "A B - compare two device-state files",
                     &err)) {
        tools_setup_print_error(&s, "diff", err);
        tools_setup_clear(&s);
        return TOOLS_EXIT_ERROR;
    }
    DiffOut o = {.list = json_array(), .as_json = s.as_json};
    diff_all(&o, s.in[0].dec, s.in[0].buf, s.in[1].dec, s.in[1].buf);
    bool same = json_array_size(o.list) == 0;
    if (s.as_json) {
        json_t *j =
            json_pack("{s:b, s:O}", "same", same, "differences", o.list);
        json_dumpf(j, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
        printf("\n");
        json_decref(j);
    } else if (same) {
        printf("same\n");
    }
    json_decref(o.list);
    tools_setup_clear(&s);
    return same ? TOOLS_EXIT_OK : TOOLS_EXIT_DIFFER;
}
