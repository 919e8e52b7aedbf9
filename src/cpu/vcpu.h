/*
 * The vCPU: one x86 processor behind an accelerator-neutral interface, so
 * that `-accel kvm` can be added beside `-accel tcg` (Unicorn,
 * vcpu-tcg.c) without touching its users.
 *
 * The vCPU sees the machine only through VcpuIo: port I/O in and out,
 * and the interrupt acknowledge cycle. The INTR line is given to it with
 * vcpu_set_intr. Memory is mapped from host pointers the caller owns
 * (guest RAM) or from a copy the vCPU keeps (the BIOS image, read-only).
 *
 * Covers real mode: reset at F000:FFF0, maskable interrupts (INTR, then
 * INTA through io->intr_ack, as QEMU's pic_read_irq, then entry through
 * the real-mode IVT), `int n` through the IVT, `iret` (emulated), `hlt`
 * (the vCPU halts until an interrupt it accepts arrives).
 *
 * Leaves out: protected-mode interrupt delivery (IDT), NMI, SMM. A guest
 * write to the BIOS ROM or an access to unmapped memory stops the vCPU
 * with an error (QEMU ignores ROM writes and reads all-ones from holes).
 * At reset CS holds F000 with base 000F0000 rather than FFFF0000, so the
 * first instruction comes from the copy of the BIOS's last 64 KiB below
 * 1 MiB instead of its alias at the top of 4 GiB: the same bytes.
 *
 * Everything runs on the caller's thread: vcpu_run executes at most a
 * given number of instructions and returns.
 */
#ifndef LS_CPU_VCPU_H
#define LS_CPU_VCPU_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* BIOS image caps, as QEMU's pc machine (x86_bios_rom_init): the size is
   a non-zero multiple of 64 KiB; its last 128 KiB at most are mapped
   below 1 MiB (isa-bios), the whole image ends at 4 GiB. */
#define VCPU_BIOS_ALIGN   (64u * 1024)
#define VCPU_BIOS_MAX     (16u * 1024 * 1024)
#define VCPU_ISA_BIOS_MAX (128u * 1024)

typedef enum VcpuAccel {
    VCPU_ACCEL_TCG, /* Unicorn */
} VcpuAccel;

/* The machine as the vCPU sees it. Called from inside vcpu_run. */
typedef struct VcpuIo {
    uint32_t (*pio_in)(void *opaque, uint16_t port, unsigned size);
    void (*pio_out)(void *opaque, uint16_t port, uint32_t val, unsigned size);
    /* INTA cycle: the vector of the interrupt being acknowledged. */
    int (*intr_ack)(void *opaque);
    /* While write tracking is on: the vCPU wrote [gpa, gpa + len) of
       RAM (guest stores and interrupt-entry pushes). May be NULL. */
    void (*ram_written)(void *opaque, uint64_t gpa, uint64_t len);
    void *opaque;
} VcpuIo;

typedef enum VcpuExit {
    VCPU_EXIT_BUDGET, /* ran the instructions it was given */
    VCPU_EXIT_KICK,   /* stopped early: INTR rose during the slice */
    VCPU_EXIT_HALT,   /* executed hlt, or is halted with nothing to take */
    VCPU_EXIT_ERROR,  /* stopped for good until reset: see vcpu_error */
} VcpuExit;

typedef struct Vcpu Vcpu;

/* A vCPU at reset with nothing mapped. `io` is copied. */
Vcpu *vcpu_new(VcpuAccel accel, const VcpuIo *io, GError **errp);
void vcpu_free(Vcpu *v); /* NULL is fine */

/* Maps `size` bytes of host memory at guest-physical `gpa`, read-write.
   gpa and size must be 4 KiB-aligned, host 4 KiB-aligned; the memory
   must outlive the vCPU. */
bool vcpu_map_ram(Vcpu *v, uint64_t gpa, uint8_t *host, uint64_t size,
                  GError **errp);
/* Copies a BIOS image and maps it read-only as QEMU's pc machine does.
   Fails (mapping nothing) unless its size is a non-zero multiple of
   VCPU_BIOS_ALIGN, at most VCPU_BIOS_MAX. Once per vCPU. */
bool vcpu_load_bios(Vcpu *v, const uint8_t *img, size_t len, GError **errp);

/* Write tracking of guest RAM for the dirty log: on, every write the
   vCPU makes to RAM mapped with vcpu_map_ram is reported through
   io->ram_written. It costs the guest speed (bench/README.md, "vcpu"),
   so it is on only while someone needs it. */
void vcpu_track_writes(Vcpu *v, bool on);

/* Power-on state (CS:IP F000:FFF0, real mode, IF clear, not halted),
   clears a stopping error. Memory is left as it is. */
void vcpu_reset(Vcpu *v);

/* The INTR input's level. Raising it during vcpu_run ends the slice
   after the current instruction (VCPU_EXIT_KICK). */
void vcpu_set_intr(Vcpu *v, bool level);

/* Ends the current vcpu_run after the current instruction (a device
   asked for a reset); a no-op outside vcpu_run. */
void vcpu_kick(Vcpu *v);

/* IF: whether the vCPU would take an interrupt now. */
bool vcpu_accepts_intr(Vcpu *v);

/* Whether vcpu_run would execute anything: not stopped by an error, and
   not halted unless INTR is up with IF set. */
bool vcpu_runnable(Vcpu *v);

/* Takes a pending interrupt if INTR is up and IF set, then executes at
   most `budget` instructions. `*executed` gets the count (hlt counts). */
VcpuExit vcpu_run(Vcpu *v, uint64_t budget, uint64_t *executed);

/* Registers the vCPU's sections `cpu_common` and `cpu` (instance 0, in
   that order) as QEMU 7.2 saves a TCG vCPU; their layout and what a load
   accepts are in docs/cpu-state.md. A load that passes every check is
   applied to the vCPU at commit, with the devices (vms.h). */
typedef struct VmsRegistry VmsRegistry;
bool vcpu_register(Vcpu *v, VmsRegistry *reg, GError **errp);

/* Instructions executed since vcpu_new (reset does not clear it). */
uint64_t vcpu_insns(const Vcpu *v);
bool vcpu_halted(const Vcpu *v);
/* The error that stopped the vCPU, or NULL. */
const GError *vcpu_error(const Vcpu *v);

#endif
