/*
 * The vCPU's sections in the device-state stream, as QEMU 7.2 saves a TCG
 * x86_64 vCPU: `cpu_common` (cpu.c, vmstate_cpu_common, version 1) and
 * `cpu` (target/i386/machine.c, vmstate_x86_cpu, version 12, subsections
 * cpu/poll_control_msr and cpu/fpop_ip_dp). The field layout and every
 * value this vCPU cannot take from Unicorn are in docs/cpu-state.md.
 *
 * Save: pre_save reads the accelerator (registers, selectors, FPU/SSE,
 * MSRs) into Vcpu.arch and derives the rest as QEMU's TCG keeps it in
 * real mode. Load: post_load checks the staged copy against what this
 * vCPU can run (real mode, interrupts through the IVT at 0, A20 on, no
 * 64-bit state, no pending NMI/SMI/exception) and fails with the field
 * and the reason; post_commit applies it to the accelerator.
 */
#include "cpu/vcpu-internal.h"

#include <inttypes.h>
#include <string.h>

#include "base/error.h"
#include "vms/vms.h"

/* QEMU's CPU_INTERRUPT_* bits that cpu_common can carry here. */
#define VCPU_INT_EXIT_OLD 0x01u /* obsolete; QEMU's post_load drops it */
#define VCPU_INT_HARD     0x02u /* the PIC's INTR (re-driven by the PIC) */
#define VCPU_INT_POLL     0x10u /* the APIC's reset poll */
#define VCPU_INT_KNOWN    (VCPU_INT_EXIT_OLD | VCPU_INT_HARD | VCPU_INT_POLL)

#define VCPU_CR0_PE      0x1u
#define VCPU_EFLAGS_VM   (1u << 17)
#define VCPU_EFER_LMA    (1u << 10)
#define VCPU_HF_ADDSEG   (1u << 6)
#define VCPU_HF_MP_SHIFT 9 /* MP, EM, TS: CR0 bits 1-3 */
#define VCPU_HF_OSFXSR   (1u << 22)
#define VCPU_CR4_OSFXSR  (1u << 9)
/* hflags bits a real-mode vCPU never has: INHIBIT_IRQ, CS32, SS32, PE,
   LMA, CS64, SMM, SVME, GUEST; CPL. */
#define VCPU_HF_FOREIGN    0x3b80bbu
#define VCPU_HF2_RESET     0x101u /* GIF | VGIF */
#define VCPU_DESC_B        (1u << 22)
#define VCPU_DESC_DPL      (3u << 13)
#define VCPU_DESC_DATA     0x9300u /* present, data, writable, accessed */
#define VCPU_DESC_CODE     0x9b00u /* present, code, readable, accessed */
#define VCPU_SEG_CS        1
#define VCPU_SEG_SS        2
#define VCPU_RESET_CS_SEL  0xf000u
#define VCPU_RESET_CS_BASE 0xffff0000u
#define VCPU_XCR0_RESET    0x1u /* x87 only */
#define VCPU_FPUC_RESET    0x37fu
#define VCPU_MXCSR_RESET   0x1f80u
#define VCPU_DR6_RESET     0xffff0ff0u
#define VCPU_DR7_RESET     0x400u
#define VCPU_PAT_RESET     0x0007040600070406ull
/* qemu64's MCG_CAP: MCG_CTL_P | MCG_SER_P | 10 banks (Unicorn's too). */
#define VCPU_MCG_CAP_QEMU64 0x100010aull

/* The vCPU around a section's state (pre_save, post_commit: live). */
#define VCPU_OF(_state, _member)                                               \
    ((Vcpu *)((char *)(_state)-offsetof(Vcpu, _member)))

/* ---- cpu_common ---- */

static bool vcpu_common_pre_save(void *state, GError **errp)
{
    Vcpu *v = VCPU_OF(state, common);

    v->common.halted = v->halted;
    v->common.interrupt_request =
        (v->intr ? VCPU_INT_HARD : 0) | (v->poll ? VCPU_INT_POLL : 0);
    return true;
}

