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
    bool (*mem_read)(void *accel, uint64_t gpa, void *buf, size_t len);
    bool (*mem_write)(void *accel, uint64_t gpa, const void *buf, size_t len);
} VcpuAccelOps;

extern const VcpuAccelOps vcpu_tcg_ops;

/* For the accelerator: the machine's I/O, and real-mode entry of vector
   `vec` with the return address the registers hold now (`int n`). */
const VcpuIo *vcpu_io(const Vcpu *v);
bool vcpu_enter_rm(Vcpu *v, uint8_t vec);
/* A write to guest-physical memory, for the dirty log. */
void vcpu_note_write(Vcpu *v, uint64_t gpa, uint64_t len);

#endif
