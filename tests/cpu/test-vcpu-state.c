/*
 * The vCPU's sections (src/cpu/vcpu-state.c) in a pc machine: at reset
 * they are QEMU 7.2's bytes (tests/fixtures/qemu-7.2/pc-tcg-prelaunch,
 * compared field by field); QEMU's reset state loads and saves back
 * unchanged; a running vCPU saved and loaded into a second machine runs
 * on identically; every state this vCPU cannot run is rejected with the
 * field and the reason, and changes nothing.
 */
#include <glib.h>
#include <string.h>

#include "machine/machine.h"
#include "vms/decode.h"

#define FIXTURES "/tests/fixtures/qemu-7.2/"
#define T_RAM    (1u << 20)
#define T_SLICE  1000
#define T_BEFORE 20000 /* instructions before the save */
#define T_AFTER  30000 /* and after it, on both machines */

static GByteArray *t_fixture(const char *name)
{
    const char *src = g_getenv("LOCKSTEP_SRC");
    g_autofree char *path = g_strconcat(src ? src : ".", FIXTURES, name, NULL);
    GByteArray *a = NULL;
    g_autoptr(GError) err = NULL;

    if (!vms_read_file(path, &a, &err)) {
        g_error("%s", err->message);
    }
    return a;
}

static Machine *t_machine(const char *bios, VmsUnknownPolicy unknown)
{
    const char *dir = g_getenv("LOCKSTEP_TEST_BIOS_DIR");
    g_autofree char *path = g_strdup_printf("%s/bios-%s.bin", dir, bios);
    g_autofree char *img = NULL;
    g_autoptr(GError) err = NULL;
    MachineOpts mo = {.kind = MACHINE_PC, .stepped_clock = true};
    Machine *m;
    gsize len;

    g_assert_true(g_file_get_contents(path, &img, &len, &err));
    mo.save.footers = true;
    mo.load.unknown = unknown;
    mo.bios = (const uint8_t *)img;
    mo.bios_len = len;
    mo.ram_size = T_RAM;
    m = machine_new(&mo, &err);
    g_assert_no_error(err);
    return m;
}

static GByteArray *t_save(Machine *m)
{
    GByteArray *out = g_byte_array_new();
    g_autoptr(GError) err = NULL;

    g_assert_true(machine_save(m, "prelaunch", out, &err));
    g_assert_no_error(err);
    return out;
}

static void t_run(Machine *m, uint64_t insns)
{
    while (insns) {
        uint64_t n;
        VcpuExit ex = vcpu_run(m->vcpu, MIN(insns, T_SLICE), &n);

        g_assert_cmpint(ex, !=, VCPU_EXIT_ERROR);
        g_assert_cmpint(ex, !=, VCPU_EXIT_HALT);
        insns -= n;
    }
}

/* The stream decoded with the machine's own descriptions. */
static VmsDecoded *t_decode(Machine *m, const GByteArray *s)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *text = vms_vmdesc_export(m->reg, &err);
    json_t *desc = vms_vmdesc_parse(text, strlen(text), &err);
    VmsDecoded *d;

    g_assert_no_error(err);
    d = vms_decode(s->data, s->len, desc, &err);
    g_assert_no_error(err);
    json_decref(desc);
    return d;
}

static const VmsDecSection *t_section(const VmsDecoded *d, const char *id)
{
    for (guint i = 0; i < d->sections->len; i++) {
        const VmsDecSection *s = g_ptr_array_index(d->sections, i);

        if (!strcmp(s->idstr, id)) {
            g_assert_true(s->decoded);
            return s;
        }
    }
    g_error("no section '%s'", id);
}

/* Every leaf under `n` as "parent/child" -> node, in stream order. */
static void t_leaves(const VmsDecNode *n, const char *prefix, GPtrArray *names,
                     GPtrArray *nodes)
{
    g_autofree char *path =
        *prefix ? g_strdup_printf("%s/%s", prefix, n->name) : g_strdup(n->name);

    if (!n->children) {
        g_ptr_array_add(names, g_steal_pointer(&path));
        g_ptr_array_add(nodes, (gpointer)n);
        return;
    }
    for (guint i = 0; i < n->children->len; i++) {
        t_leaves(g_ptr_array_index(n->children, i), path, names, nodes);
    }
}

