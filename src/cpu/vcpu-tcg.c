/*
 * `-accel tcg`: the vCPU executed by Unicorn (Debian's libunicorn, built
 * on QEMU's TCG), in 16-bit mode.
 *
 * Unicorn does not deliver interrupts itself: `int n` reaches the
 * UC_HOOK_INTR hook with IP past the instruction, and vcpu.c enters the
 * handler through the IVT. `hlt` ends uc_emu_start normally. A slice is
 * bounded by a per-instruction hook that counts and, at the budget or on
 * a kick, stops before the next instruction. Unicorn then leaves EIP
 * holding the linear address of that instruction, so run() rewrites IP
 * from the address the hook saw.
 */
#include <string.h>
#include <unicorn/unicorn.h>

#include "base/error.h"
#include "cpu/vcpu-internal.h"

#define VCPU_TCG_UNTIL    UINT64_MAX  /* no stop address */
#define VCPU_TCG_EDX      0x60fb1     /* qemu64's CPUID family/model/stepping */
#define VCPU_TCG_CR0      0x60000010u /* CD, NW, ET: the x86 power-on value */
#define VCPU_TCG_RESET_CS 0xf000
#define VCPU_TCG_RESET_IP 0xfff0
#define VCPU_TCG_FPUC     0x37f /* x86_cpu_reset: fpuc, all tags empty */
#define VCPU_TCG_FPTAG    0xffff
#define VCPU_TCG_MXCSR    0x1f80
#define VCPU_TCG_LDT      0x8200 /* present, type 2 (LDT) */
#define VCPU_TCG_TR       0x8b00 /* present, type 11 (busy 32-bit TSS) */

typedef struct VcpuTcg {
    uc_engine *uc;
    Vcpu *v;
    uc_hook h_code, h_in, h_out, h_intr;
    uc_hook h_write;  /* while tracking writes */
    uint64_t ram_top; /* end of the highest RAM mapping */
    uint64_t count;   /* instructions of this slice */
    uint64_t budget;
    bool kick;        /* stop at the next instruction */
    bool watch_if;    /* stop once IF has been set for an instruction */
    bool if_seen;     /* IF was set at the previous instruction */
    bool stopping;    /* the code hook has called uc_emu_stop */
    bool failed;      /* an entry through the IVT failed */
    uint64_t stop_at; /* linear address of the instruction not executed */
} VcpuTcg;

static void vcpu_tcg_w(VcpuTcg *t, int reg, uint64_t val)
{
    uc_reg_write(t->uc, reg, &val);
}

static uint64_t vcpu_tcg_r(VcpuTcg *t, int reg)
{
    uint64_t val = 0;

    uc_reg_read(t->uc, reg, &val);
    return val;
}

static void vcpu_tcg_on_code(uc_engine *uc, uint64_t addr, uint32_t size,
                             void *opaque)
{
    VcpuTcg *t = opaque;

    if (t->stopping) {
        return;
    }
    if (t->watch_if) {
        bool on = vcpu_tcg_r(t, UC_X86_REG_EFLAGS) & VCPU_EFLAGS_IF;

        t->kick |= on && t->if_seen;
        t->if_seen = on;
    }
    if (t->kick || t->count >= t->budget) {
        t->stopping = true;
        t->stop_at = addr;
        uc_emu_stop(uc);
        return;
    }
    t->count++;
}

static uint32_t vcpu_tcg_on_in(uc_engine *uc, uint32_t port, int size,
                               void *opaque)
{
    VcpuTcg *t = opaque;
    const VcpuIo *io = vcpu_io(t->v);

    return io->pio_in(io->opaque, (uint16_t)port, (unsigned)size);
}

static void vcpu_tcg_on_out(uc_engine *uc, uint32_t port, int size,
                            uint32_t val, void *opaque)
{
    VcpuTcg *t = opaque;
    const VcpuIo *io = vcpu_io(t->v);

    io->pio_out(io->opaque, (uint16_t)port, val, (unsigned)size);
}

