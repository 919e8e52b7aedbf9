/*
 * Between the generic vCPU (vcpu.c) and an accelerator (vcpu-tcg.c).
 */
#ifndef LS_CPU_VCPU_INTERNAL_H
#define LS_CPU_VCPU_INTERNAL_H

#include "cpu/vcpu.h"

#define VCPU_EFLAGS_IF  (1u << 9)
#define VCPU_EFLAGS_TF  (1u << 8)
#define VCPU_EFLAGS_AC  (1u << 18)
#define VCPU_EFLAGS_RSV 0x2u /* bit 1 always reads 1 */

/* What real-mode interrupt entry reads and writes. */
typedef struct VcpuRmRegs {
    uint16_t cs, ip, ss, sp;
    uint32_t eflags;
} VcpuRmRegs;

/*
 * The architectural state of the vCPU as QEMU 7.2's x86_64 target saves
 * it (target/i386/machine.c, vmstate_x86_cpu), field for field, so that
 * it can be described by a VmsDesc (vcpu-state.c). Plain data.
 */
typedef struct VcpuSeg {
    uint32_t selector;
    uint64_t base;
    uint32_t limit;
    uint32_t flags; /* descriptor bits 8-23 of the high word, as QEMU */
} VcpuSeg;

typedef struct VcpuFpReg {
    uint64_t mant;
    uint16_t exp; /* sign and exponent */
} VcpuFpReg;

typedef struct VcpuQ2 {
    uint64_t q[2]; /* xmm: bits 0-127; ymmh: bits 128-255 */
} VcpuQ2;

typedef struct VcpuMtrrVar {
    uint64_t base, mask;
} VcpuMtrrVar;

#define VCPU_NB_REGS    16 /* QEMU's x86_64 target: CPU_NB_REGS */
#define VCPU_NB_SEGS    6  /* es, cs, ss, ds, fs, gs */
#define VCPU_MTRR_FIXED 11
#define VCPU_MTRR_VAR   8
#define VCPU_MCE_BANKS  40 /* MCE_BANKS_DEF * 4 */

typedef struct VcpuArch {
    uint64_t regs[VCPU_NB_REGS];
    uint64_t eip, eflags;
    uint32_t hflags;
    uint16_t fpuc, fpus, fptag, fpregs_format;
    VcpuFpReg fpregs[8];
    VcpuSeg segs[VCPU_NB_SEGS], ldt, tr, gdt, idt;
    uint32_t sysenter_cs;
    uint64_t sysenter_esp, sysenter_eip;
    uint64_t cr0, cr2, cr3, cr4;
    uint64_t dr[8];
    int32_t a20_mask;
    uint32_t mxcsr;
    VcpuQ2 xmm[VCPU_NB_REGS];
    uint64_t efer, star, lstar, cstar, fmask, kernelgsbase;
    uint32_t smbase;
    uint64_t pat;
    uint32_t hflags2;
    uint64_t vm_hsave, vm_vmcb, tsc_offset, intercept;
    uint16_t intercept_cr_read, intercept_cr_write;
    uint16_t intercept_dr_read, intercept_dr_write;
    uint32_t intercept_exceptions;
    uint8_t v_tpr;
    uint64_t mtrr_fixed[VCPU_MTRR_FIXED];
    uint64_t mtrr_deftype;
    VcpuMtrrVar mtrr_var[VCPU_MTRR_VAR];
    int32_t interrupt_injected;
    uint32_t mp_state;
    uint64_t tsc;
    int32_t exception_nr;
    uint8_t soft_interrupt, nmi_injected, nmi_pending, has_error_code;
    uint32_t sipi_vector;
    uint64_t mcg_cap, mcg_status, mcg_ctl;
    uint64_t mce_banks[VCPU_MCE_BANKS];
    uint64_t tsc_aux, system_time_msr, wall_clock_msr;
    uint64_t xcr0, xstate_bv;
    VcpuQ2 ymmh[VCPU_NB_REGS];
    uint64_t poll_control_msr; /* subsection cpu/poll_control_msr */
    uint16_t fpop;             /* subsection cpu/fpop_ip_dp */
    uint64_t fpip, fpdp;
} VcpuArch;

/* The `cpu_common` section (QEMU cpu.c, vmstate_cpu_common). */
typedef struct VcpuCommon {
    uint32_t halted;
    uint32_t interrupt_request;
} VcpuCommon;

typedef struct VcpuAccelOps {
    void *(*create)(Vcpu *v, GError **errp);
    void (*destroy)(void *accel);
    /* rom: read and execute only. */
    bool (*map)(void *accel, uint64_t gpa, uint8_t *host, uint64_t size,
                bool rom, GError **errp);
    void (*reset)(void *accel);
    /* watch_if: INTR is up while IF is clear; end the run once IF has
       been set for one whole instruction (so `sti; hlt` halts first, as
       the STI interrupt shadow has it). */
    VcpuExit (*run)(void *accel, uint64_t budget, bool watch_if,
                    uint64_t *executed, GError **errp);
    /* Reports guest stores to RAM through vcpu_note_write, or stops. */
    void (*track_writes)(void *accel, bool on);
    /* Ends the current run after the current instruction. */
    void (*kick)(void *accel);
    void (*get_rm)(void *accel, VcpuRmRegs *r);
    void (*set_rm)(void *accel, const VcpuRmRegs *r);
    /* What the accelerator holds of VcpuArch: registers, segment
       selectors, FPU/SSE, MSRs; the rest of `a` is left as it is.
       set_arch applies a state that vcpu-state.c checked. */
    void (*get_arch)(void *accel, VcpuArch *a);
    void (*set_arch)(void *accel, const VcpuArch *a);
    bool (*mem_read)(void *accel, uint64_t gpa, void *buf, size_t len);
    bool (*mem_write)(void *accel, uint64_t gpa, const void *buf, size_t len);
} VcpuAccelOps;

extern const VcpuAccelOps vcpu_tcg_ops;

struct Vcpu {
    const VcpuAccelOps *ops;
    void *accel;
    VcpuIo io;
    uint8_t *bios; /* page-aligned copy, mapped read-only */
    size_t bios_len;
    bool intr;
    bool halted;
    bool in_run;
    bool tracking; /* vcpu_track_writes */
    /* QEMU's CPU_INTERRUPT_POLL: raised by the APIC's reset, dropped by
       the first pass of the execution loop (vcpu_run). */
    bool poll;
    /* Nothing executed since reset: CS still has its reset base
       FFFF0000 (see vcpu.h on the alias that runs instead). */
    bool at_reset;
    uint64_t insns;
    GError *error; /* set: stopped until reset */
    /* The sections' states (vcpu-state.c): filled by pre_save, applied
       by post_commit. */
    VcpuCommon common;
    VcpuArch arch;
};

/* For the accelerator: the machine's I/O, and real-mode entry of vector
   `vec` with the return address the registers hold now (`int n`). */
const VcpuIo *vcpu_io(const Vcpu *v);
bool vcpu_enter_rm(Vcpu *v, uint8_t vec);
/* vcpu-state.c, after the accelerator's reset: the registers QEMU's
   reset clears that it leaves, and the sections' reset values. */
void vcpu_state_reset(Vcpu *v);
/* A write to guest-physical memory, for the dirty log. */
void vcpu_note_write(Vcpu *v, uint64_t gpa, uint64_t len);

#endif
