/*
 * A structure-aware mutator for device-state streams (the stream-struct
 * target: fuzz-stream.c's harness with this LLVMFuzzerCustomMutator).
 *
 * Byte-level mutation mostly breaks the framing (section headers, idstr
 * lengths, footers, EOF), so the loader rejects the input before any
 * device's post_load check runs. This mutator decodes the input with the
 * generic decoder (vms_decode) against the vmdesc of the pc machine with
 * a vCPU and the test device, and changes it while keeping it well framed:
 *   - a field's value, biased to boundaries (0, 1, -1, the type's min and
 *     max, the current value +-1 or +-16, a random value; for buffers a
 *     byte set to 0x00, 0xff or random), written in place;
 *   - a section: removed, duplicated, swapped with another, or its
 *     version or instance id changed (+-1, 0, all ones);
 *   - a subsection: removed, or repeated;
 *   - a section's payload handed to libFuzzer's byte mutator, resized,
 *     with the section's header and footer kept.
 * One to three such steps per call. An input the decoder refuses (broken
 * framing) and, rarely, any input goes to libFuzzer's own mutator.
 */
#include <glib.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "../vms/vms-testdev.h"
#include "cpu/vcpu.h"
#include "machine/machine.h"
#include "vms/decode.h"

#define FUZZ_MUT_FOOTER_LEN 5 /* 0x7e, section id */
#define FUZZ_MUT_MAX_STEPS  3

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size)
    __attribute__((weak));
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                               unsigned int seed);

typedef struct FuzzMut {
    GByteArray *buf;
    VmsDecoded *dec;
    GPtrArray *leaves; /* VmsDecNode *, fields with bytes */
    GPtrArray *subs;   /* VmsDecNode *, subsections */
    uint64_t rng;
    size_t max_size;
} FuzzMut;

static uint32_t fuzz_mut_rand(FuzzMut *m, uint32_t n)
{
    m->rng ^= m->rng << 13;
    m->rng ^= m->rng >> 7;
    m->rng ^= m->rng << 17;
    return n ? (uint32_t)(m->rng % n) : 0;
}

/* ---- the vmdesc: the pc machine's devices and the test device ---- */

static json_t *fuzz_mut_export(VmsRegistry *reg)
{
    g_autofree char *text = vms_vmdesc_export(reg, NULL);

    return text ? json_loads(text, 0, NULL) : NULL;
}

/* The pc machine with a vCPU (so cpu_common and cpu are described too,
   as fuzz-stream.c's last machine loads them) and the test device. */
static json_t *fuzz_mut_vmdesc(void)
{
    static const uint8_t blank_bios[VCPU_BIOS_ALIGN];
    static json_t *vmdesc;
    MachineOpts mo = {.kind = MACHINE_PC,
                      .stepped_clock = true,
                      .save.footers = true,
                      .bios = blank_bios,
                      .bios_len = sizeof(blank_bios)};
    Machine *pc;
    TDev dev;
    VmsRegistry *treg;
    json_t *extra;

    if (vmdesc) {
        return vmdesc;
    }
    pc = machine_new(&mo, NULL);
    g_assert_nonnull(pc);
    vmdesc = fuzz_mut_export(pc->reg);
    machine_free(pc);
    memset(&dev, 0, sizeof(dev));
    treg = vms_registry_new();
    g_assert_true(
        vms_register(treg, "tdev", 0, -1, &tdev_vmsd, &dev, sizeof(dev), NULL));
    extra = fuzz_mut_export(treg);
    vms_registry_free(treg);
    g_assert_nonnull(vmdesc);
    g_assert_nonnull(extra);
    json_array_extend(json_object_get(vmdesc, "devices"),
                      json_object_get(extra, "devices"));
    json_decref(extra);
    return vmdesc;
}

static void fuzz_mut_collect(FuzzMut *m, VmsDecNode *n)
{
    if (!strcmp(n->type, "subsection")) {
        g_ptr_array_add(m->subs, n);
    }
    if (!n->children) {
        if (n->size > 0) {
            g_ptr_array_add(m->leaves, n);
        }
        return;
    }
    for (guint i = 0; i < n->children->len; i++) {
        fuzz_mut_collect(m, g_ptr_array_index(n->children, i));
    }
}

/* ---- field values ---- */

static uint64_t fuzz_mut_get(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static void fuzz_mut_put(uint8_t *p, size_t n, uint64_t v)
{
    for (size_t i = n; i-- > 0;) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* A value for an n-byte integer now holding `cur`, biased to boundaries. */
static uint64_t fuzz_mut_value(FuzzMut *m, size_t n, uint64_t cur)
{
    uint64_t ones = n == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * n)) - 1;
    uint64_t smax = ones >> 1;

    switch (fuzz_mut_rand(m, 11)) {
    case 0:
        return 0;
    case 1:
        return 1;
    case 2:
        return ones; /* -1 */
    case 3:
        return smax;
    case 4:
        return smax + 1; /* the signed minimum */
    case 5:
        return cur + 1;
    case 6:
        return cur - 1;
    case 7:
        return cur + 1 + fuzz_mut_rand(m, 16);
    case 8:
        return cur - 1 - fuzz_mut_rand(m, 16);
    case 9:
        return ones - 1;
    default:
        return (uint64_t)fuzz_mut_rand(m, UINT32_MAX) << 32 |
               fuzz_mut_rand(m, UINT32_MAX);
    }
}

