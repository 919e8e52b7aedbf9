/*
 * i8254 programmable interval timer, as QEMU 7.2's hw/timer/i8254.c and
 * i8254_common.c model it (PIT_FREQ 1193182 Hz, counts derived from the
 * virtual clock with muldiv64 rather than ticked).
 *
 * Covers: three channels, modes 0-5 (6 and 7 behave as QEMU's defaults),
 * LSB / MSB / LSB-then-MSB access (rw_mode, read_state, write_state,
 * write_latch), the counter latch command, the read-back command with
 * status latch, gates (channel 2's gate comes from port 0x61, see
 * pcspk.h), and channel 0's output on ISA IRQ 0 with QEMU's exact
 * transition times (pit_get_next_transition_time; the IRQ timer fires at
 * next_transition_time and evaluates the output *at that time*).
 *
 * Leaves out, as QEMU 7.2 does: BCD counting (the bcd bit is stored and
 * reported but counts stay binary), the status null-count bit, gate-low
 * counting stops in modes 0/2/3/4, reads of port 0x43 (return 0). The
 * HPET legacy-mode IRQ suppression (irq_disabled) is stored and honoured
 * but nothing here sets it.
 *
 * Reset (system_reset) follows QEMU: each channel gets mode 3, count
 * 0x10000, gate 1 (channel 2: 0) and count_load_time = now; access modes
 * and latches survive. Channel 0's IRQ is not re-driven by reset; its
 * timer is re-armed at the next transition.
 *
 * Differs from QEMU where QEMU can hang or overflow: channel 0's timer
 * replays missed transitions one by one only up to HW_CLOCK_MAX_CATCHUP
 * periods (then re-phases to now, dropping them); a load refuses times
 * outside the bounds of clock.h, and at commit a count loaded after the
 * loaded clock is loaded now and a transition due farther ahead than any
 * count reaches is recomputed.
 *
 * State: section `i8254` version 3 (min 2), instance 0, alias 0x40:
 * u32 channels[0].irq_disabled (v3), 3 x `pit channel` v2 (32 bytes
 * each), int64 channels[0].next_transition_time again. The times are
 * virtual-clock ns, as QEMU stores them.
 */
#ifndef LS_HW_PIT_H
#define LS_HW_PIT_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/bus.h"
#include "hw/clock.h"
#include "hw/irq.h"
#include "vms/vms.h"

#define PIT_FREQ         1193182
#define PIT_IOBASE       0x40
#define PIT_NUM_CHANNELS 3

/* One channel, QEMU's PITChannelState fields (memcpy-able). */
typedef struct PitChannelState {
    int32_t count; /* 1..0x10000 once loaded */
    uint16_t latched_count;
    uint8_t count_latched; /* 0, or the RW state of the latched read */
    uint8_t status_latched;
    uint8_t status;
    uint8_t read_state; /* 0..4: LSB(1) MSB(2) WORD0(3) WORD1(4) */
    uint8_t write_state;
    uint8_t write_latch;
    uint8_t rw_mode; /* 0..3 */
    uint8_t mode;    /* 0..7 */
    uint8_t bcd;
    uint8_t gate;
    int64_t count_load_time;      /* virtual ns */
    int64_t next_transition_time; /* virtual ns, -1 none (channel 0) */
    uint32_t irq_disabled;        /* channel 0 only (saved at top level) */
} PitChannelState;

typedef struct PitState {
    PitChannelState channels[PIT_NUM_CHANNELS];
} PitState;

typedef struct PitDevice {
    PitState s;
    HwClock *clock;
    HwIrq *irq0;    /* borrowed: ISA IRQ 0 */
    HwTimer *timer; /* channel 0 transitions */
} PitDevice;

extern const VmsDesc pit_vmsd;

/* Creates the PIT at reset values. `irq0` may be NULL. */
PitDevice *pit_new(HwClock *clock, HwIrq *irq0);
/* Maps 0x40-0x43 and registers `i8254` (instance 0, alias 0x40). */
bool pit_realize(PitDevice *d, HwBus *bus, VmsRegistry *reg, GError **errp);
void pit_reset(PitDevice *d);
void pit_free(PitDevice *d);

/* Output pin of `channel` (0..2) at virtual time `now` (0 or 1). */
int pit_get_out(PitDevice *d, int channel, int64_t now);
/* Gate input of `channel` (0..2) to `level` (0/1): a rising edge restarts
   counting in modes 1, 2, 3, 5, as QEMU. */
void pit_set_gate(PitDevice *d, int channel, int level);
/* Gate level of `channel`, as last set. */
int pit_get_gate(PitDevice *d, int channel);

#endif
