/*
 * The generic decoder's results as text and JSON (see decode.h): leaf
 * values for dump and diff, the whole tree for `lockstep dump --json`.
 */
#include "vms/decode.h"

#include <string.h>

static bool vms_dec_is_int(const VmsDecNode *n, bool *is_signed)
{
    static const char *const ints[] = {
        "int8",        "int16",    "int32", "int64",
        "int32 equal", "int32 le", "timer", NULL,
    };
    static const char *const uints[] = {
        "uint8",       "uint16",       "uint32",       "uint64",      "bool",
        "uint8 equal", "uint16 equal", "uint32 equal", "int64 equal", NULL,
    };

    *is_signed = g_strv_contains(ints, n->type);
    return (*is_signed || g_strv_contains(uints, n->type)) &&
           (n->size == 1 || n->size == 2 || n->size == 4 || n->size == 8);
}

char *vms_dec_node_value(const VmsDecNode *n)
{
    bool sgn;

    if (vms_dec_is_int(n, &sgn)) {
        uint64_t v = 0;
        for (size_t i = 0; i < n->size; i++) {
            v = v << 8 | n->data[i];
        }
        if (sgn && n->size < 8 && (n->data[0] & 0x80)) {
            v |= ~(uint64_t)0 << (n->size * 8);
        }
        return sgn ? g_strdup_printf("%" G_GINT64_FORMAT, (gint64)v)
                   : g_strdup_printf("%" G_GUINT64_FORMAT, (guint64)v);
    }
    GString *s = g_string_sized_new(n->size * 2 + 1);
    for (size_t i = 0; i < n->size; i++) {
        g_string_append_printf(s, "%02x", n->data[i]);
    }
    return g_string_free(s, FALSE);
}

static json_t *vms_dec_node_json(const VmsDecNode *n)
{
    json_t *o =
        json_pack("{s:s, s:s, s:I, s:I}", "name", n->name, "type", n->type,
                  "offset", (json_int_t)n->offset, "size", (json_int_t)n->size);
    if (!n->children) {
        g_autofree char *v = vms_dec_node_value(n);
        json_object_set_new(o, "value", json_string(v));
        return o;
    }
    if (!strcmp(n->type, "subsection")) {
        json_object_set_new(o, "version", json_integer(n->version));
    }
    json_t *kids = json_array();
    for (guint i = 0; i < n->children->len; i++) {
        json_array_append_new(kids, vms_dec_node_json(n->children->pdata[i]));
    }
    json_object_set_new(o, "fields", kids);
    return o;
}

json_t *vms_decoded_to_json(const VmsDecoded *d)
{
    json_t *secs = json_array();

    for (guint i = 0; i < d->sections->len; i++) {
        const VmsDecSection *s = d->sections->pdata[i];
        json_t *o = json_pack(
            "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "idstr", s->idstr,
            "instance_id", (json_int_t)s->instance_id, "version_id",
            (json_int_t)s->version_id, "section_id", (json_int_t)s->section_id,
            "offset", (json_int_t)s->offset, "payload_offset",
            (json_int_t)s->payload_offset, "payload_len",
            (json_int_t)s->payload_len, "decoded", s->decoded);
        if (s->problem) {
            json_object_set_new(o, "problem", json_string(s->problem));
        }
        if (s->root) {
            json_t *r = vms_dec_node_json(s->root);
            json_object_set(o, "fields", json_object_get(r, "fields"));
            json_decref(r);
        }
        json_array_append_new(secs, o);
    }
    return json_pack("{s:b, s:I, s:I, s:o}", "footers", d->footers,
                     "eof_offset", (json_int_t)d->eof_offset, "length",
                     (json_int_t)d->len, "sections", secs);
}