static bool vcpu_common_post_load(void *state, int version_id, GError **errp)
{
    VcpuCommon *c = state;

    if (c->halted > 1) {
        ls_error_set(errp, "field 'halted': %" PRIu32 " is not 0 or 1",
                     c->halted);
        return false;
    }
    if (c->interrupt_request & ~VCPU_INT_KNOWN) {
        ls_error_set(errp,
                     "field 'interrupt_request': 0x%" PRIx32 " has bits "
                     "0x%" PRIx32 " (NMI, SMI, INIT, SIPI, ...) that this "
                     "vCPU does not have",
                     c->interrupt_request,
                     c->interrupt_request & ~VCPU_INT_KNOWN);
        return false;
    }
    c->interrupt_request &= ~VCPU_INT_EXIT_OLD;
    return true;
}

/* INTR itself comes back from the PIC's own post_commit. */
static void vcpu_common_post_commit(void *state, int version_id)
{
    Vcpu *v = VCPU_OF(state, common);

    v->halted = v->common.halted;
    v->poll = v->common.interrupt_request & VCPU_INT_POLL;
}

static const VmsField vcpu_common_fields[] = {
    VMS_UINT32(VcpuCommon, halted),
    VMS_UINT32(VcpuCommon, interrupt_request),
    VMS_END_OF_LIST,
};

static const VmsDesc vcpu_common_vmsd = {
    .name = "cpu_common",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vcpu_common_fields,
    .pre_save = vcpu_common_pre_save,
    .post_load = vcpu_common_post_load,
    .post_commit = vcpu_common_post_commit,
};

/* ---- cpu: nested descriptions ---- */

#define VCPU_F_(_st, _name, _type, _m, _n, _v)                                 \
    {                                                                          \
        .name = (_name), .type = (_type), .offset = offsetof(_st, _m),         \
        .size = sizeof(((_st *)0)->_m), .num = (_n), .version_id = (_v)        \
    }
#define VCPU_F(_name, _type, _m)      VCPU_F_(VcpuArch, _name, _type, _m, 0, 0)
#define VCPU_FV(_name, _type, _m, _v) VCPU_F_(VcpuArch, _name, _type, _m, 0, _v)
#define VCPU_FA(_name, _type, _m, _n)                                          \
    VCPU_F_(VcpuArch, _name, _type, _m[0], _n, 0)
#define VCPU_FS(_name, _m, _n, _vmsd, _elem, _v)                               \
    {                                                                          \
        .name = (_name), .type = VMS_STRUCT, .offset = offsetof(VcpuArch, _m), \
        .size = sizeof(_elem), .num = (_n), .vmsd = &(_vmsd),                  \
        .version_id = (_v)                                                     \
    }

static const VmsField vcpu_seg_fields[] = {
    VMS_UINT32(VcpuSeg, selector),
    VMS_UINT64(VcpuSeg, base),
    VMS_UINT32(VcpuSeg, limit),
    VMS_UINT32(VcpuSeg, flags),
    VMS_END_OF_LIST,
};
static const VmsDesc vcpu_seg_vmsd = {
    .name = "segment",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vcpu_seg_fields,
};

/* QEMU's VMSTATE_WITH_TMP "fpreg_tmp": mantissa, then sign/exponent. */
static const VmsField vcpu_fpreg_fields[] = {
    VCPU_F_(VcpuFpReg, "tmp_mant", VMS_UINT64, mant, 0, 0),
    VCPU_F_(VcpuFpReg, "tmp_exp", VMS_UINT16, exp, 0, 0),
    VMS_END_OF_LIST,
};
static const VmsDesc vcpu_fpreg_vmsd = {
    .name = "fpreg",
    .fields = vcpu_fpreg_fields,
};

