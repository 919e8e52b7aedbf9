/*
 * The registry of sections (idstr + instance id, alias, section id counter)
 * and the field-walk helpers every encoder and decoder shares. Leaves out:
 * QEMU's compat names for bus-path idstrs (our devices have none) and the
 * priority ordering (we keep registration order, which is QEMU's order for
 * the devices we model).
 */
#include "vms/vms-internal.h"
#include "base/error.h"

#include <string.h>

VmsRegistry *vms_registry_new(void)
{
    VmsRegistry *reg = g_new0(VmsRegistry, 1);

    reg->sections = g_array_new(FALSE, TRUE, sizeof(VmsSection));
    return reg;
}

void vms_registry_free(VmsRegistry *reg)
{
    if (!reg) {
        return;
    }
    for (unsigned i = 0; i < reg->sections->len; i++) {
        g_free(vms_section_at(reg, i)->idstr);
    }
    g_array_free(reg->sections, TRUE);
    g_free(reg);
}

static int vms_next_instance(const VmsRegistry *reg, const char *idstr)
{
    int next = 0;

    for (unsigned i = 0; i < reg->sections->len; i++) {
        const VmsSection *s = vms_section_at(reg, i);
        if (strcmp(s->idstr, idstr) == 0 && s->instance_id >= next) {
            next = s->instance_id + 1;
        }
    }
    return next;
}

bool vms_register(VmsRegistry *reg, const char *idstr, int instance_id,
                  int alias_id, const VmsDesc *vmsd, void *state,
                  size_t state_size, GError **errp)
{
    size_t n = strlen(idstr);

    if (n == 0 || n > 255) {
        ls_error_set(errp, "vms: idstr '%s' must be 1..255 bytes", idstr);
        return false;
    }
    if (instance_id == -1) {
        instance_id = vms_next_instance(reg, idstr);
    }
    for (unsigned i = 0; i < reg->sections->len; i++) {
        const VmsSection *s = vms_section_at(reg, i);
        if (strcmp(s->idstr, idstr) == 0 && s->instance_id == instance_id) {
            ls_error_set(errp,
                         "Detected duplicate SaveStateEntry: "
                         "id=%s, instance_id=0x%x",
                         idstr, instance_id);
            return false;
        }
    }
    VmsSection s = {
        .idstr = g_strdup(idstr),
        .instance_id = instance_id,
        .alias_id = alias_id,
        .section_id = reg->next_section_id++,
        .vmsd = vmsd,
        .state = state,
        .state_size = state_size,
    };
    g_array_append_val(reg->sections, s);
    return true;
}

void vms_registry_skip_section_ids(VmsRegistry *reg, unsigned n)
{
    reg->next_section_id += n;
}

unsigned vms_registry_count(const VmsRegistry *reg)
{
    return reg->sections->len;
}

const char *vms_registry_idstr(const VmsRegistry *reg, unsigned i)
{
    return i < reg->sections->len ? vms_section_at(reg, i)->idstr : NULL;
}

int vms_registry_instance(const VmsRegistry *reg, unsigned i)
{
    return i < reg->sections->len ? vms_section_at(reg, i)->instance_id : -1;
}

int vms_registry_find(const VmsRegistry *reg, const char *idstr,
                      uint32_t instance)
{
    for (unsigned i = 0; i < reg->sections->len; i++) {
        const VmsSection *s = vms_section_at(reg, i);
        if (strcmp(s->idstr, idstr) == 0 &&
            ((uint32_t)s->instance_id == instance ||
             (s->alias_id >= 0 && (uint32_t)s->alias_id == instance))) {
            return (int)i;
        }
    }
    return -1;
}

