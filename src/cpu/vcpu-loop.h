/*
 * The vCPU's run loop in the daemon's GLib main context: one thread, no
 * locks. A GSource, ready while the machine's clock runs and the vCPU is
 * runnable, executes one slice of at most VCPU_SLICE_INSNS instructions
 * per dispatch. Its priority is below every other source's, so QMP,
 * qtest, serial sockets and timers are served between two slices, and a
 * `stop` (which stops the clock) takes effect before the next slice.
 * A halted vCPU makes the source idle until an interrupt it accepts
 * arrives (a timer or a device raises INTR from another source).
 *
 * With an icount shift N (-icount shift=N) the clock must be stepped:
 * the source alone moves virtual time, by 2^N ns per instruction
 * executed, and ends each slice at the next timer deadline so that a
 * timer fires after the same instruction in every run. A halted vCPU's
 * clock jumps to the next deadline at once (QEMU's icount sleep=off), so
 * a run depends only on its inputs, never on host timing; halted with IF
 * clear (only a reset can wake it), its clock stands still.
 */
#ifndef LS_CPU_VCPU_LOOP_H
#define LS_CPU_VCPU_LOOP_H

#include <glib.h>

#include "cpu/vcpu.h"
#include "hw/clock.h"

#define VCPU_SLICE_INSNS     65536
#define VCPU_SOURCE_PRIORITY G_PRIORITY_DEFAULT_IDLE

/* Borrows `v` and `clock`; attach the result to the main context.
   icount_shift: -1 (virtual time follows the host), else 0..10 with a
   stepped clock. */
GSource *vcpu_source_new(Vcpu *v, HwClock *clock, int icount_shift);

#endif