static void fuzz_mut_field(FuzzMut *m)
{
    VmsDecNode *n;
    uint8_t *p;

    if (!m->leaves->len) {
        return;
    }
    n = g_ptr_array_index(m->leaves, fuzz_mut_rand(m, m->leaves->len));
    p = m->buf->data + n->offset;
    if (strstr(n->type, "buffer") ||
        (n->size != 1 && n->size != 2 && n->size != 4 && n->size != 8)) {
        static const uint8_t picks[] = {0x00, 0xff, 0x01, 0x80, 0x7f};
        size_t i = fuzz_mut_rand(m, (uint32_t)n->size);
        p[i] = fuzz_mut_rand(m, 2) ? picks[fuzz_mut_rand(m, sizeof(picks))]
                                   : (uint8_t)fuzz_mut_rand(m, 256);
        return;
    }
    fuzz_mut_put(p, n->size,
                 fuzz_mut_value(m, n->size, fuzz_mut_get(p, n->size)));
}

/* ---- sections and subsections ---- */

/* [*start, *end) of section i: type byte up to the end of its footer. */
static VmsDecSection *fuzz_mut_section(FuzzMut *m, guint i, size_t *start,
                                       size_t *end)
{
    VmsDecSection *s = g_ptr_array_index(m->dec->sections, i);

    *start = s->offset;
    *end = s->payload_offset + s->payload_len +
           (m->dec->footers ? FUZZ_MUT_FOOTER_LEN : 0);
    return s;
}

static void fuzz_mut_insert_copy(FuzzMut *m, size_t at, size_t from, size_t len)
{
    g_autofree uint8_t *copy = NULL;

    if (m->buf->len + len > m->max_size) {
        return;
    }
    copy = g_memdup2(m->buf->data + from, len);
    g_byte_array_set_size(m->buf, m->buf->len + (guint)len);
    memmove(m->buf->data + at + len, m->buf->data + at, m->buf->len - len - at);
    memcpy(m->buf->data + at, copy, len);
}

/* Swaps sections i < j (the bytes between them stay between them). */
static void fuzz_mut_swap(FuzzMut *m, guint i, guint j)
{
    size_t si, ei, sj, ej;
    GByteArray *out = g_byte_array_sized_new(m->buf->len);
    const uint8_t *b = m->buf->data;

    fuzz_mut_section(m, i, &si, &ei);
    fuzz_mut_section(m, j, &sj, &ej);
    g_byte_array_append(out, b, (guint)si);
    g_byte_array_append(out, b + sj, (guint)(ej - sj));
    g_byte_array_append(out, b + ei, (guint)(sj - ei));
    g_byte_array_append(out, b + si, (guint)(ei - si));
    g_byte_array_append(out, b + ej, (guint)(m->buf->len - ej));
    g_byte_array_unref(m->buf);
    m->buf = out;
}

/* Version or instance id (+-1, 0, all ones), or the section id in the
   header and the footer alike. */
static void fuzz_mut_header(FuzzMut *m, VmsDecSection *s)
{
    static const int64_t deltas[] = {1, -1};
    size_t at = s->payload_offset - 4 * (1 + fuzz_mut_rand(m, 2));
    uint8_t *p = m->buf->data + at;
    uint64_t v = fuzz_mut_get(p, 4);

    if (fuzz_mut_rand(m, 4) == 0) {
        uint32_t sid = fuzz_mut_rand(m, 2) ? s->section_id + 1 : 0;
        fuzz_mut_put(m->buf->data + s->offset + 1, 4, sid);
        if (m->dec->footers) {
            fuzz_mut_put(m->buf->data + s->payload_offset + s->payload_len + 1,
                         4, sid);
        }
        return;
    }
    switch (fuzz_mut_rand(m, 4)) {
    case 0:
        v = 0;
        break;
    case 1:
        v = UINT32_MAX;
        break;
    default:
        v += (uint64_t)deltas[fuzz_mut_rand(m, 2)];
    }
    fuzz_mut_put(p, 4, v);
}

/* Replaces buf[at, at + old_len) with `len` bytes of `bytes`. */
static void fuzz_mut_replace(FuzzMut *m, size_t at, size_t old_len,
                             const uint8_t *bytes, size_t len)
{
    GByteArray *out = g_byte_array_sized_new(m->buf->len - old_len + len);

    g_byte_array_append(out, m->buf->data, (guint)at);
    g_byte_array_append(out, bytes, (guint)len);
    g_byte_array_append(out, m->buf->data + at + old_len,
                        (guint)(m->buf->len - at - old_len));
    g_byte_array_unref(m->buf);
    m->buf = out;
}

