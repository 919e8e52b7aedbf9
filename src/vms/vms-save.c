/*
 * The stream writer: QEVM v3 header, FULL sections, subsections, optional
 * footers and EOF, by walking the const descriptions. Leaves out START/
 * PART/END (iterative devices), the configuration section and the vmdesc
 * trailer: a device-state file has none of them.
 */
#include "vms/vms-internal.h"
#include "base/error.h"

#include <string.h>

static bool vms_save_desc(const VmsDesc *d, const void *state, GByteArray *out,
                          unsigned depth, GError **errp);

static void vms_put_scalar(const VmsField *f, const uint8_t *elem,
                           GByteArray *out)
{
    uint8_t b[8];
    size_t w = vms_wire_size(f);

    switch (w) {
    case 1:
        b[0] = f->type == VMS_BOOL ? (*elem != 0) : *elem;
        break;
    case 2: {
        uint16_t v;
        memcpy(&v, elem, 2);
        vms_put_be16(b, v);
        break;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, elem, 4);
        vms_put_be32(b, v);
        break;
    }
    default: {
        uint64_t v;
        memcpy(&v, elem, 8);
        vms_put_be64(b, v);
        break;
    }
    }
    g_byte_array_append(out, b, (guint)w);
}

static bool vms_save_field(const VmsField *f, const void *state,
                           GByteArray *out, unsigned depth, GError **errp)
{
    const uint8_t *base = (const uint8_t *)state + f->offset;
    unsigned n;

    if (f->type == VMS_UNUSED) {
        guint at = out->len;
        g_byte_array_set_size(out, at + (guint)f->size);
        memset(out->data + at, 0, f->size);
        return true;
    }
    if (!vms_field_count(f, state, &n, errp)) {
        g_prefix_error(errp, "field '%s': ", f->name);
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *elem = base + (size_t)i * f->size;
        if (f->type == VMS_STRUCT) {
            if (!vms_save_desc(f->vmsd, elem, out, depth + 1, errp)) {
                g_prefix_error(errp, "field '%s[%u]': ", f->name, i);
                return false;
            }
        } else if (f->type == VMS_BUFFER) {
            g_byte_array_append(out, elem, (guint)f->size);
        } else {
            vms_put_scalar(f, elem, out);
        }
    }
    return true;
}

static void vms_put_counted(GByteArray *out, const char *s)
{
    uint8_t n = (uint8_t)strlen(s);

    g_byte_array_append(out, &n, 1);
    g_byte_array_append(out, (const uint8_t *)s, n);
}

static void vms_put_u32(GByteArray *out, uint32_t v)
{
    uint8_t b[4];

    vms_put_be32(b, v);
    g_byte_array_append(out, b, 4);
}

static bool vms_save_subsections(const VmsDesc *d, const void *state,
                                 GByteArray *out, unsigned depth, GError **errp)
{
    for (const VmsDesc *const *s = d->subsections; s && *s; s++) {
        const VmsDesc *sub = *s;
        uint8_t marker = VMS_SECTION_SUB;
        if (!sub->needed || !sub->needed(state)) {
            continue;
        }
        g_byte_array_append(out, &marker, 1);
        vms_put_counted(out, sub->name);
        vms_put_u32(out, (uint32_t)sub->version_id);
        if (!vms_save_desc(sub, state, out, depth + 1, errp)) {
            return false;
        }
    }
    return true;
}

static bool vms_save_desc(const VmsDesc *d, const void *state, GByteArray *out,
                          unsigned depth, GError **errp)
{
    if (depth > VMS_MAX_NESTING) {
        ls_error_set(errp, "'%s': nesting deeper than %d", d->name,
                     VMS_MAX_NESTING);
        return false;
    }
    for (const VmsField *f = d->fields; f && f->name; f++) {
        if (!vms_field_present(f, state, d->version_id)) {
            continue;
        }
        if (!vms_save_field(f, state, out, depth, errp)) {
            return false;
        }
    }
    return vms_save_subsections(d, state, out, depth, errp);
}

static bool vms_save_section(const VmsSection *s, const VmsSaveOpts *opts,
                             GByteArray *out, GError **errp)
{
    uint8_t type = VMS_SECTION_FULL;

    if (s->vmsd->needed && !s->vmsd->needed(s->state)) {
        return true;
    }
    g_byte_array_append(out, &type, 1);
    vms_put_u32(out, s->section_id);
    vms_put_counted(out, s->idstr);
    vms_put_u32(out, (uint32_t)s->instance_id);
    vms_put_u32(out, (uint32_t)s->vmsd->version_id);
    if (!vms_save_desc(s->vmsd, s->state, out, 0, errp)) {
        g_prefix_error(errp, "section '%s' instance %d: ", s->idstr,
                       s->instance_id);
        return false;
    }
    if (opts && opts->footers) {
        type = VMS_SECTION_FOOTER;
        g_byte_array_append(out, &type, 1);
        vms_put_u32(out, s->section_id);
    }
    return true;
}

static bool vms_run_pre_save(VmsRegistry *reg, GError **errp)
{
    for (unsigned i = 0; i < reg->sections->len; i++) {
        VmsSection *s = vms_section_at(reg, i);
        if (s->vmsd->pre_save && !s->vmsd->pre_save(s->state, errp)) {
            g_prefix_error(errp,
                           "section '%s' instance %d: pre-save "
                           "failed: ",
                           s->idstr, s->instance_id);
            return false;
        }
    }
    return true;
}

bool vms_save_all(VmsRegistry *reg, const VmsSaveOpts *opts, GByteArray *out,
                  GError **errp)
{
    guint start = out->len;
    uint8_t hdr[8];

    if (!vms_run_pre_save(reg, errp)) {
        return false;
    }
    vms_put_be32(hdr, VMS_FILE_MAGIC);
    vms_put_be32(hdr + 4, VMS_FILE_VERSION);
    g_byte_array_append(out, hdr, 8);
    for (unsigned i = 0; i < reg->sections->len; i++) {
        if (!vms_save_section(vms_section_at(reg, i), opts, out, errp)) {
            g_byte_array_set_size(out, start);
            return false;
        }
    }
    hdr[0] = VMS_SECTION_EOF;
    g_byte_array_append(out, hdr, 1);
    return true;
}
