/*
 * PC speaker control port 0x61 (NMI status and control register, port B),
 * as QEMU 7.2's hw/audio/pcspk.c models it. No sound is produced.
 *
 * Write: bit 0 = PIT channel 2 gate, bit 1 = speaker data enable
 * (data_on). Read: bit 0 = gate 2, bit 1 = data_on, bit 4 = refresh
 * clock, bit 5 = PIT channel 2 output. As in QEMU 7.2 the "refresh clock"
 * is a dummy that toggles on every read (not with time), so guests that
 * wait for it to flip make progress.
 *
 * Leaves out: audio output, the NMI bits 2/3/6/7 (read 0 as in QEMU).
 * Reset: QEMU 7.2 has no reset handler for pcspk, so data_on and the
 * refresh bit survive system_reset; pcspk_reset does nothing (channel 2's
 * gate is the PIT's and is reset there).
 *
 * State: section `pcspk` version 1 (u8 data_on, u8 dummy_refresh_clock),
 * instance 0, no alias.
 */
#ifndef LS_HW_PCSPK_H
#define LS_HW_PCSPK_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/bus.h"
#include "hw/clock.h"
#include "hw/pit.h"
#include "vms/vms.h"

#define PCSPK_IOBASE      0x61
#define PCSPK_REFRESH_BIT 0x10

typedef struct PcspkState {
    uint8_t data_on;             /* 0/1 */
    uint8_t dummy_refresh_clock; /* 0 or 0x10 */
} PcspkState;

typedef struct PcspkDevice {
    PcspkState s;
    HwClock *clock;
    PitDevice *pit; /* borrowed */
} PcspkDevice;

extern const VmsDesc pcspk_vmsd;

PcspkDevice *pcspk_new(HwClock *clock, PitDevice *pit);
/* Maps port 0x61 and registers `pcspk` (instance 0). */
bool pcspk_realize(PcspkDevice *d, HwBus *bus, VmsRegistry *reg, GError **errp);
void pcspk_reset(PcspkDevice *d);
void pcspk_free(PcspkDevice *d);

#endif