static const VmsField vcpu_xmm_fields[] = {
    VCPU_F_(VcpuQ2, "_q_ZMMReg[0]", VMS_UINT64, q[0], 0, 0),
    VCPU_F_(VcpuQ2, "_q_ZMMReg[1]", VMS_UINT64, q[1], 0, 0),
    VMS_END_OF_LIST,
};
static const VmsDesc vcpu_xmm_vmsd = {
    .name = "xmm_reg",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vcpu_xmm_fields,
};

static const VmsField vcpu_ymmh_fields[] = {
    VCPU_F_(VcpuQ2, "_q_ZMMReg[2]", VMS_UINT64, q[0], 0, 0),
    VCPU_F_(VcpuQ2, "_q_ZMMReg[3]", VMS_UINT64, q[1], 0, 0),
    VMS_END_OF_LIST,
};
static const VmsDesc vcpu_ymmh_vmsd = {
    .name = "ymmh_reg",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vcpu_ymmh_fields,
};

static const VmsField vcpu_mtrr_var_fields[] = {
    VMS_UINT64(VcpuMtrrVar, base),
    VMS_UINT64(VcpuMtrrVar, mask),
    VMS_END_OF_LIST,
};
static const VmsDesc vcpu_mtrr_var_vmsd = {
    .name = "mtrr_var",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vcpu_mtrr_var_fields,
};

/* ---- cpu: subsections ---- */

static bool vcpu_poll_control_needed(const void *state)
{
    const VcpuArch *a = state;

    return a->poll_control_msr != 1;
}

static const VmsField vcpu_poll_control_fields[] = {
    VCPU_F("env.poll_control_msr", VMS_UINT64, poll_control_msr),
    VMS_END_OF_LIST,
};
static const VmsDesc vcpu_poll_control_vmsd = {
    .name = "cpu/poll_control_msr",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vcpu_poll_control_fields,
    .needed = vcpu_poll_control_needed,
};

static bool vcpu_fpop_needed(const void *state)
{
    const VcpuArch *a = state;

    return a->fpop || a->fpip || a->fpdp;
}

static const VmsField vcpu_fpop_fields[] = {
    VCPU_F("env.fpop", VMS_UINT16, fpop),
    VCPU_F("env.fpip", VMS_UINT64, fpip),
    VCPU_F("env.fpdp", VMS_UINT64, fpdp),
    VMS_END_OF_LIST,
};
static const VmsDesc vcpu_fpop_vmsd = {
    .name = "cpu/fpop_ip_dp",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vcpu_fpop_fields,
    .needed = vcpu_fpop_needed,
};

/* QEMU's order in vmstate_x86_cpu.subsections. */
static const VmsDesc *const vcpu_arch_subsections[] = {
    &vcpu_poll_control_vmsd,
    &vcpu_fpop_vmsd,
    NULL,
};

/* ---- cpu: the main table (QEMU 7.2, TARGET_X86_64) ---- */

