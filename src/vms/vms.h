/*
 * vms: declarative device-state descriptions and QEMU's savevm stream.
 *
 * A device describes its guest-visible state with a `const VmsDesc` table
 * that matches QEMU 7.2's VMStateDescription for that device field for field
 * (name, wire type, version gate, subsections). The engine walks these
 * tables to write and read QEMU's QEVM v3 stream byte for byte, and to
 * export QEMU-style vmdesc JSON.
 *
 * State model. A registered section owns a plain, memcpy-able state struct
 * (no pointers: wiring lives beside it in the device). Loading is
 * transactional: every section is decoded into a staging copy of its state
 * (a copy of the live state, so fields absent from the stream keep their
 * values, as in QEMU), all sections are checked, and only when the whole
 * stream is good are the staged copies copied over the live states and the
 * post_commit hooks run, in registration order. A failed load changes
 * nothing.
 *
 * Hooks (all optional), and on which copy they run:
 *   pre_save(live)                before the fields are written; may refresh
 *                                 state (e.g. the RTC's time registers); may
 *                                 fail, failing the save.
 *   pre_load(staging)             before the fields are read (only for
 *                                 subsections that are present); sets
 *                                 defaults that an absent subsection leaves.
 *   post_load(staging, version)   after fields and subsections: validate
 *                                 invariants and normalise; must not touch
 *                                 anything but the staging state; failing
 *                                 fails the whole load. Runs for nested
 *                                 structs and present subsections too.
 *   post_commit(live, version)    after all sections are committed: recompute
 *                                 derived state (IRQ levels, timer deadlines,
 *                                 FIFO trigger levels). Cannot fail. Only
 *                                 top-level descriptions have it called.
 * Because pre_save and post_commit run on the live state, a device may use
 * container_of on the state pointer to reach its wiring.
 *
 * Bulk buffers: a top-level VMS_BUFFER field of VMS_BULK_BUFFER_MIN bytes
 * or more (no field_exists) is not staged. The stream holds its bytes as
 * they will be, so a load checks its bounds and moves it stream -> live
 * once, at commit, in one memcpy; pre_load and post_load see zeros there.
 * A failed load leaves it untouched like everything else.
 *
 * Errors say where: section idstr, instance, field path, byte offset in the
 * stream, and why, e.g.
 *   "section 'serial' instance 1 (offset 0x1a3): field 'recv_fifo/head'
 *    (offset 0x1c0): 17 out of range 0..15".
 */
#ifndef LS_VMS_VMS_H
#define LS_VMS_VMS_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- stream constants (QEMU migration/savevm.h) ---- */
#define VMS_FILE_MAGIC      0x5145564Du /* "QEVM" */
#define VMS_FILE_VERSION_V2 0x00000002u /* obsolete, rejected */
#define VMS_FILE_VERSION    0x00000003u
#define VMS_SECTION_EOF     0x00
#define VMS_SECTION_START   0x01
#define VMS_SECTION_PART    0x02
#define VMS_SECTION_END     0x03
#define VMS_SECTION_FULL    0x04
#define VMS_SECTION_SUB     0x05
#define VMS_SECTION_VMDESC  0x06
#define VMS_SECTION_CONFIG  0x07
#define VMS_SECTION_COMMAND 0x08
#define VMS_SECTION_FOOTER  0x7E

/* ---- named caps on input ---- */
#define VMS_MAX_STREAM_SIZE (256u * 1024 * 1024) /* whole file in memory */
#define VMS_MAX_SECTIONS    4096                 /* sections in one stream */
#define VMS_MAX_NESTING     16                   /* struct/subsection depth */
#define VMS_MAX_VMDESC_SIZE (64u * 1024 * 1024)  /* vmdesc JSON text */
/* Fields the generic decoder builds for one stream (a pc file has ~3000). */
#define VMS_MAX_DECODE_NODES (1u << 16)
#define VMS_MAX_SYMLINK_HOPS 40 /* links a save follows (Linux's limit) */
#define VMS_BULK_BUFFER_MIN  (64u * 1024) /* see "Bulk buffers" */

/*
 * Wire types. The vmdesc "type" string of each is QEMU's VMStateInfo name,
 * given in the comment. All integers are big-endian on the wire.
 */