/* The leaves of a section's fields, named from its top-level fields. */
static void t_leaves_of(const VmsDecNode *root, GPtrArray *names,
                        GPtrArray *nodes)
{
    for (guint i = 0; root->children && i < root->children->len; i++) {
        t_leaves(g_ptr_array_index(root->children, i), "", names, nodes);
    }
}

/* Same section ids, versions and fields, and every field's bytes. */
static void t_same_section(const VmsDecoded *a, const VmsDecoded *b,
                           const char *id)
{
    const VmsDecSection *sa = t_section(a, id), *sb = t_section(b, id);
    g_autoptr(GPtrArray) na = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) nb = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) la = g_ptr_array_new();
    g_autoptr(GPtrArray) lb = g_ptr_array_new();

    g_assert_cmpuint(sa->section_id, ==, sb->section_id);
    g_assert_cmpuint(sa->version_id, ==, sb->version_id);
    g_assert_cmpuint(sa->instance_id, ==, sb->instance_id);
    t_leaves_of(sa->root, na, la);
    t_leaves_of(sb->root, nb, lb);
    g_assert_cmpuint(na->len, ==, nb->len);
    for (guint i = 0; i < na->len; i++) {
        const VmsDecNode *x = g_ptr_array_index(la, i);
        const VmsDecNode *y = g_ptr_array_index(lb, i);
        g_autofree char *vx = vms_dec_node_value(x);
        g_autofree char *vy = vms_dec_node_value(y);

        g_assert_cmpstr(g_ptr_array_index(na, i), ==, g_ptr_array_index(nb, i));
        if (x->size != y->size || memcmp(x->data, y->data, x->size)) {
            g_error("section '%s' field '%s': first %s, second %s", id,
                    (char *)g_ptr_array_index(na, i), vx, vy);
        }
    }
    g_assert_cmpuint(sa->payload_len, ==, sb->payload_len);
    g_assert_true(!memcmp(sa->root->data, sb->root->data, sa->payload_len));
}

static void test_reset_is_qemu(void)
{
    Machine *m = t_machine("spin", VMS_UNKNOWN_REJECT);
    g_autoptr(GByteArray) ref = t_fixture("pc-tcg-prelaunch.devstate");
    g_autoptr(GByteArray) ours = t_save(m);
    g_autoptr(VmsDecoded) dr = t_decode(m, ref);
    g_autoptr(VmsDecoded) dl = t_decode(m, ours);

    t_same_section(dr, dl, "cpu_common");
    t_same_section(dr, dl, "cpu");
    /* and again after a run and a system_reset */
    t_run(m, T_SLICE);
    machine_reset(m);
    g_autoptr(GByteArray) again = t_save(m);
    g_autoptr(VmsDecoded) da = t_decode(m, again);
    t_same_section(dr, da, "cpu");
    t_same_section(dr, da, "cpu_common");
    machine_free(m);
}

/* QEMU's file loads (its other devices skipped), and saves back. */
static void test_load_qemu_reset(void)
{
    Machine *m = t_machine("spin", VMS_UNKNOWN_SKIP);
    g_autoptr(GByteArray) ref = t_fixture("pc-tcg-prelaunch.devstate");
    g_autoptr(GError) err = NULL;

    t_run(m, T_SLICE);
    g_assert_true(machine_load(m, ref->data, ref->len, &err));
    g_assert_no_error(err);
    g_autoptr(GByteArray) ours = t_save(m);
    g_autoptr(VmsDecoded) dr = t_decode(m, ref);
    g_autoptr(VmsDecoded) dl = t_decode(m, ours);
    t_same_section(dr, dl, "cpu_common");
    t_same_section(dr, dl, "cpu");
    machine_free(m);
}

/* Devices, vCPU and RAM of `a` into `b` as one checkpoint. */
static void t_transfer(Machine *a, Machine *b)
{
    g_autoptr(GByteArray) dev = t_save(a);
    g_autoptr(GByteArray) ram = g_byte_array_new();
    g_autoptr(GError) err = NULL;

    ram_encode(a->ram, RAM_SAVE_ALL, ram, NULL);
    g_assert_true(machine_load_checkpoint(b, dev->data, dev->len, ram->data,
                                          ram->len, &err));
    g_assert_no_error(err);
}

/* Where two streams of the same machine layout first differ. */
static void t_report_diff(Machine *m, GByteArray *x, GByteArray *y)
{
    g_autoptr(VmsDecoded) dx = t_decode(m, x);
    g_autoptr(VmsDecoded) dy = t_decode(m, y);

    g_assert_cmpuint(dx->sections->len, ==, dy->sections->len);
    for (guint i = 0; i < dx->sections->len; i++) {
        const VmsDecSection *sx = g_ptr_array_index(dx->sections, i);

        t_same_section(dx, dy, sx->idstr);
    }
}

