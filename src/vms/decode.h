/*
 * Generic decoder: walks a device-state stream section by section WITHOUT
 * our own descriptions, driven by a QEMU vmdesc JSON (as QEMU publishes
 * after a full save, or as vms_vmdesc_export writes), into a tree of fields
 * with their stream offsets and sizes. With no vmdesc it still walks the
 * sections, delimiting payloads by their footers.
 *
 * As QEMU's loader, a subsection is detected by peeking (marker 0x05, a
 * name prefixed by the parent's vmsd name); the vmdesc's subsection list is
 * the set of allowed subsections. A section whose device the vmdesc lacks,
 * or whose version differs, or whose decoding does not end at its footer,
 * is skipped via the footer and reported (`problem`), so every byte of the
 * stream is accounted for. Without footers such a section is an error.
 *
 * Leaves out: START/PART/END sections, the configuration section and a
 * vmdesc trailer inside the stream (device-state files have none).
 */
#ifndef LS_VMS_DECODE_H
#define LS_VMS_DECODE_H

#include "vms/vms.h"

#include <jansson.h>

typedef struct VmsDecNode VmsDecNode;
struct VmsDecNode {
    char *name;          /* "count", "channels[1]", or a subsection name */
    char *type;          /* vmdesc type; "subsection" for subsections */
    size_t offset;       /* stream offset of the first byte */
    size_t size;         /* bytes on the wire, children included */
    const uint8_t *data; /* the bytes, inside the caller's stream buffer */
    uint32_t version;    /* subsections and structs: their version */
    GPtrArray *children; /* VmsDecNode *; NULL for leaves */
};

typedef struct VmsDecSection {
    char *idstr;
    uint32_t instance_id;
    uint32_t version_id;
    uint32_t section_id;
    size_t offset; /* the section type byte */
    size_t payload_offset;
    size_t payload_len;   /* up to the footer (or as decoded) */
    bool described;       /* the vmdesc has this device */
    bool decoded;         /* fields decoded, ending exactly at the footer */
    char *problem;        /* why not decoded; NULL when decoded */
    bool length_mismatch; /* decoded, but not to the footer: corrupt
                             payload or a schema of another layout */
    VmsDecNode *root;     /* the fields, when decoded */
} VmsDecSection;

typedef struct VmsDecoded {
    GPtrArray *sections; /* VmsDecSection * in stream order */
    bool footers;
    size_t eof_offset;
    size_t len;
} VmsDecoded;

/*
 * Decodes the whole stream `buf` (which must outlive the result: nodes
 * point into it). `vmdesc` may be NULL. Fails on a malformed stream
 * (header, framing, truncation, missing EOF, trailing bytes), on an
 * undescribed section without footers, on caps (VMS_MAX_SECTIONS,
 * VMS_MAX_NESTING, VMS_MAX_STREAM_SIZE, VMS_MAX_DECODE_NODES), and on a
 * vmdesc whose array elements take zero bytes; the message gives the
 * offset. Other mismatches between a section and its vmdesc are reported
 * in the section (`problem`), not failures.
 */
VmsDecoded *vms_decode(const uint8_t *buf, size_t len, json_t *vmdesc,
                       GError **errp);
void vms_decoded_free(VmsDecoded *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmsDecoded, vms_decoded_free)

/* Parses vmdesc JSON text (at most VMS_MAX_VMDESC_SIZE bytes): an object
   with a "devices" array. */
json_t *vms_vmdesc_parse(const char *text, size_t len, GError **errp);
/* Reads and parses a vmdesc JSON file; errors are prefixed with `path`. */
json_t *vms_vmdesc_read(const char *path, GError **errp);

/* The decoded stream as JSON: sections with their fields and values. */
json_t *vms_decoded_to_json(const VmsDecoded *d);

/* A leaf's value as text: decimal for 1/2/4/8-byte integer types
   (signed for intN), else lowercase hex of the bytes. */
char *vms_dec_node_value(const VmsDecNode *n);

#endif