typedef enum VmsType {
    VMS_BOOL,         /* "bool":   1 byte; load: nonzero is true */
    VMS_INT8,         /* "int8" */
    VMS_INT16,        /* "int16" */
    VMS_INT32,        /* "int32" */
    VMS_INT64,        /* "int64" */
    VMS_UINT8,        /* "uint8" */
    VMS_UINT16,       /* "uint16" */
    VMS_UINT32,       /* "uint32" */
    VMS_UINT64,       /* "uint64" */
    VMS_INT32_EQUAL,  /* "int32 equal": load fails unless equal; no store */
    VMS_UINT8_EQUAL,  /* "uint8 equal" */
    VMS_UINT16_EQUAL, /* "uint16 equal" */
    VMS_UINT32_EQUAL, /* "uint32 equal" */
    VMS_UINT64_EQUAL, /* "int64 equal" (sic: QEMU's name for uint64 equal) */
    VMS_INT32_LE,     /* "int32 le": accept 0 <= v <= current, then store */
    VMS_TIMER,        /* "timer": int64_t deadline in ns, -1 = not pending */
    VMS_BUFFER,       /* "buffer": `size` raw bytes (uint8_t[size]) */
    VMS_UNUSED,       /* "unused_buffer": `size` zero bytes, ignored on load */
    VMS_STRUCT,       /* "struct": nested `vmsd`, at its own version_id */
} VmsType;

/* How a variable array's element count is stored in the state struct. */
typedef enum VmsCountType {
    VMS_COUNT_NONE = 0, /* fixed array: `num` elements (0 or 1: a scalar) */
    VMS_COUNT_UINT8,
    VMS_COUNT_UINT16,
    VMS_COUNT_INT32,
    VMS_COUNT_UINT32,
} VmsCountType;

typedef struct VmsDesc VmsDesc;

typedef struct VmsField {
    const char *name; /* QEMU's field name (vmdesc, error paths) */
    VmsType type;
    size_t offset; /* offsetof(state struct, member) */
    size_t size;   /* element size in the struct; for BUFFER and
                      UNUSED the byte count; for STRUCT the
                      sizeof of one nested element */
    /*
     * Arrays. Fixed: num > 1 elements, consecutive at `offset`. Variable:
     * count_type != NONE; the count is read from the state at num_offset
     * (loaded earlier in the same description, as in QEMU) and must be
     * <= num, the capacity of the array in the struct; a larger count fails
     * the load (QEMU would overrun).
     */
    unsigned num;
    VmsCountType count_type;
    size_t num_offset;
    /* Field exists iff version_id <= stream version (0: always)... */
    int version_id;
    /* ...unless field_exists is set: then it alone decides. It gets the
       state being loaded or saved and the description's stream version. */
    bool (*field_exists)(const void *state, int version_id);
    const VmsDesc *vmsd; /* for VMS_STRUCT */
} VmsField;

struct VmsDesc {
    const char *name;       /* vmsd name; subsections: "parent/child" */
    int version_id;         /* written on save; max accepted on load */
    int minimum_version_id; /* min accepted on load */
    const VmsField *fields; /* ends with an entry whose name is NULL */
    const VmsDesc *const *subsections; /* NULL-terminated, or NULL */
    /* Subsections: emitted iff needed(state). Top level: section written
       iff needed is NULL or returns true (QEMU's rule for sections). */
    bool (*needed)(const void *state);
    bool (*pre_save)(void *state, GError **errp);
    void (*pre_load)(void *state);
    bool (*post_load)(void *state, int version_id, GError **errp);
    void (*post_commit)(void *state, int version_id);
};

/* Field constructors, in the spirit of QEMU's VMSTATE_* macros. */
#define VMS_FIELD_T_(_name, _type, _st, _m, _v)                                \
    {                                                                          \
        .name = (_name), .type = (_type), .offset = offsetof(_st, _m),         \
        .size = sizeof(((_st *)0)->_m), .version_id = (_v)                     \
    }
