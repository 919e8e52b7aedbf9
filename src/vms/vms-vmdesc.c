/*
 * vmdesc JSON export: the registered sections described as QEMU 7.2 writes
 * them after a full save (name, instance_id, vmsd_name, version, fields
 * with array_len or index, type, struct, size; subsections that would be
 * written now). Leaves out the "configuration" entry (device-state files
 * have no configuration section).
 */
#include "vms/vms-internal.h"
#include "base/error.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static json_t *vms_desc_json(const VmsDesc *d, const void *state, int version,
                             unsigned depth, GError **errp);

/* QEMU compresses an array to one entry unless elements may differ. */
static bool vms_can_compress(const VmsField *f)
{
    if (f->field_exists) {
        return false;
    }
    if (f->type != VMS_STRUCT) {
        return true;
    }
    if (f->vmsd->subsections && f->vmsd->subsections[0]) {
        return false;
    }
    for (const VmsField *s = f->vmsd->fields; s->name; s++) {
        if (!vms_can_compress(s)) {
            return false;
        }
    }
    return true;
}

/* "name", or "name[k]" when the name occurs more than once in the vmsd. */
static char *vms_unique_name(const VmsDesc *d, const VmsField *f)
{
    unsigned total = 0, before = 0;

    for (const VmsField *o = d->fields; o->name; o++) {
        if (strcmp(o->name, f->name) == 0) {
            before += o < f;
            total++;
        }
    }
    if (total > 1) {
        return g_strdup_printf("%s[%u]", f->name, before);
    }
    return g_strdup(f->name);
}

static size_t vms_elem_size(json_t *st, const VmsField *f)
{
    size_t total = 0;

    if (!st) {
        return vms_wire_size(f);
    }
    json_t *fields = json_object_get(st, "fields");
    size_t i;
    json_t *v;
    json_array_foreach(fields, i, v)
    {
        json_int_t n = json_integer_value(json_object_get(v, "array_len"));
        total += (size_t)json_integer_value(json_object_get(v, "size")) *
                 (n > 0 ? (size_t)n : 1);
    }
    json_t *subs = json_object_get(st, "subsections");
    json_array_foreach(subs, i, v)
    {
        total +=
            2 + strlen(json_string_value(json_object_get(v, "vmsd_name"))) + 4;
        total += vms_elem_size(v, f);
    }
    return total;
}

static bool vms_field_json(const VmsDesc *d, const VmsField *f,
                           const void *state, unsigned depth, json_t *arr,
                           GError **errp)
{
    unsigned n = 1;

    if (f->type != VMS_UNUSED && !vms_field_count(f, state, &n, errp)) {
        return false;
    }
    g_autofree char *name = vms_unique_name(d, f);
    bool compress = vms_can_compress(f);
    for (unsigned i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(name));
        if (n > 1) {
            json_object_set_new(o, compress ? "array_len" : "index",
                                json_integer(compress ? n : i));
        }
        json_object_set_new(o, "type", json_string(vms_type_name(f->type)));
        json_t *st = NULL;
        if (f->type == VMS_STRUCT) {
            const uint8_t *elem =
                (const uint8_t *)state + f->offset + (size_t)i * f->size;
            st = vms_desc_json(f->vmsd, elem, f->vmsd->version_id, depth + 1,
                               errp);
            if (!st) {
                json_decref(o);
                return false;
            }
            json_object_set_new(o, "struct", st);
        }
        json_object_set_new(o, "size",
                            json_integer((json_int_t)vms_elem_size(st, f)));
        json_array_append_new(arr, o);
        if (compress) {
            break;
        }
    }
    return true;
}

static bool vms_subs_json(const VmsDesc *d, const void *state, unsigned depth,
                          json_t *obj, GError **errp)
{
    json_t *subs = NULL;

    for (const VmsDesc *const *s = d->subsections; s && *s; s++) {
        if (!(*s)->needed || !(*s)->needed(state)) {
            continue;
        }
        json_t *j = vms_desc_json(*s, state, (*s)->version_id, depth + 1, errp);
        if (!j) {
            json_decref(subs);
            return false;
        }
        if (!subs) {
            subs = json_array();
        }
        json_array_append_new(subs, j);
    }
    if (subs) {
        json_object_set_new(obj, "subsections", subs);
    }
    return true;
}

static json_t *vms_desc_json(const VmsDesc *d, const void *state, int version,
                             unsigned depth, GError **errp)
{
    if (depth > VMS_MAX_NESTING) {
        ls_error_set(errp, "'%s': nesting deeper than %d", d->name,
                     VMS_MAX_NESTING);
        return NULL;
    }
    json_t *o = json_object();
    json_t *fields = json_array();
    json_object_set_new(o, "vmsd_name", json_string(d->name));
    json_object_set_new(o, "version", json_integer(version));
    json_object_set_new(o, "fields", fields);
    for (const VmsField *f = d->fields; f && f->name; f++) {
        if (vms_field_present(f, state, version) &&
            !vms_field_json(d, f, state, depth, fields, errp)) {
            json_decref(o);
            return NULL;
        }
    }
    if (!vms_subs_json(d, state, depth, o, errp)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *vms_section_json(const VmsSection *s, GError **errp)
{
    json_t *body =
        vms_desc_json(s->vmsd, s->state, s->vmsd->version_id, 0, errp);
    if (!body) {
        g_prefix_error(errp, "section '%s' instance %d: ", s->idstr,
                       s->instance_id);
        return NULL;
    }
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(s->idstr));
    json_object_set_new(o, "instance_id", json_integer(s->instance_id));
    json_object_update(o, body);
    json_decref(body);
    return o;
}

char *vms_vmdesc_export(VmsRegistry *reg, GError **errp)
{
    json_t *root = json_object();
    json_t *devs = json_array();

    json_object_set_new(root, "page_size", json_integer(4096));
    json_object_set_new(root, "devices", devs);
    for (unsigned i = 0; i < reg->sections->len; i++) {
        const VmsSection *s = vms_section_at(reg, i);
        if (s->vmsd->needed && !s->vmsd->needed(s->state)) {
            continue;
        }
        json_t *d = vms_section_json(s, errp);
        if (!d) {
            json_decref(root);
            return NULL;
        }
        json_array_append_new(devs, d);
    }
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(root);
    char *copy = g_strdup(text);
    free(text);
    return copy;
}
