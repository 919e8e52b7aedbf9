/*
 * System control port A (port 0x92): fast A20 gate and fast reset, as
 * QEMU 7.2's hw/i386/port92.c.
 *
 * Write: the whole byte is stored (no mask); bit 1 drives the A20 line;
 * a write that sets bit 0 while it was clear requests a machine reset
 * through the callback (QEMU: qemu_system_reset_request on the rising
 * edge only). Read: the stored byte. Reset: clears bit 0 only (A20 and
 * the other bits survive system_reset, as QEMU).
 *
 * Leaves out: the CPU side of A20 (lockstep has no CPU); the line is
 * driven for whoever listens.
 *
 * State: section `port92` version 1 (u8 outport), instance 0, no alias.
 */
#ifndef LS_HW_PORT92_H
#define LS_HW_PORT92_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/bus.h"
#include "hw/irq.h"
#include "vms/vms.h"

#define PORT92_IOBASE 0x92
#define PORT92_RESET  0x01
#define PORT92_A20    0x02

typedef struct Port92State {
    uint8_t outport;
} Port92State;

typedef struct Port92Device {
    Port92State s;
    void (*reset_request)(void *opaque);
    void *opaque;
    HwIrq *a20; /* borrowed, may be NULL */
} Port92Device;

extern const VmsDesc port92_vmsd;

/* `reset_request` (may be NULL) is called from the guest's write, so it
   must only record the request, not reset devices in place. */
Port92Device *port92_new(void (*reset_request)(void *), void *opaque,
                         HwIrq *a20);
/* Maps port 0x92 and registers `port92` (instance 0). */
bool port92_realize(Port92Device *d, HwBus *bus, VmsRegistry *reg,
                    GError **errp);
void port92_reset(Port92Device *d);
void port92_free(Port92Device *d);

#endif