static void vcpu_tcg_on_intr(uc_engine *uc, uint32_t intno, void *opaque)
{
    VcpuTcg *t = opaque;

    if (intno > 0xff || !vcpu_enter_rm(t->v, (uint8_t)intno)) {
        t->failed = true;
        uc_emu_stop(uc);
    }
}

static void vcpu_tcg_on_write(uc_engine *uc, uc_mem_type type, uint64_t addr,
                              int size, int64_t value, void *opaque)
{
    VcpuTcg *t = opaque;

    vcpu_note_write(t->v, addr, (uint64_t)size);
}

static bool vcpu_tcg_check(uc_err err, const char *what, GError **errp)
{
    if (err != UC_ERR_OK) {
        ls_error_set(errp, "unicorn: %s: %s", what, uc_strerror(err));
        return false;
    }
    return true;
}

static bool vcpu_tcg_hooks(VcpuTcg *t, GError **errp)
{
    uc_engine *uc = t->uc;

    return vcpu_tcg_check(uc_hook_add(uc, &t->h_code, UC_HOOK_CODE,
                                      vcpu_tcg_on_code, t, 1, 0),
                          "code hook", errp) &&
           vcpu_tcg_check(uc_hook_add(uc, &t->h_in, UC_HOOK_INSN,
                                      vcpu_tcg_on_in, t, 1, 0, UC_X86_INS_IN),
                          "in hook", errp) &&
           vcpu_tcg_check(uc_hook_add(uc, &t->h_out, UC_HOOK_INSN,
                                      vcpu_tcg_on_out, t, 1, 0, UC_X86_INS_OUT),
                          "out hook", errp) &&
           vcpu_tcg_check(uc_hook_add(uc, &t->h_intr, UC_HOOK_INTR,
                                      vcpu_tcg_on_intr, t, 1, 0),
                          "interrupt hook", errp);
}

static void vcpu_tcg_destroy(void *accel)
{
    VcpuTcg *t = accel;

    if (t->uc) {
        uc_close(t->uc);
    }
    g_free(t);
}

static void *vcpu_tcg_create(Vcpu *v, GError **errp)
{
    VcpuTcg *t = g_new0(VcpuTcg, 1);

    t->v = v;
    if (!vcpu_tcg_check(uc_open(UC_ARCH_X86, UC_MODE_16, &t->uc), "open",
                        errp) ||
        !vcpu_tcg_hooks(t, errp)) {
        vcpu_tcg_destroy(t);
        return NULL;
    }
    return t;
}