static const VmsField vcpu_arch_fields[] = {
    VCPU_FA("env.regs", VMS_UINT64, regs, VCPU_NB_REGS),
    VCPU_F("env.eip", VMS_UINT64, eip),
    VCPU_F("env.eflags", VMS_UINT64, eflags),
    VCPU_F("env.hflags", VMS_UINT32, hflags),
    VCPU_F("env.fpuc", VMS_UINT16, fpuc),
    VCPU_F("env.fpus_vmstate", VMS_UINT16, fpus),
    VCPU_F("env.fptag_vmstate", VMS_UINT16, fptag),
    VCPU_F("env.fpregs_format_vmstate", VMS_UINT16, fpregs_format),
    VCPU_FS("env.fpregs", fpregs, 8, vcpu_fpreg_vmsd, VcpuFpReg, 0),
    VCPU_FS("env.segs", segs, VCPU_NB_SEGS, vcpu_seg_vmsd, VcpuSeg, 0),
    VCPU_FS("env.ldt", ldt, 1, vcpu_seg_vmsd, VcpuSeg, 0),
    VCPU_FS("env.tr", tr, 1, vcpu_seg_vmsd, VcpuSeg, 0),
    VCPU_FS("env.gdt", gdt, 1, vcpu_seg_vmsd, VcpuSeg, 0),
    VCPU_FS("env.idt", idt, 1, vcpu_seg_vmsd, VcpuSeg, 0),
    VCPU_F("env.sysenter_cs", VMS_UINT32, sysenter_cs),
    VCPU_F("env.sysenter_esp", VMS_UINT64, sysenter_esp),
    VCPU_F("env.sysenter_eip", VMS_UINT64, sysenter_eip),
    VCPU_F("env.cr[0]", VMS_UINT64, cr0),
    VCPU_F("env.cr[2]", VMS_UINT64, cr2),
    VCPU_F("env.cr[3]", VMS_UINT64, cr3),
    VCPU_F("env.cr[4]", VMS_UINT64, cr4),
    VCPU_FA("env.dr", VMS_UINT64, dr, 8),
    VCPU_F("env.a20_mask", VMS_INT32, a20_mask),
    VCPU_F("env.mxcsr", VMS_UINT32, mxcsr),
    VCPU_FS("env.xmm_regs[0]", xmm, VCPU_NB_REGS, vcpu_xmm_vmsd, VcpuQ2, 0),
    VCPU_F("env.efer", VMS_UINT64, efer),
    VCPU_F("env.star", VMS_UINT64, star),
    VCPU_F("env.lstar", VMS_UINT64, lstar),
    VCPU_F("env.cstar", VMS_UINT64, cstar),
    VCPU_F("env.fmask", VMS_UINT64, fmask),
    VCPU_F("env.kernelgsbase", VMS_UINT64, kernelgsbase),
    VCPU_F("env.smbase", VMS_UINT32, smbase),
    VCPU_F("env.pat", VMS_UINT64, pat),
    VCPU_F("env.hflags2", VMS_UINT32, hflags2),
    VCPU_F("env.vm_hsave", VMS_UINT64, vm_hsave),
    VCPU_F("env.vm_vmcb", VMS_UINT64, vm_vmcb),
    VCPU_F("env.tsc_offset", VMS_UINT64, tsc_offset),
    VCPU_F("env.intercept", VMS_UINT64, intercept),
    VCPU_F("env.intercept_cr_read", VMS_UINT16, intercept_cr_read),
    VCPU_F("env.intercept_cr_write", VMS_UINT16, intercept_cr_write),
    VCPU_F("env.intercept_dr_read", VMS_UINT16, intercept_dr_read),
    VCPU_F("env.intercept_dr_write", VMS_UINT16, intercept_dr_write),
    VCPU_F("env.intercept_exceptions", VMS_UINT32, intercept_exceptions),
    VCPU_F("env.v_tpr", VMS_UINT8, v_tpr),
    VCPU_FA("env.mtrr_fixed", VMS_UINT64, mtrr_fixed, VCPU_MTRR_FIXED),
    VCPU_F("env.mtrr_deftype", VMS_UINT64, mtrr_deftype),
    VCPU_FS("env.mtrr_var", mtrr_var, VCPU_MTRR_VAR, vcpu_mtrr_var_vmsd,
            VcpuMtrrVar, 0),
    VCPU_F("env.interrupt_injected", VMS_INT32, interrupt_injected),
    VCPU_F("env.mp_state", VMS_UINT32, mp_state),
    VCPU_F("env.tsc", VMS_UINT64, tsc),
    VCPU_F("env.exception_nr", VMS_INT32, exception_nr),
    VCPU_F("env.soft_interrupt", VMS_UINT8, soft_interrupt),
    VCPU_F("env.nmi_injected", VMS_UINT8, nmi_injected),
    VCPU_F("env.nmi_pending", VMS_UINT8, nmi_pending),
    VCPU_F("env.has_error_code", VMS_UINT8, has_error_code),
    VCPU_F("env.sipi_vector", VMS_UINT32, sipi_vector),
    VCPU_F("env.mcg_cap", VMS_UINT64, mcg_cap),
    VCPU_F("env.mcg_status", VMS_UINT64, mcg_status),
    VCPU_F("env.mcg_ctl", VMS_UINT64, mcg_ctl),
    VCPU_FA("env.mce_banks", VMS_UINT64, mce_banks, VCPU_MCE_BANKS),
    VCPU_F("env.tsc_aux", VMS_UINT64, tsc_aux),
    VCPU_F("env.system_time_msr", VMS_UINT64, system_time_msr),
    VCPU_F("env.wall_clock_msr", VMS_UINT64, wall_clock_msr),
    VCPU_FV("env.xcr0", VMS_UINT64, xcr0, 12),
    VCPU_FV("env.xstate_bv", VMS_UINT64, xstate_bv, 12),
    VCPU_FS("env.xmm_regs[1]", ymmh, VCPU_NB_REGS, vcpu_ymmh_vmsd, VcpuQ2, 12),
    VMS_END_OF_LIST,
};