#define VMS_UINT8_V(_st, _m, _v)  VMS_FIELD_T_(#_m, VMS_UINT8, _st, _m, _v)
#define VMS_UINT16_V(_st, _m, _v) VMS_FIELD_T_(#_m, VMS_UINT16, _st, _m, _v)
#define VMS_UINT32_V(_st, _m, _v) VMS_FIELD_T_(#_m, VMS_UINT32, _st, _m, _v)
#define VMS_UINT64_V(_st, _m, _v) VMS_FIELD_T_(#_m, VMS_UINT64, _st, _m, _v)
#define VMS_INT8_V(_st, _m, _v)   VMS_FIELD_T_(#_m, VMS_INT8, _st, _m, _v)
#define VMS_INT16_V(_st, _m, _v)  VMS_FIELD_T_(#_m, VMS_INT16, _st, _m, _v)
#define VMS_INT32_V(_st, _m, _v)  VMS_FIELD_T_(#_m, VMS_INT32, _st, _m, _v)
#define VMS_INT64_V(_st, _m, _v)  VMS_FIELD_T_(#_m, VMS_INT64, _st, _m, _v)
#define VMS_BOOL_V(_st, _m, _v)   VMS_FIELD_T_(#_m, VMS_BOOL, _st, _m, _v)
#define VMS_TIMER_V(_st, _m, _v)  VMS_FIELD_T_(#_m, VMS_TIMER, _st, _m, _v)
#define VMS_UINT8(_st, _m)        VMS_UINT8_V(_st, _m, 0)
#define VMS_UINT16(_st, _m)       VMS_UINT16_V(_st, _m, 0)
#define VMS_UINT32(_st, _m)       VMS_UINT32_V(_st, _m, 0)
#define VMS_UINT64(_st, _m)       VMS_UINT64_V(_st, _m, 0)
#define VMS_INT8(_st, _m)         VMS_INT8_V(_st, _m, 0)
#define VMS_INT16(_st, _m)        VMS_INT16_V(_st, _m, 0)
#define VMS_INT32(_st, _m)        VMS_INT32_V(_st, _m, 0)
#define VMS_INT64(_st, _m)        VMS_INT64_V(_st, _m, 0)
#define VMS_BOOL(_st, _m)         VMS_BOOL_V(_st, _m, 0)
#define VMS_TIMER(_st, _m)        VMS_TIMER_V(_st, _m, 0)
/* A uint8_t[N] member written as N raw bytes. */
#define VMS_BUFFER(_st, _m) VMS_FIELD_T_(#_m, VMS_BUFFER, _st, _m, 0)
/* A fixed array of scalars: _m is T[n]; _type is the element's wire type. */
#define VMS_ARRAY(_st, _m, _type, _n)                                          \
    {                                                                          \
        .name = #_m, .type = (_type), .offset = offsetof(_st, _m),             \
        .size = sizeof(((_st *)0)->_m[0]), .num = (_n)                         \
    }
/* A nested struct (or an array of _n of them, _n >= 1). */
#define VMS_STRUCT_ARRAY(_st, _m, _n, _vmsd, _elem_type)                       \
    {                                                                          \
        .name = #_m, .type = VMS_STRUCT, .offset = offsetof(_st, _m),          \
        .size = sizeof(_elem_type), .num = (_n), .vmsd = &(_vmsd)              \
    }
#define VMS_STRUCT_ONE(_st, _m, _vmsd, _elem_type)                             \
    VMS_STRUCT_ARRAY(_st, _m, 1, _vmsd, _elem_type)
/* n zero bytes kept for layout; QEMU's VMSTATE_UNUSED(_V). */
#define VMS_UNUSED_V(_n, _v)                                                   \
    {                                                                          \
        .name = "unused", .type = VMS_UNUSED, .size = (_n), .version_id = (_v) \
    }
#define VMS_UNUSED(_n) VMS_UNUSED_V(_n, 0)
#define VMS_END_OF_LIST                                                        \
    {                                                                          \
        .name = NULL                                                           \
    }

/* ---- registry of sections ---- */

typedef struct VmsRegistry VmsRegistry;

VmsRegistry *vms_registry_new(void);
void vms_registry_free(VmsRegistry *reg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmsRegistry, vms_registry_free)

/*
 * Registers a section. `instance_id` -1 means "any": one more than the
 * largest instance already registered under idstr (0 if none), as QEMU.
 * `alias_id` (-1: none) is the legacy instance id also accepted on load
 * (QEMU's qdev_set_legacy_instance_id: the I/O base).
 * The section id is the registry's counter, which every registration
 * advances; vms_registry_skip_section_ids() advances it without a section,
 * so a machine can reproduce QEMU's numbering (gaps included).
 * `state` (size `state_size`) stays owned by the caller and must outlive
 * the registry. Fails on a duplicate (idstr, instance).
 */
bool vms_register(VmsRegistry *reg, const char *idstr, int instance_id,
                  int alias_id, const VmsDesc *vmsd, void *state,
                  size_t state_size, GError **errp);
void vms_registry_skip_section_ids(VmsRegistry *reg, unsigned n);

/* Number of sections, and the idstr / instance id of the i-th
   (registration order); NULL / -1 when out of range. */