static bool vcpu_tcg_map(void *accel, uint64_t gpa, uint8_t *host,
                         uint64_t size, bool rom, GError **errp)
{
    VcpuTcg *t = accel;
    uint32_t prot = rom ? UC_PROT_READ | UC_PROT_EXEC : UC_PROT_ALL;
    g_autofree char *what = g_strdup_printf(
        "map 0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER "x", gpa, size);

    if (!vcpu_tcg_check(uc_mem_map_ptr(t->uc, gpa, size, prot, host), what,
                        errp)) {
        return false;
    }
    if (!rom) {
        t->ram_top = MAX(t->ram_top, gpa + size);
    }
    return true;
}

static void vcpu_tcg_reset(void *accel)
{
    static const int zero[] = {
        UC_X86_REG_EAX, UC_X86_REG_EBX, UC_X86_REG_ECX, UC_X86_REG_ESI,
        UC_X86_REG_EDI, UC_X86_REG_EBP, UC_X86_REG_ESP, UC_X86_REG_DS,
        UC_X86_REG_ES,  UC_X86_REG_FS,  UC_X86_REG_GS,  UC_X86_REG_SS,
    };
    VcpuTcg *t = accel;
    uc_x86_mmr table = {.base = 0, .limit = 0xffff};

    for (size_t i = 0; i < G_N_ELEMENTS(zero); i++) {
        vcpu_tcg_w(t, zero[i], 0);
    }
    vcpu_tcg_w(t, UC_X86_REG_EDX, VCPU_TCG_EDX);
    vcpu_tcg_w(t, UC_X86_REG_EFLAGS, VCPU_EFLAGS_RSV);
    vcpu_tcg_w(t, UC_X86_REG_CR0, VCPU_TCG_CR0);
    uc_reg_write(t->uc, UC_X86_REG_IDTR, &table);
    uc_reg_write(t->uc, UC_X86_REG_GDTR, &table);
    table.flags = VCPU_TCG_LDT;
    uc_reg_write(t->uc, UC_X86_REG_LDTR, &table);
    table.flags = VCPU_TCG_TR;
    uc_reg_write(t->uc, UC_X86_REG_TR, &table);
    vcpu_tcg_w(t, UC_X86_REG_FPCW, VCPU_TCG_FPUC);
    vcpu_tcg_w(t, UC_X86_REG_FPTAG, VCPU_TCG_FPTAG);
    vcpu_tcg_w(t, UC_X86_REG_MXCSR, VCPU_TCG_MXCSR);
    vcpu_tcg_w(t, UC_X86_REG_CS, VCPU_TCG_RESET_CS);
    vcpu_tcg_w(t, UC_X86_REG_EIP, VCPU_TCG_RESET_IP);
}

static VcpuExit vcpu_tcg_run(void *accel, uint64_t budget, bool watch_if,
                             uint64_t *executed, GError **errp)
{
    VcpuTcg *t = accel;
    uint64_t cs = vcpu_tcg_r(t, UC_X86_REG_CS) & 0xffff;
    uint64_t ip = vcpu_tcg_r(t, UC_X86_REG_EIP) & 0xffff;
    uc_err err;

    t->count = 0;
    t->budget = budget;
    t->stopping = t->kick = t->failed = t->if_seen = false;
    t->watch_if = watch_if;
    err = uc_emu_start(t->uc, (cs << 4) + ip, VCPU_TCG_UNTIL, 0, 0);
    *executed = t->count;
    if (t->failed) {
        return VCPU_EXIT_ERROR;
    }
    if (!vcpu_tcg_check(err, "execution", errp)) {
        g_prefix_error(errp, "at %04x:%04x: ",
                       (unsigned)vcpu_tcg_r(t, UC_X86_REG_CS) & 0xffff,
                       (unsigned)vcpu_tcg_r(t, UC_X86_REG_EIP) & 0xffff);
        return VCPU_EXIT_ERROR;
    }
    if (!t->stopping) {
        return VCPU_EXIT_HALT;
    }
    cs = vcpu_tcg_r(t, UC_X86_REG_CS) & 0xffff;
    vcpu_tcg_w(t, UC_X86_REG_EIP, (t->stop_at - (cs << 4)) & 0xffff);
    return t->kick ? VCPU_EXIT_KICK : VCPU_EXIT_BUDGET;
}

/* A write hook over every RAM mapping (0 to the top of RAM; the ROM
   below 1 MiB refuses writes before any hook sees them). */
static void vcpu_tcg_track_writes(void *accel, bool on)
{
    VcpuTcg *t = accel;

    if (on && !t->h_write) {
        uc_hook_add(t->uc, &t->h_write, UC_HOOK_MEM_WRITE, vcpu_tcg_on_write, t,
                    0, t->ram_top - 1);
    } else if (!on && t->h_write) {
        uc_hook_del(t->uc, t->h_write);
        t->h_write = 0;
    }
}

static void vcpu_tcg_kick(void *accel)
{
    VcpuTcg *t = accel;

    t->kick = true;
}

static void vcpu_tcg_get_rm(void *accel, VcpuRmRegs *r)
{
    VcpuTcg *t = accel;

    r->cs = (uint16_t)vcpu_tcg_r(t, UC_X86_REG_CS);
    r->ip = (uint16_t)vcpu_tcg_r(t, UC_X86_REG_EIP);
    r->ss = (uint16_t)vcpu_tcg_r(t, UC_X86_REG_SS);
    r->sp = (uint16_t)vcpu_tcg_r(t, UC_X86_REG_ESP);
    r->eflags = (uint32_t)vcpu_tcg_r(t, UC_X86_REG_EFLAGS);
}

static void vcpu_tcg_set_rm(void *accel, const VcpuRmRegs *r)
{
    VcpuTcg *t = accel;
    uint64_t esp = vcpu_tcg_r(t, UC_X86_REG_ESP);

    vcpu_tcg_w(t, UC_X86_REG_CS, r->cs);
    vcpu_tcg_w(t, UC_X86_REG_EIP, r->ip);
    vcpu_tcg_w(t, UC_X86_REG_ESP, (esp & 0xffff0000u) | r->sp);
    vcpu_tcg_w(t, UC_X86_REG_EFLAGS, r->eflags);
}

/* The MSRs behind VcpuArch fields, read and written with rdmsr/wrmsr
   semantics (Unicorn's UC_X86_REG_MSR); MCG_CAP is read-only there. */
typedef struct VcpuTcgMsr {
    uint32_t index;
    size_t offset; /* of a uint64_t (or uint32_t for sysenter_cs) */
    bool u32;
} VcpuTcgMsr;

#define VCPU_TCG_MSR(_i, _m)                                                   \
    {                                                                          \
        (_i), offsetof(VcpuArch, _m), sizeof(((VcpuArch *)0)->_m) == 4         \
    }

static const VcpuTcgMsr vcpu_tcg_msrs[] = {
    VCPU_TCG_MSR(0x174, sysenter_cs),
    VCPU_TCG_MSR(0x175, sysenter_esp),
    VCPU_TCG_MSR(0x176, sysenter_eip),
    VCPU_TCG_MSR(0xc0000080, efer),
    VCPU_TCG_MSR(0xc0000081, star),
    VCPU_TCG_MSR(0xc0000082, lstar),
    VCPU_TCG_MSR(0xc0000083, cstar),
    VCPU_TCG_MSR(0xc0000084, fmask),
    VCPU_TCG_MSR(0xc0000102, kernelgsbase),
    VCPU_TCG_MSR(0xc0000103, tsc_aux),
    VCPU_TCG_MSR(0x277, pat),
    VCPU_TCG_MSR(0x2ff, mtrr_deftype),
    VCPU_TCG_MSR(0x250, mtrr_fixed[0]),
    VCPU_TCG_MSR(0x258, mtrr_fixed[1]),
    VCPU_TCG_MSR(0x259, mtrr_fixed[2]),
    VCPU_TCG_MSR(0x179, mcg_cap),
    VCPU_TCG_MSR(0x17a, mcg_status),
    VCPU_TCG_MSR(0x17b, mcg_ctl),
};
#define VCPU_TCG_MSR_FIX4K   0x268 /* mtrr_fixed[3..10] */
#define VCPU_TCG_MSR_VAR     0x200 /* base, mask pairs */
#define VCPU_TCG_MSR_MC0_CTL 0x400 /* mce_banks[] */

static uint64_t vcpu_tcg_rdmsr(VcpuTcg *t, uint32_t index)
{
    uc_x86_msr msr = {.rid = index};

    uc_reg_read(t->uc, UC_X86_REG_MSR, &msr);
    return msr.value;
}

static void vcpu_tcg_wrmsr(VcpuTcg *t, uint32_t index, uint64_t val)
{
    uc_x86_msr msr = {.rid = index, .value = val};

    uc_reg_write(t->uc, UC_X86_REG_MSR, &msr);
}

/* Every MSR-backed field: get (to_arch) or set from `a`. */
static void vcpu_tcg_msrs_xfer(VcpuTcg *t, VcpuArch *a, bool to_arch)
{
    for (size_t i = 0; i < G_N_ELEMENTS(vcpu_tcg_msrs); i++) {
        const VcpuTcgMsr *m = &vcpu_tcg_msrs[i];
        uint8_t *p = (uint8_t *)a + m->offset;
        uint64_t v;

        if (to_arch) {
            v = vcpu_tcg_rdmsr(t, m->index);
            if (m->u32) {
                *(uint32_t *)p = (uint32_t)v;
            } else {
                *(uint64_t *)p = v;
            }
        } else {
            v = m->u32 ? *(uint32_t *)p : *(uint64_t *)p;
            vcpu_tcg_wrmsr(t, m->index, v);
        }
    }
    for (uint32_t i = 0; i < 8; i++) {
        uint64_t *f = &a->mtrr_fixed[3 + i];
        uint64_t *vb = &a->mtrr_var[i].base, *vm = &a->mtrr_var[i].mask;

        if (to_arch) {
            *f = vcpu_tcg_rdmsr(t, VCPU_TCG_MSR_FIX4K + i);
            *vb = vcpu_tcg_rdmsr(t, VCPU_TCG_MSR_VAR + 2 * i);
            *vm = vcpu_tcg_rdmsr(t, VCPU_TCG_MSR_VAR + 2 * i + 1);
        } else {
            vcpu_tcg_wrmsr(t, VCPU_TCG_MSR_FIX4K + i, *f);
            vcpu_tcg_wrmsr(t, VCPU_TCG_MSR_VAR + 2 * i, *vb);
            vcpu_tcg_wrmsr(t, VCPU_TCG_MSR_VAR + 2 * i + 1, *vm);
        }
    }
    for (uint32_t i = 0; i < VCPU_MCE_BANKS; i++) {
        if (to_arch) {
            a->mce_banks[i] = vcpu_tcg_rdmsr(t, VCPU_TCG_MSR_MC0_CTL + i);
        } else {
            vcpu_tcg_wrmsr(t, VCPU_TCG_MSR_MC0_CTL + i, a->mce_banks[i]);
        }
    }
}

static const int vcpu_tcg_gpr[8] = {
    UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_EBX,
    UC_X86_REG_ESP, UC_X86_REG_EBP, UC_X86_REG_ESI, UC_X86_REG_EDI,
};
/* QEMU's segment order: R_ES, R_CS, R_SS, R_DS, R_FS, R_GS. */
static const int vcpu_tcg_seg[VCPU_NB_SEGS] = {
    UC_X86_REG_ES, UC_X86_REG_CS, UC_X86_REG_SS,
    UC_X86_REG_DS, UC_X86_REG_FS, UC_X86_REG_GS,
};
static const int vcpu_tcg_ctl[] = {
    UC_X86_REG_CR0,
    UC_X86_REG_CR2,
    UC_X86_REG_CR3,
    UC_X86_REG_CR4,
};

static void vcpu_tcg_mmr_get(VcpuTcg *t, int reg, VcpuSeg *s)
{
    uc_x86_mmr mmr = {0};

    uc_reg_read(t->uc, reg, &mmr);
    *s = (VcpuSeg){mmr.selector, mmr.base, mmr.limit, mmr.flags};
}

static void vcpu_tcg_mmr_set(VcpuTcg *t, int reg, const VcpuSeg *s)
{
    uc_x86_mmr mmr = {(uint16_t)s->selector, s->base, s->limit, s->flags};

    uc_reg_write(t->uc, reg, &mmr);
}

static void vcpu_tcg_fpu_get(VcpuTcg *t, VcpuArch *a)
{
    uint16_t tag = (uint16_t)vcpu_tcg_r(t, UC_X86_REG_FPTAG);

    a->fpuc = (uint16_t)vcpu_tcg_r(t, UC_X86_REG_FPCW);
    a->fpus = (uint16_t)vcpu_tcg_r(t, UC_X86_REG_FPSW);
    /* The abridged tag word: bit i set when register i is not empty. */
    a->fptag = 0;
    for (int i = 0; i < 8; i++) {
        a->fptag |= (((tag >> (2 * i)) & 3) != 3) << i;
    }
    for (int i = 0; i < 8; i++) {
        uint8_t fp[10];

        uc_reg_read(t->uc, UC_X86_REG_FP0 + i, fp);
        memcpy(&a->fpregs[i].mant, fp, 8);
        memcpy(&a->fpregs[i].exp, fp + 8, 2);
    }
    a->mxcsr = (uint32_t)vcpu_tcg_r(t, UC_X86_REG_MXCSR);
    for (int i = 0; i < 8; i++) {
        uint64_t y[4] = {0};

        uc_reg_read(t->uc, UC_X86_REG_YMM0 + i, y);
        a->xmm[i] = (VcpuQ2){{y[0], y[1]}};
        a->ymmh[i] = (VcpuQ2){{y[2], y[3]}};
    }
    a->fpop = (uint16_t)vcpu_tcg_r(t, UC_X86_REG_FOP);
    a->fpip = vcpu_tcg_r(t, UC_X86_REG_FIP);
    a->fpdp = vcpu_tcg_r(t, UC_X86_REG_FDP);
}

static void vcpu_tcg_fpu_set(VcpuTcg *t, const VcpuArch *a)
{
    uint16_t tag = 0;

    vcpu_tcg_w(t, UC_X86_REG_FPCW, a->fpuc);
    vcpu_tcg_w(t, UC_X86_REG_FPSW, a->fpus);
    for (int i = 0; i < 8; i++) {
        tag |= (a->fptag >> i & 1 ? 0 : 3) << (2 * i);
    }
    vcpu_tcg_w(t, UC_X86_REG_FPTAG, tag);
    for (int i = 0; i < 8; i++) {
        uint8_t fp[10];

        memcpy(fp, &a->fpregs[i].mant, 8);
        memcpy(fp + 8, &a->fpregs[i].exp, 2);
        uc_reg_write(t->uc, UC_X86_REG_FP0 + i, fp);
    }
    vcpu_tcg_w(t, UC_X86_REG_MXCSR, a->mxcsr);
    for (int i = 0; i < 8; i++) {
        uint64_t y[4] = {a->xmm[i].q[0], a->xmm[i].q[1], a->ymmh[i].q[0],
                         a->ymmh[i].q[1]};

        uc_reg_write(t->uc, UC_X86_REG_YMM0 + i, y);
    }
    vcpu_tcg_w(t, UC_X86_REG_FOP, a->fpop);
    vcpu_tcg_w(t, UC_X86_REG_FIP, a->fpip);
    vcpu_tcg_w(t, UC_X86_REG_FDP, a->fpdp);
}

static void vcpu_tcg_get_arch(void *accel, VcpuArch *a)
{
    VcpuTcg *t = accel;

    for (int i = 0; i < 8; i++) {
        a->regs[i] = (uint32_t)vcpu_tcg_r(t, vcpu_tcg_gpr[i]);
    }
    a->eip = (uint32_t)vcpu_tcg_r(t, UC_X86_REG_EIP);
    a->eflags = (uint32_t)vcpu_tcg_r(t, UC_X86_REG_EFLAGS);
    for (int i = 0; i < VCPU_NB_SEGS; i++) {
        a->segs[i].selector = (uint16_t)vcpu_tcg_r(t, vcpu_tcg_seg[i]);
    }
    vcpu_tcg_mmr_get(t, UC_X86_REG_LDTR, &a->ldt);
    vcpu_tcg_mmr_get(t, UC_X86_REG_TR, &a->tr);
    vcpu_tcg_mmr_get(t, UC_X86_REG_GDTR, &a->gdt);
    vcpu_tcg_mmr_get(t, UC_X86_REG_IDTR, &a->idt);
    a->cr0 = (uint32_t)vcpu_tcg_r(t, UC_X86_REG_CR0);
    a->cr2 = (uint32_t)vcpu_tcg_r(t, UC_X86_REG_CR2);
    a->cr3 = (uint32_t)vcpu_tcg_r(t, UC_X86_REG_CR3);
    a->cr4 = (uint32_t)vcpu_tcg_r(t, UC_X86_REG_CR4);
    for (int i = 0; i < 8; i++) {
        a->dr[i] = (uint32_t)vcpu_tcg_r(t, UC_X86_REG_DR0 + i);
    }
    vcpu_tcg_fpu_get(t, a);
    vcpu_tcg_msrs_xfer(t, a, true);
}

/* Control registers first, so that the segment loads see real mode. */
static void vcpu_tcg_set_arch(void *accel, const VcpuArch *a)
{
    VcpuTcg *t = accel;
    VcpuArch msrs;

    for (size_t i = 0; i < G_N_ELEMENTS(vcpu_tcg_ctl); i++) {
        uint64_t cr[] = {a->cr0, a->cr2, a->cr3, a->cr4};

        vcpu_tcg_w(t, vcpu_tcg_ctl[i], cr[i]);
    }
    for (int i = 0; i < 8; i++) {
        vcpu_tcg_w(t, vcpu_tcg_gpr[i], a->regs[i]);
        vcpu_tcg_w(t, UC_X86_REG_DR0 + i, a->dr[i]);
    }
    for (int i = 0; i < VCPU_NB_SEGS; i++) {
        vcpu_tcg_w(t, vcpu_tcg_seg[i], a->segs[i].selector);
    }
    vcpu_tcg_w(t, UC_X86_REG_EIP, a->eip);
    vcpu_tcg_w(t, UC_X86_REG_EFLAGS, a->eflags);
    vcpu_tcg_mmr_set(t, UC_X86_REG_LDTR, &a->ldt);
    vcpu_tcg_mmr_set(t, UC_X86_REG_TR, &a->tr);
    vcpu_tcg_mmr_set(t, UC_X86_REG_GDTR, &a->gdt);
    vcpu_tcg_mmr_set(t, UC_X86_REG_IDTR, &a->idt);
    vcpu_tcg_fpu_set(t, a);
    msrs = *a; /* xfer reads it only, when setting */
    vcpu_tcg_msrs_xfer(t, &msrs, false);
}

static bool vcpu_tcg_mem_read(void *accel, uint64_t gpa, void *buf, size_t len)
{
    VcpuTcg *t = accel;

    return uc_mem_read(t->uc, gpa, buf, len) == UC_ERR_OK;
}

static bool vcpu_tcg_mem_write(void *accel, uint64_t gpa, const void *buf,
                               size_t len)
{
    VcpuTcg *t = accel;

    return uc_mem_write(t->uc, gpa, buf, len) == UC_ERR_OK;
}

const VcpuAccelOps vcpu_tcg_ops = {
    .create = vcpu_tcg_create,
    .destroy = vcpu_tcg_destroy,
    .map = vcpu_tcg_map,
    .reset = vcpu_tcg_reset,
    .run = vcpu_tcg_run,
    .track_writes = vcpu_tcg_track_writes,
    .kick = vcpu_tcg_kick,
    .get_rm = vcpu_tcg_get_rm,
    .set_rm = vcpu_tcg_set_rm,
    .get_arch = vcpu_tcg_get_arch,
    .set_arch = vcpu_tcg_set_arch,
    .mem_read = vcpu_tcg_mem_read,
    .mem_write = vcpu_tcg_mem_write,
};