/* QEMU x86_cpu_reset's values for what the accelerator does not hold:
   vcpu_state_reset starts from it, pre_save keeps it. */
static const VcpuArch vcpu_arch_reset = {
    .hflags = VCPU_HF_ADDSEG,
    .segs = {{.limit = 0xffff, .flags = VCPU_DESC_DATA},
             {.limit = 0xffff, .flags = VCPU_DESC_CODE},
             {.limit = 0xffff, .flags = VCPU_DESC_DATA},
             {.limit = 0xffff, .flags = VCPU_DESC_DATA},
             {.limit = 0xffff, .flags = VCPU_DESC_DATA},
             {.limit = 0xffff, .flags = VCPU_DESC_DATA}},
    .a20_mask = -1,
    .smbase = 0x30000,
    .hflags2 = VCPU_HF2_RESET,
    .interrupt_injected = -1,
    .exception_nr = -1,
    .xcr0 = VCPU_XCR0_RESET,
};

/* What x86_cpu_reset clears or sets and Unicorn's reset leaves as the
   guest left it: FPU/SSE registers, cr2-cr4, debug registers, the
   syscall/sysenter MSRs, PAT. The rest is the accelerator's reset. */
static void vcpu_arch_reset_regs(VcpuArch *a)
{
    memset(a->fpregs, 0, sizeof(a->fpregs));
    memset(a->xmm, 0, sizeof(a->xmm));
    memset(a->ymmh, 0, sizeof(a->ymmh));
    a->fpus = a->fptag = a->fpop = 0;
    a->fpip = a->fpdp = 0;
    a->fpuc = VCPU_FPUC_RESET;
    a->mxcsr = VCPU_MXCSR_RESET;
    a->cr2 = a->cr3 = a->cr4 = 0;
    memset(a->dr, 0, sizeof(a->dr));
    a->dr[6] = VCPU_DR6_RESET;
    a->dr[7] = VCPU_DR7_RESET;
    a->efer = a->star = a->lstar = a->cstar = a->fmask = 0;
    a->kernelgsbase = a->tsc_aux = 0;
    a->sysenter_cs = 0;
    a->sysenter_esp = a->sysenter_eip = 0;
    a->pat = VCPU_PAT_RESET;
}

void vcpu_state_reset(Vcpu *v)
{
    VcpuArch a;

    v->ops->get_arch(v->accel, &a);
    vcpu_arch_reset_regs(&a);
    v->ops->set_arch(v->accel, &a);
    v->arch = vcpu_arch_reset;
    v->poll = true;
    v->at_reset = true;
}

/* What QEMU's TCG holds in real mode where Unicorn shows only a part:
   a segment load changes selector and base, never limit or flags; CS
   keeps its reset base until the first instruction (see vcpu.h). */