size_t vms_wire_size(const VmsField *f)
{
    switch (f->type) {
    case VMS_BOOL:
    case VMS_INT8:
    case VMS_UINT8:
    case VMS_UINT8_EQUAL:
        return 1;
    case VMS_INT16:
    case VMS_UINT16:
    case VMS_UINT16_EQUAL:
        return 2;
    case VMS_INT32:
    case VMS_UINT32:
    case VMS_INT32_EQUAL:
    case VMS_UINT32_EQUAL:
    case VMS_INT32_LE:
        return 4;
    case VMS_INT64:
    case VMS_UINT64:
    case VMS_UINT64_EQUAL:
    case VMS_TIMER:
        return 8;
    case VMS_BUFFER:
    case VMS_UNUSED:
    case VMS_STRUCT:
        return f->size;
    }
    return 0;
}

const char *vms_type_name(VmsType t)
{
    static const char *const names[] = {
        [VMS_BOOL] = "bool",
        [VMS_INT8] = "int8",
        [VMS_INT16] = "int16",
        [VMS_INT32] = "int32",
        [VMS_INT64] = "int64",
        [VMS_UINT8] = "uint8",
        [VMS_UINT16] = "uint16",
        [VMS_UINT32] = "uint32",
        [VMS_UINT64] = "uint64",
        [VMS_INT32_EQUAL] = "int32 equal",
        [VMS_UINT8_EQUAL] = "uint8 equal",
        [VMS_UINT16_EQUAL] = "uint16 equal",
        [VMS_UINT32_EQUAL] = "uint32 equal",
        [VMS_UINT64_EQUAL] = "int64 equal",
        [VMS_INT32_LE] = "int32 le",
        [VMS_TIMER] = "timer",
        [VMS_BUFFER] = "buffer",
        [VMS_UNUSED] = "unused_buffer",
        [VMS_STRUCT] = "struct",
    };
    return (unsigned)t < G_N_ELEMENTS(names) ? names[t] : "unknown";
}

bool vms_field_present(const VmsField *f, const void *state, int version)
{
    if (f->field_exists) {
        return f->field_exists(state, version);
    }
    return f->version_id <= version;
}

bool vms_field_count(const VmsField *f, const void *state, unsigned *n,
                     GError **errp)
{
    const uint8_t *p = (const uint8_t *)state + f->num_offset;
    uint64_t v;

    switch (f->count_type) {
    case VMS_COUNT_NONE:
        *n = f->num ? f->num : 1;
        return true;
    case VMS_COUNT_UINT8:
        v = *p;
        break;
    case VMS_COUNT_UINT16: {
        uint16_t x;
        memcpy(&x, p, sizeof(x));
        v = x;
        break;
    }
    case VMS_COUNT_INT32: {
        int32_t x;
        memcpy(&x, p, sizeof(x));
        v = x < 0 ? UINT64_MAX : (uint64_t)x;
        break;
    }
    default: {
        uint32_t x;
        memcpy(&x, p, sizeof(x));
        v = x;
        break;
    }
    }
    if (v > f->num) {
        ls_error_set(errp,
                     "element count %" G_GINT64_FORMAT " exceeds capacity %u",
                     (gint64)v, f->num);
        return false;
    }
    *n = (unsigned)v;
    return true;
}

bool vms_record_plausible(const uint8_t *buf, size_t len, size_t pos)
{
    if (pos >= len) {
        return false;
    }
    if (buf[pos] == VMS_SECTION_EOF) {
        return pos + 1 == len;
    }
    if (buf[pos] != VMS_SECTION_FULL || len - pos < 6) {
        return false;
    }
    size_t n = buf[pos + 5];
    if (n == 0 || len - pos - 6 < n + 8) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!g_ascii_isgraph(buf[pos + 6 + i])) {
            return false;
        }
    }
    return true;
}

bool vms_find_footer(const uint8_t *buf, size_t len, size_t from, uint32_t sid,
                     size_t *footer)
{
    for (size_t p = from; p < len && len - p >= 5; p++) {
        const uint8_t *q = memchr(buf + p, VMS_SECTION_FOOTER, len - p);
        if (!q) {
            return false;
        }
        p = (size_t)(q - buf);
        if (len - p >= 5 && vms_get_be32(buf + p + 1) == sid &&
            vms_record_plausible(buf, len, p + 5)) {
            *footer = p;
            return true;
        }
    }
    return false;
}
