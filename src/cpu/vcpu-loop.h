/*
 * The vCPU's run loop in the daemon's GLib main context: one thread, no
 * locks. A GSource, ready while the machine's clock runs and the vCPU is
 * runnable, executes one slice of at most VCPU_SLICE_INSNS instructions
 * per dispatch. Its priority is below every other source's, so QMP,
 * qtest, serial sockets and timers are served between two slices, and a
 * `stop` (which stops the clock) takes effect before the next slice.
 * A halted vCPU makes the source idle until an interrupt it accepts
 * arrives (a timer or a device raises INTR from another source).
 */
#ifndef LS_CPU_VCPU_LOOP_H
#define LS_CPU_VCPU_LOOP_H

#include <glib.h>

#include "cpu/vcpu.h"
#include "hw/clock.h"

#define VCPU_SLICE_INSNS     65536
#define VCPU_SOURCE_PRIORITY G_PRIORITY_DEFAULT_IDLE

/* Borrows `v` and `clock`; attach the result to the main context. */
GSource *vcpu_source_new(Vcpu *v, HwClock *clock);

#endif