static void vcpu_arch_derive(Vcpu *v, VcpuArch *a)
{
    for (int i = 0; i < VCPU_NB_SEGS; i++) {
        a->segs[i].base = (uint64_t)a->segs[i].selector << 4;
        a->segs[i].flags &= ~VCPU_DESC_DPL; /* as cpu_pre_save */
    }
    if (v->at_reset && a->segs[VCPU_SEG_CS].selector == VCPU_RESET_CS_SEL) {
        a->segs[VCPU_SEG_CS].base = VCPU_RESET_CS_BASE;
    }
    a->gdt.selector = a->gdt.flags = a->idt.selector = a->idt.flags = 0;
    a->hflags = (a->hflags & ~(7u << VCPU_HF_MP_SHIFT | VCPU_HF_OSFXSR)) |
                ((uint32_t)(a->cr0 >> 1) & 7) << VCPU_HF_MP_SHIFT |
                (a->cr4 & VCPU_CR4_OSFXSR ? VCPU_HF_OSFXSR : 0);
    a->fpregs_format = 0;
}

static bool vcpu_arch_pre_save(void *state, GError **errp)
{
    Vcpu *v = VCPU_OF(state, arch);

    v->ops->get_arch(v->accel, &v->arch);
    vcpu_arch_derive(v, &v->arch);
    return true;
}

/* Subsections a stream leaves out hold these (their `needed` is false). */
static void vcpu_arch_pre_load(void *state)
{
    VcpuArch *a = state;

    a->poll_control_msr = 1;
    a->fpop = 0;
    a->fpip = a->fpdp = 0;
}

/* Real mode only: the mode, the registers of 64-bit mode, the segments. */
static bool vcpu_check_mode(const VcpuArch *a, GError **errp)
{
    if (a->cr0 & VCPU_CR0_PE) {
        ls_error_set(errp,
                     "field 'env.cr[0]': 0x%" PRIx64 ": protected mode (PE) "
                     "is not supported by this vCPU (real mode only)",
                     a->cr0);
        return false;
    }
    if (a->eflags & VCPU_EFLAGS_VM || a->eflags >> 32) {
        ls_error_set(errp,
                     "field 'env.eflags': 0x%" PRIx64 ": virtual-8086 mode "
                     "or bits above 31 are not supported",
                     a->eflags);
        return false;
    }
    if (a->efer & VCPU_EFER_LMA) {
        ls_error_set(errp,
                     "field 'env.efer': 0x%" PRIx64 ": long mode "
                     "is not supported",
                     a->efer);
        return false;
    }
    if (a->hflags & VCPU_HF_FOREIGN) {
        ls_error_set(errp,
                     "field 'env.hflags': 0x%" PRIx32 ": bits 0x%" PRIx32
                     " (CPL, 32/64-bit code, SMM, SVM or an interrupt "
                     "shadow) are not supported in real mode",
                     a->hflags, a->hflags & VCPU_HF_FOREIGN);
        return false;
    }
    return true;
}

static bool vcpu_check_regs(const VcpuArch *a, GError **errp)
{
    for (int i = 0; i < VCPU_NB_REGS; i++) {
        if (a->regs[i] >> (i < 8 ? 32 : 0)) {
            ls_error_set(errp,
                         "field 'env.regs[%d]': 0x%" PRIx64 ": 64-bit "
                         "register state is not supported",
                         i, a->regs[i]);
            return false;
        }
    }
    for (int i = 8; i < VCPU_NB_REGS; i++) {
        if (a->xmm[i].q[0] || a->xmm[i].q[1] || a->ymmh[i].q[0] ||
            a->ymmh[i].q[1]) {
            ls_error_set(errp,
                         "field 'env.xmm_regs[%d]': xmm8-15 exist "
                         "only in 64-bit mode, not supported",
                         i);
            return false;
        }
    }
    if (a->eip >> 32) {
        ls_error_set(errp, "field 'env.eip': 0x%" PRIx64 " above 32 bits",
                     a->eip);
        return false;
    }
    return true;
}

