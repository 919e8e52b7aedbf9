/*
 * Test descriptions shared by the vms tests, the stream fuzz target and the
 * benchmark: a synthetic device using every construct, and mirrors of four
 * real QEMU 7.2 pc sections (i8259 x2, i8254, pcspk, port92) whose layout
 * matches tests/fixtures/qemu-7.2/vmdesc-pc.json.
 */
#ifndef LS_TESTS_VMS_TESTDEV_H
#define LS_TESTS_VMS_TESTDEV_H

#include "vms/vms.h"
#include "base/error.h"

#include <string.h>

typedef struct TSub {
    uint16_t a;
    uint8_t b;
    uint8_t extra; /* in subsection "tsub/extra" when nonzero */
} TSub;

typedef struct TDev {
    uint8_t u8;
    int8_t i8;
    uint16_t u16;
    int16_t i16;
    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    int64_t i64;
    bool b;
    int64_t timer;
    uint8_t buf[4];
    uint16_t arr[3];
    uint8_t count;
    uint32_t varr[4];
    int32_t eq;
    int32_t le;
    uint8_t v2;    /* version 2 only */
    uint8_t gated; /* present iff u8 & 1 (field_exists) */
    TSub sub[2];
    uint8_t opt;       /* in subsection "tdev/opt" when nonzero */
    uint8_t opt_inner; /* nested subsection "tdev/opt/inner" when odd */
    int post_load_calls;
    int commit_calls;
    bool fail_post_load;
} TDev;

static inline bool tsub_extra_needed(const void *s)
{
    return ((const TSub *)s)->extra != 0;
}

static const VmsDesc tsub_extra_vmsd = {
    .name = "tsub/extra",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = tsub_extra_needed,
    .fields =
        (const VmsField[]){
            VMS_UINT8(TSub, extra),
            VMS_END_OF_LIST,
        },
};

static const VmsDesc tsub_vmsd = {
    .name = "tsub",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields =
        (const VmsField[]){
            VMS_UINT16(TSub, a),
            VMS_UINT8(TSub, b),
            VMS_END_OF_LIST,
        },
    .subsections = (const VmsDesc *const[]){&tsub_extra_vmsd, NULL},
};

static inline bool tdev_gated_exists(const void *s, int version)
{
    return (((const TDev *)s)->u8 & 1) != 0;
}

static inline bool tdev_opt_needed(const void *s)
{
    return ((const TDev *)s)->opt != 0;
}

static inline bool tdev_inner_needed(const void *s)
{
    return (((const TDev *)s)->opt_inner & 1) != 0;
}

static inline bool tdev_post_load(void *s, int version, GError **errp)
{
    TDev *d = s;

    d->post_load_calls++;
    if (d->fail_post_load) {
        ls_error_set(errp, "tdev refuses");
        return false;
    }
    if (d->count > 4) {
        ls_error_set(errp, "count %u out of range 0..4", d->count);
        return false;
    }
    return true;
}

static inline void tdev_post_commit(void *s, int version)
{
    ((TDev *)s)->commit_calls++;
}

static const VmsDesc tdev_inner_vmsd = {
    .name = "tdev/opt/inner",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = tdev_inner_needed,
    .fields =
        (const VmsField[]){
            VMS_UINT8(TDev, opt_inner),
            VMS_END_OF_LIST,
        },
};

static const VmsDesc tdev_opt_vmsd = {
    .name = "tdev/opt",
    .version_id = 2,
    .minimum_version_id = 1,
    .needed = tdev_opt_needed,
    .fields =
        (const VmsField[]){
            VMS_UINT8(TDev, opt),
            VMS_END_OF_LIST,
        },
    .subsections = (const VmsDesc *const[]){&tdev_inner_vmsd, NULL},
};

static const VmsDesc tdev_vmsd = {
    .name = "tdev",
    .version_id = 2,
    .minimum_version_id = 1,
    .post_load = tdev_post_load,
    .post_commit = tdev_post_commit,
    .fields =
        (const VmsField[]){
            VMS_UINT8(TDev, u8),
            VMS_INT8(TDev, i8),
            VMS_UINT16(TDev, u16),
            VMS_INT16(TDev, i16),
            VMS_UINT32(TDev, u32),
            VMS_INT32(TDev, i32),
            VMS_UINT64(TDev, u64),
            VMS_INT64(TDev, i64),
            VMS_BOOL(TDev, b),
            VMS_TIMER(TDev, timer),
            VMS_BUFFER(TDev, buf),
            VMS_ARRAY(TDev, arr, VMS_UINT16, 3),
            VMS_UINT8(TDev, count),
            {.name = "varr",
             .type = VMS_UINT32,
             .offset = offsetof(TDev, varr),
             .size = sizeof(uint32_t),
             .num = 4,
             .count_type = VMS_COUNT_UINT8,
             .num_offset = offsetof(TDev, count)},
            VMS_FIELD_T_("eq", VMS_INT32_EQUAL, TDev, eq, 0),
            VMS_FIELD_T_("le", VMS_INT32_LE, TDev, le, 0),
            VMS_UNUSED(2),
            VMS_UINT8_V(TDev, v2, 2),
            {.name = "gated",
             .type = VMS_UINT8,
             .offset = offsetof(TDev, gated),
             .size = 1,
             .field_exists = tdev_gated_exists},
            VMS_STRUCT_ARRAY(TDev, sub, 2, tsub_vmsd, TSub),
            VMS_UNUSED(1),
            VMS_END_OF_LIST,
        },
    .subsections = (const VmsDesc *const[]){&tdev_opt_vmsd, NULL},
};