static void t_assert_same_state(Machine *a, Machine *b)
{
    g_autoptr(GByteArray) sa = t_save(a);
    g_autoptr(GByteArray) sb = t_save(b);

    if (sa->len != sb->len || memcmp(sa->data, sb->data, sa->len)) {
        t_report_diff(a, sa, sb);
    }
    g_assert_cmpmem(sa->data, sa->len, sb->data, sb->len);
    g_assert_cmpmem(ram_host(a->ram), T_RAM, ram_host(b->ram), T_RAM);
}

/* A running vCPU (IVT, PIC, stack and registers set up by bios-count)
   moves to a machine with the same BIOS (the ROM is not device state)
   that is elsewhere in it, and both go on alike. */
static void test_roundtrip(void)
{
    Machine *a = t_machine("count", VMS_UNKNOWN_REJECT);
    Machine *b = t_machine("count", VMS_UNKNOWN_REJECT);
    g_autoptr(GByteArray) before = NULL;

    t_run(a, T_BEFORE);
    t_run(b, T_SLICE);
    before = t_save(b);
    t_transfer(a, b);
    t_assert_same_state(a, b);
    t_run(a, T_AFTER);
    t_run(b, T_AFTER);
    t_assert_same_state(a, b);
    g_autoptr(GByteArray) after = t_save(b);
    g_assert_false(before->len == after->len &&
                   !memcmp(before->data, after->data, before->len));
    machine_free(a);
    machine_free(b);
}

/* The stream offset of a named field of a section. */
static size_t t_field_offset(const VmsDecoded *d, const char *id,
                             const char *field)
{
    const VmsDecSection *s = t_section(d, id);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) nodes = g_ptr_array_new();

    t_leaves_of(s->root, names, nodes);
    for (guint i = 0; i < names->len; i++) {
        if (!strcmp(g_ptr_array_index(names, i), field)) {
            return ((const VmsDecNode *)g_ptr_array_index(nodes, i))->offset;
        }
    }
    g_error("no field '%s' in '%s'", field, id);
    return 0;
}

typedef struct TBad {
    const char *section, *field;
    unsigned byte; /* within the field */
    uint8_t value;
    const char *error; /* a part of the message */
} TBad;

static const TBad t_bad[] = {
    {"cpu_common", "halted", 3, 2, "field 'halted': 2 is not 0 or 1"},
    {"cpu_common", "interrupt_request", 3, 0x14,
     "field 'interrupt_request': 0x14 has bits 0x4"},
    {"cpu", "env.cr[0]", 7, 0x11, "protected mode (PE) is not supported"},
    {"cpu", "env.eflags", 5, 0x02, "virtual-8086 mode"},
    {"cpu", "env.hflags", 3, 0x48, "interrupt shadow"},
    {"cpu", "env.regs/env.regs[9]", 7, 1, "field 'env.regs[9]': 0x1: 64-bit"},
    {"cpu", "env.regs/env.regs[0]", 3, 1, "field 'env.regs[0]': 0x1000"},
    {"cpu", "env.segs/env.segs[3]/base", 7, 0x10,
     "field 'env.segs[3]': selector"},
    {"cpu", "env.segs/env.segs[1]/flags", 1, 0x40, "32-bit code or stack"},
    {"cpu", "env.idt/base", 7, 0x10, "IVT at 0 only"},
    {"cpu", "env.a20_mask", 1, 0xef, "A20 gate is always on"},
    {"cpu", "env.exception_nr", 3, 0x0d, "an injected interrupt"},
    {"cpu", "env.xcr0", 7, 0x07, "XSAVE"},
    {"cpu", "env.mcg_cap", 7, 0x0b, "machine-check"},
    {"cpu", "env.fpregs_format_vmstate", 1, 1, "non-softfloat"},
    {"cpu", "env.xmm_regs[0]/env.xmm_regs[0][12]/_q_ZMMReg[0]", 7, 1,
     "xmm8-15"},
};