static bool vcpu_check_segs(const VcpuArch *a, GError **errp)
{
    for (int i = 0; i < VCPU_NB_SEGS; i++) {
        const VcpuSeg *s = &a->segs[i];
        bool reset_cs = i == VCPU_SEG_CS && s->selector == VCPU_RESET_CS_SEL &&
                        s->base == VCPU_RESET_CS_BASE;

        if (s->selector > 0xffff ||
            (s->base != (uint64_t)s->selector << 4 && !reset_cs)) {
            ls_error_set(errp,
                         "field 'env.segs[%d]': selector 0x%" PRIx32
                         " base 0x%" PRIx64 ": a real-mode segment's base "
                         "is its selector times 16",
                         i, s->selector, s->base);
            return false;
        }
        if ((i == VCPU_SEG_CS || i == VCPU_SEG_SS) && s->flags & VCPU_DESC_B) {
            ls_error_set(errp,
                         "field 'env.segs[%d]': flags 0x%" PRIx32
                         ": 32-bit code or stack (B) is not supported",
                         i, s->flags);
            return false;
        }
    }
    if (a->idt.base != 0 || a->gdt.base >> 32) {
        ls_error_set(errp,
                     "field 'env.idt': base 0x%" PRIx64 ": this vCPU takes "
                     "real-mode interrupts through the IVT at 0 only",
                     a->idt.base);
        return false;
    }
    return true;
}

/* Values only QEMU's other paths (A20 gate, SMM, NMI, exceptions being
   injected, XSAVE) would have changed from reset. */
static bool vcpu_check_fixed(const VcpuArch *a, GError **errp)
{
    const char *what = NULL;

    if (a->a20_mask != -1) {
        what = "env.a20_mask: the A20 gate is always on here";
    } else if (a->hflags2 != VCPU_HF2_RESET) {
        what = "env.hflags2: NMI or SVM state";
    } else if (a->interrupt_injected != -1 || a->exception_nr != -1 ||
               a->nmi_injected || a->nmi_pending || a->mp_state) {
        what = "an injected interrupt, exception or NMI, or an mp_state";
    } else if (a->xcr0 != VCPU_XCR0_RESET) {
        what = "env.xcr0: XSAVE state components";
    } else if (a->mcg_cap != VCPU_MCG_CAP_QEMU64) {
        what = "env.mcg_cap: not qemu64's machine-check capabilities";
    } else if (a->fpregs_format) {
        what = "env.fpregs_format_vmstate: the old non-softfloat format";
    }
    if (what) {
        ls_error_set(errp, "%s is not supported by this vCPU", what);
        return false;
    }
    return true;
}

static bool vcpu_arch_post_load(void *state, int version_id, GError **errp)
{
    const VcpuArch *a = state;

    return vcpu_check_mode(a, errp) && vcpu_check_regs(a, errp) &&
           vcpu_check_segs(a, errp) && vcpu_check_fixed(a, errp);
}

static void vcpu_arch_post_commit(void *state, int version_id)
{
    Vcpu *v = VCPU_OF(state, arch);
    const VcpuSeg *cs = &v->arch.segs[VCPU_SEG_CS];

    v->at_reset = cs->base == VCPU_RESET_CS_BASE;
    v->ops->set_arch(v->accel, &v->arch);
    g_clear_error(&v->error);
}

static const VmsDesc vcpu_arch_vmsd = {
    .name = "cpu",
    .version_id = 12,
    .minimum_version_id = 11,
    .fields = vcpu_arch_fields,
    .subsections = vcpu_arch_subsections,
    .pre_save = vcpu_arch_pre_save,
    .pre_load = vcpu_arch_pre_load,
    .post_load = vcpu_arch_post_load,
    .post_commit = vcpu_arch_post_commit,
};

bool vcpu_register(Vcpu *v, VmsRegistry *reg, GError **errp)
{
    return vms_register(reg, "cpu_common", 0, -1, &vcpu_common_vmsd, &v->common,
                        sizeof(v->common), errp) &&
           vms_register(reg, "cpu", 0, -1, &vcpu_arch_vmsd, &v->arch,
                        sizeof(v->arch), errp);
}