unsigned vms_registry_count(const VmsRegistry *reg);
const char *vms_registry_idstr(const VmsRegistry *reg, unsigned i);
int vms_registry_instance(const VmsRegistry *reg, unsigned i);
/* The index of the section a load would give a stream's (idstr,
   instance) to: the instance id or the alias matches. -1 when none. */
int vms_registry_find(const VmsRegistry *reg, const char *idstr,
                      uint32_t instance);

/* ---- save ---- */

typedef struct VmsSaveOpts {
    bool footers; /* QEMU 7.2 KVM/TCG: on; Xen: off */
} VmsSaveOpts;

/*
 * Runs every pre_save hook, then encodes header, every section (in
 * registration order) and EOF, appending to `out`. On failure `out` holds
 * nothing new.
 */
bool vms_save_all(VmsRegistry *reg, const VmsSaveOpts *opts, GByteArray *out,
                  GError **errp);

/*
 * Writes `len` bytes to `path`, keeping what the path means (as QEMU's
 * open(O_CREAT | O_TRUNC) would) without leaving a torn regular file:
 * - symbolic links are followed (at most VMS_MAX_SYMLINK_HOPS), and the
 *   file they name (created if the link dangles) is the target;
 * - a new file, or an existing regular file with one link, is replaced
 *   atomically: a temporary file in the target's directory, fsync'd when
 *   `do_fsync`, given the old file's mode and owner, renamed over it;
 * - a regular file with several hard links, or whose owner this process
 *   cannot give to a new file, is truncated and written in place;
 * - a FIFO or a device is written in place without blocking: a FIFO with
 *   no reader, or a reader that does not take the bytes, is an error;
 * - a directory is an error.
 * Errors read "Unable to open PATH: REASON" as QEMU's.
 */
bool vms_write_file(const char *path, const void *buf, size_t len,
                    bool do_fsync, GError **errp);
/*
 * As vms_write_file, but where the target existed its old contents are not
 * deleted inside the call: *stale (g_free it) names a file beside the
 * target that holds them, for the caller to unlink later, off the latency
 * path (deleting a file costs more than the whole save). NULL when there
 * is nothing to remove. A crash before the unlink leaves that file behind.
 */
bool vms_write_file_stale(const char *path, const void *buf, size_t len,
                          bool do_fsync, char **stale, GError **errp);
/* Writes straight to an already open fd (e.g. /dev/fdset/N), all bytes; a
   non-blocking fd that would block fails ("the reader is not taking it"). */
bool vms_write_fd(int fd, const void *buf, size_t len, GError **errp);
/* Reads a whole file or fd (up to VMS_MAX_STREAM_SIZE) into memory. */
bool vms_read_file(const char *path, GByteArray **out, GError **errp);
bool vms_read_fd(int fd, GByteArray **out, GError **errp);

/* ---- load ---- */

typedef enum VmsUnknownPolicy {
    VMS_UNKNOWN_REJECT, /* QEMU: "Unknown savevm section or instance ..." */
    VMS_UNKNOWN_SKIP,   /* skip it (needs the stream's section footers) */
} VmsUnknownPolicy;

typedef struct VmsLoadOpts {
    VmsUnknownPolicy unknown;
} VmsLoadOpts;

/*
 * Load decisions where QEMU is loose: a subsection's be32 version is
 * checked in full against [minimum_version_id, version_id] (QEMU keeps only
 * its low 8 bits); instance 0xFFFFFFFF never matches an unset alias; a
 * second section for a device already loaded is an error (QEMU re-applies
 * it); trailing bytes after EOF are an error. Footers are detected on the
 * first section and then required on every section (or on none).
 *
 * Decodes `buf` (a whole stream: QEVM header, sections, EOF; footers are
 * detected, not required) into staging copies, validates everything, then
 * commits all sections and runs post_commit hooks in registration order.
 * On failure nothing changes and *errp says where and why.
 */
bool vms_load_all(VmsRegistry *reg, const uint8_t *buf, size_t len,
                  const VmsLoadOpts *opts, GError **errp);

/* ---- vmdesc JSON and the generic decoder ---- */

/*
 * QEMU-style vmdesc JSON ({"page_size":..., "devices":[...]}) describing the
 * registered sections as they would be saved now. Returns a new string
 * (g_free), or NULL with *errp set (a variable count above capacity).
 */
char *vms_vmdesc_export(VmsRegistry *reg, GError **errp);

#endif