static void t_bad_case(Machine *src, Machine *dst, const TBad *c)
{
    g_autoptr(GByteArray) s = t_save(src);
    g_autoptr(GByteArray) before = t_save(dst);
    g_autoptr(VmsDecoded) d = t_decode(src, s);
    size_t off = t_field_offset(d, c->section, c->field) + c->byte;
    g_autoptr(GError) err = NULL;
    g_autofree char *where =
        g_strdup_printf("section '%s' instance 0", c->section);

    g_assert_cmpuint(s->data[off], !=, c->value);
    s->data[off] = c->value;
    g_assert_false(machine_load(dst, s->data, s->len, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, c->error) || !strstr(err->message, where)) {
        g_error("%s: got \"%s\", want \"%s\"", c->field, err->message,
                c->error);
    }
    g_autoptr(GByteArray) after = t_save(dst);
    g_assert_cmpmem(before->data, before->len, after->data, after->len);
}

/* Each state the vCPU cannot run fails the whole load with the field and
   the reason; the machine it was loaded into is left as it was. */
static void test_reject(void)
{
    Machine *src = t_machine("count", VMS_UNKNOWN_REJECT);
    Machine *dst = t_machine("spin", VMS_UNKNOWN_REJECT);

    t_run(src, T_BEFORE);
    t_run(dst, T_SLICE);
    for (size_t i = 0; i < G_N_ELEMENTS(t_bad); i++) {
        t_bad_case(src, dst, &t_bad[i]);
    }
    machine_free(src);
    machine_free(dst);
}

/* Every truncation of the cpu sections fails and changes nothing. */
static void test_truncated(void)
{
    Machine *src = t_machine("count", VMS_UNKNOWN_REJECT);
    Machine *dst = t_machine("spin", VMS_UNKNOWN_REJECT);
    g_autoptr(GByteArray) s = NULL;
    g_autoptr(GByteArray) before = NULL;
    g_autoptr(VmsDecoded) d = NULL;

    t_run(src, T_BEFORE);
    t_run(dst, T_SLICE);
    s = t_save(src);
    before = t_save(dst);
    d = t_decode(src, s);
    for (size_t n = t_section(d, "cpu_common")->offset;
         n < t_section(d, "i8259")->offset; n++) {
        g_autoptr(GError) err = NULL;

        g_assert_false(machine_load(dst, s->data, n, &err));
    }
    g_autoptr(GByteArray) after = t_save(dst);
    g_assert_cmpmem(before->data, before->len, after->data, after->len);
    machine_free(src);
    machine_free(dst);
}

/* A loaded state with FPU, SSE, control, debug and PAT values that no
   test BIOS sets; system_reset brings all of it back to QEMU's reset. */
static void test_reset_clears(void)
{
    static const char *const fields[] = {
        "env.xmm_regs[0]/env.xmm_regs[0][0]/_q_ZMMReg[0]",
        "env.xmm_regs[1]/env.xmm_regs[1][3]/_q_ZMMReg[2]",
        "env.fpregs/env.fpregs[0]/tmp_mant",
        "env.pat",
        "env.dr/env.dr[0]",
        "env.cr[2]",
        "env.sysenter_eip",
    };
    Machine *m = t_machine("spin", VMS_UNKNOWN_REJECT);
    g_autoptr(GByteArray) ref = t_fixture("pc-tcg-prelaunch.devstate");
    g_autoptr(GByteArray) s = t_save(m);
    g_autoptr(VmsDecoded) d = t_decode(m, s);
    g_autoptr(GError) err = NULL;

    for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
        s->data[t_field_offset(d, "cpu", fields[i]) + 6] = 0x5a;
    }
    g_assert_true(machine_load(m, s->data, s->len, &err));
    g_assert_no_error(err);
    g_autoptr(GByteArray) loaded = t_save(m);
    g_assert_cmpmem(loaded->data, loaded->len, s->data, s->len);
    machine_reset(m);
    g_autoptr(GByteArray) again = t_save(m);
    g_autoptr(VmsDecoded) dr = t_decode(m, ref);
    g_autoptr(VmsDecoded) da = t_decode(m, again);
    t_same_section(dr, da, "cpu");
    t_same_section(dr, da, "cpu_common");
    machine_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cpu/state/reset-is-qemu", test_reset_is_qemu);
    g_test_add_func("/cpu/state/load-qemu-reset", test_load_qemu_reset);
    g_test_add_func("/cpu/state/reset-clears", test_reset_clears);
    g_test_add_func("/cpu/state/roundtrip", test_roundtrip);
    g_test_add_func("/cpu/state/reject", test_reject);
    g_test_add_func("/cpu/state/truncated", test_truncated);
    return g_test_run();
}