/* ---- mirrors of real QEMU 7.2 pc sections ---- */

typedef struct TPic {
    uint8_t r[16];
} TPic;

static const VmsDesc tpic_vmsd = {
    .name = "i8259",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields =
        (const VmsField[]){
            VMS_ARRAY(TPic, r, VMS_UINT8, 16),
            VMS_END_OF_LIST,
        },
};

typedef struct TPitChan {
    int32_t count;
    uint16_t latched_count;
    uint8_t b[10];
    int64_t count_load_time;
    int64_t next_transition_time;
} TPitChan;

typedef struct TPit {
    uint32_t irq_disabled;
    TPitChan ch[3];
    int64_t ntt0;
} TPit;

static const VmsDesc tpit_chan_vmsd = {
    .name = "pit channel",
    .version_id = 2,
    .minimum_version_id = 2,
    .fields =
        (const VmsField[]){
            VMS_INT32(TPitChan, count),
            VMS_UINT16(TPitChan, latched_count),
            VMS_ARRAY(TPitChan, b, VMS_UINT8, 10),
            VMS_INT64(TPitChan, count_load_time),
            VMS_INT64(TPitChan, next_transition_time),
            VMS_END_OF_LIST,
        },
};

static const VmsDesc tpit_vmsd = {
    .name = "i8254",
    .version_id = 3,
    .minimum_version_id = 2,
    .fields =
        (const VmsField[]){
            VMS_UINT32_V(TPit, irq_disabled, 3),
            VMS_STRUCT_ARRAY(TPit, ch, 3, tpit_chan_vmsd, TPitChan),
            VMS_INT64(TPit, ntt0),
            VMS_END_OF_LIST,
        },
};

typedef struct TByte2 {
    uint8_t a, b;
} TByte2;

static const VmsDesc tpcspk_vmsd = {
    .name = "pcspk",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields =
        (const VmsField[]){
            VMS_UINT8(TByte2, a),
            VMS_UINT8(TByte2, b),
            VMS_END_OF_LIST,
        },
};

static const VmsDesc tport92_vmsd = {
    .name = "port92",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields =
        (const VmsField[]){
            VMS_UINT8(TByte2, a),
            VMS_END_OF_LIST,
        },
};

/* The mirrored pc sections, registered with QEMU 7.2 pc's section ids. */
typedef struct TPc {
    TPic pic[2];
    TPit pit;
    TByte2 spk, p92;
} TPc;

static inline VmsRegistry *tpc_registry(TPc *pc)
{
    VmsRegistry *reg = vms_registry_new();
    bool ok = true;

    vms_registry_skip_section_ids(reg, 15);
    ok &= vms_register(reg, "i8259", -1, 0x20, &tpic_vmsd, &pc->pic[0],
                       sizeof(TPic), NULL);
    ok &= vms_register(reg, "i8259", -1, 0xa0, &tpic_vmsd, &pc->pic[1],
                       sizeof(TPic), NULL);
    vms_registry_skip_section_ids(reg, 3);
    ok &= vms_register(reg, "i8254", -1, 0x40, &tpit_vmsd, &pc->pit,
                       sizeof(TPit), NULL);
    ok &= vms_register(reg, "pcspk", -1, -1, &tpcspk_vmsd, &pc->spk,
                       sizeof(TByte2), NULL);
    vms_registry_skip_section_ids(reg, 5);
    ok &= vms_register(reg, "port92", -1, -1, &tport92_vmsd, &pc->p92,
                       sizeof(TByte2), NULL);
    g_assert(ok);
    return reg;
}

/* Distinct values in every field of the test device. */
static inline void tdev_fill(TDev *d)
{
    *d = (TDev){
        .u8 = 0x81,
        .i8 = -2,
        .u16 = 0x1234,
        .i16 = -3,
        .u32 = 0xdeadbeef,
        .i32 = -4,
        .u64 = 0x0102030405060708ull,
        .i64 = -5,
        .b = true,
        .timer = -1,
        .buf = {9, 8, 7, 6},
        .arr = {1, 2, 3},
        .count = 2,
        .varr = {0x11, 0x22, 0x33, 0x44},
        .eq = 7,
        .le = 5,
        .v2 = 0x42,
        .gated = 0x33,
        .sub = {{0x0a0b, 0x0c, 0}, {0x0102, 3, 0x44}},
        .opt = 0x55,
        .opt_inner = 1,
    };
}

#endif
