/*
 * vms internals shared by the registry, writer, reader, vmdesc export and
 * generic decoder. Not for device code: devices use vms.h only.
 * Covers: the registry layout, field-walk helpers (existence, element
 * counts, wire widths), big-endian put/get, and the footer scanner used to
 * skip sections that nobody describes.
 */
#ifndef LS_VMS_INTERNAL_H
#define LS_VMS_INTERNAL_H

#include "vms/vms.h"

typedef struct VmsSection {
    char *idstr;
    int instance_id;
    int alias_id;
    uint32_t section_id;
    const VmsDesc *vmsd;
    void *state;
    size_t state_size;
} VmsSection;

struct VmsRegistry {
    GArray *sections; /* VmsSection, registration order */
    uint32_t next_section_id;
};

static inline VmsSection *vms_section_at(const VmsRegistry *reg, unsigned i)
{
    return &g_array_index(reg->sections, VmsSection, i);
}

/* Wire bytes of one element of a non-STRUCT field. */
size_t vms_wire_size(const VmsField *f);
/* QEMU's VMStateInfo name of a field type ("uint8", "int64 equal", ...). */
const char *vms_type_name(VmsType t);
/* Whether the field is on the wire for `state` at description version. */
bool vms_field_present(const VmsField *f, const void *state, int version);
/*
 * Element count of a field: num (fixed, at least 1) or the count member
 * (variable). Fails when a variable count exceeds the capacity `num`.
 */
bool vms_field_count(const VmsField *f, const void *state, unsigned *n,
                     GError **errp);

static inline void vms_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static inline void vms_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static inline void vms_put_be64(uint8_t *p, uint64_t v)
{
    vms_put_be32(p, v >> 32);
    vms_put_be32(p + 4, (uint32_t)v);
}

static inline uint16_t vms_get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t vms_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static inline uint64_t vms_get_be64(const uint8_t *p)
{
    return (uint64_t)vms_get_be32(p) << 32 | vms_get_be32(p + 4);
}

/*
 * Whether a well-formed record starts at `pos`: EOF as the very last byte,
 * or a FULL section header whose printable idstr and ids fit in the
 * buffer (QEMU's idstrs are printable ASCII).
 */
bool vms_record_plausible(const uint8_t *buf, size_t len, size_t pos);
/*
 * Finds the footer of the section with id `sid` whose payload starts at
 * `from`: the first 0x7E + be32(sid) followed by a plausible record.
 * Stores the footer's offset in *footer. False when there is none.
 */
bool vms_find_footer(const uint8_t *buf, size_t len, size_t from, uint32_t sid,
                     size_t *footer);

#endif