/* libFuzzer's byte mutator on one section's payload, resized in place. */
static void fuzz_mut_payload(FuzzMut *m, VmsDecSection *s)
{
    size_t len = s->payload_len, rest = m->buf->len - len;
    size_t cap = m->max_size > rest ? m->max_size - rest : 0;
    g_autofree uint8_t *tmp = NULL;

    if (!LLVMFuzzerMutate || cap < len || cap == 0) {
        return;
    }
    tmp = g_malloc(cap);
    memcpy(tmp, m->buf->data + s->payload_offset, len);
    len = LLVMFuzzerMutate(tmp, len, cap);
    fuzz_mut_replace(m, s->payload_offset, s->payload_len, tmp, len);
}

/* ---- one step ---- */

static void fuzz_mut_section_step(FuzzMut *m, unsigned op)
{
    guint n = m->dec->sections->len, i = fuzz_mut_rand(m, n);
    size_t start, end;
    VmsDecSection *s = fuzz_mut_section(m, i, &start, &end);

    switch (op) {
    case 0:
        g_byte_array_remove_range(m->buf, (guint)start, (guint)(end - start));
        break;
    case 1:
        fuzz_mut_insert_copy(m, end, start, end - start);
        break;
    case 2:
        if (n > 1) {
            guint j = fuzz_mut_rand(m, n - 1);
            fuzz_mut_swap(m, MIN(i, j + (j >= i)), MAX(i, j + (j >= i)));
        }
        break;
    case 3:
        fuzz_mut_header(m, s);
        break;
    default:
        fuzz_mut_payload(m, s);
    }
}

static void fuzz_mut_sub_step(FuzzMut *m)
{
    VmsDecNode *sub;

    if (!m->subs->len) {
        fuzz_mut_field(m);
        return;
    }
    sub = g_ptr_array_index(m->subs, fuzz_mut_rand(m, m->subs->len));
    if (fuzz_mut_rand(m, 2)) {
        g_byte_array_remove_range(m->buf, (guint)sub->offset, (guint)sub->size);
    } else {
        fuzz_mut_insert_copy(m, sub->offset + sub->size, sub->offset,
                             sub->size);
    }
}

/* Decodes the buffer and applies one step; false when it does not decode
   (or has no section). */
static bool fuzz_mut_step(FuzzMut *m)
{
    g_autoptr(GError) err = NULL;
    unsigned op;

    m->dec = vms_decode(m->buf->data, m->buf->len, fuzz_mut_vmdesc(), &err);
    if (!m->dec || !m->dec->sections->len) {
        g_clear_pointer(&m->dec, vms_decoded_free);
        return false;
    }
    m->leaves = g_ptr_array_new();
    m->subs = g_ptr_array_new();
    for (guint i = 0; i < m->dec->sections->len; i++) {
        VmsDecSection *s = g_ptr_array_index(m->dec->sections, i);
        if (s->root) {
            fuzz_mut_collect(m, s->root);
        }
    }
    op = fuzz_mut_rand(m, 16);
    if (op < 8) {
        fuzz_mut_field(m);
    } else if (op < 13) {
        fuzz_mut_section_step(m, op - 8);
    } else if (op < 15) {
        fuzz_mut_sub_step(m);
    } else {
        fuzz_mut_section_step(m, 4);
    }
    g_ptr_array_unref(m->leaves);
    g_ptr_array_unref(m->subs);
    g_clear_pointer(&m->dec, vms_decoded_free);
    return true;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                               unsigned int seed)
{
    FuzzMut m = {.rng = (uint64_t)seed * 0x9E3779B97F4A7C15u + 1,
                 .max_size = max_size};
    unsigned steps;
    size_t len;

    if (fuzz_mut_rand(&m, 32) == 0 && LLVMFuzzerMutate) {
        return LLVMFuzzerMutate(data, size, max_size);
    }
    m.buf = g_byte_array_sized_new((guint)size);
    g_byte_array_append(m.buf, data, (guint)size);
    steps = 1 + fuzz_mut_rand(&m, FUZZ_MUT_MAX_STEPS);
    for (unsigned i = 0; i < steps; i++) {
        if (!fuzz_mut_step(&m)) {
            break;
        }
    }
    len = m.buf->len;
    if ((len == size && !memcmp(m.buf->data, data, size)) || len > max_size) {
        g_byte_array_unref(m.buf);
        return LLVMFuzzerMutate ? LLVMFuzzerMutate(data, size, max_size) : size;
    }
    memcpy(data, m.buf->data, len);
    g_byte_array_unref(m.buf);
    return len;
}
