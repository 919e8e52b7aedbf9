/*
 * i8042 keyboard controller (`pckbd`) with its PS/2 keyboard and mouse, as
 * QEMU 7.2's ISA i8042 on the pc machine (hw/input/pckbd.c with
 * extended-state=on, kbd-throttle=off).
 *
 * Ports: 0x60 data, 0x64 status (read) / command (write). Covered: the
 * status register (OBF, SYS, CMD, UNLOCKED, AUX OBF; IBF, timeout and
 * parity stay 0 as in QEMU), the command byte (KBD INT, AUX INT, SYS,
 * DISABLE KBD, DISABLE AUX, XLATE), controller commands 20, 60, A7-A9,
 * AA (self test -> 55), AB, AD, AE, C0, D0-D4, DD, DF and F0-FF (pulse;
 * bit 0 low resets the machine), output-port writes (bit 0 low resets;
 * A20 is kept in the port byte only: no CPU here), the controller's own
 * one-byte output buffer (obsrc/obdata/cbdata) and IRQ 1 / IRQ 12 driven
 * exactly as QEMU drives them (levels, including its lower-then-raise on
 * every data read).
 *
 * Sections, in QEMU's order: `ps2kbd`, `ps2mouse`, then `pckbd` v3 (a
 * nested `pckbd` struct with subsections pckbd_outport and
 * pckbd/extended_state), all instance 0, byte-identical to QEMU 7.2.
 *
 * Left out: kbd-throttle (off in QEMU 7.2's pc, so migration_flags is
 * always saved as 0), A20 gating, the MMIO variant, IRQ numbers other
 * than 1 and 12 (the caller wires the lines).
 */
#ifndef LS_HW_I8042_H
#define LS_HW_I8042_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/bus.h"
#include "hw/clock.h"
#include "hw/irq.h"
#include "hw/ps2.h"
#include "vms/vms.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT  0x64

/* Status register */
#define I8042_STAT_OBF       0x01
#define I8042_STAT_IBF       0x02
#define I8042_STAT_SELFTEST  0x04
#define I8042_STAT_CMD       0x08
#define I8042_STAT_UNLOCKED  0x10
#define I8042_STAT_MOUSE_OBF 0x20
#define I8042_STAT_GTO       0x40
#define I8042_STAT_PERR      0x80

/* Command byte ("mode") */
#define I8042_MODE_KBD_INT       0x01
#define I8042_MODE_MOUSE_INT     0x02
#define I8042_MODE_SYS           0x04
#define I8042_MODE_NO_KEYLOCK    0x08
#define I8042_MODE_DISABLE_KBD   0x10
#define I8042_MODE_DISABLE_MOUSE 0x20
#define I8042_MODE_KCC           0x40

/* Who filled the output buffer (obsrc) */
#define I8042_OBSRC_KBD   0x01
#define I8042_OBSRC_MOUSE 0x02
#define I8042_OBSRC_CTRL  0x04

/* Guest-visible, serialised state (QEMU's KBDState). */
typedef struct I8042State {
    uint8_t write_cmd; /* controller command awaiting a data byte, or 0 */
    uint8_t status;
    uint8_t mode;
    uint8_t pending;          /* on the wire as pending_tmp: who has data */
    uint8_t outport;          /* subsection pckbd_outport when not default */
    uint32_t migration_flags; /* pckbd/extended_state ... */
    uint32_t obsrc;
    uint8_t obdata; /* last byte read from port 0x60 */
    uint8_t cbdata; /* the controller's own reply byte */
    uint8_t loaded; /* load bookkeeping: subsections seen */
} I8042State;

typedef struct I8042Device {
    I8042State s;
    Ps2KbdDevice *kbd;
    Ps2MouseDevice *mouse;
    HwIrq kbd_in;   /* driven by the keyboard */
    HwIrq mouse_in; /* driven by the mouse */
    HwIrq *irq1;    /* borrowed */
    HwIrq *irq12;   /* borrowed */
    HwClock *clock; /* borrowed; unused while kbd-throttle is off */
    void (*reset_request)(void *opaque);
    void *reset_opaque;
} I8042Device;

extern const VmsDesc i8042_vmsd;

/*
 * Creates the controller with its keyboard and mouse, in power-on state.
 * irq1/irq12 (borrowed, may be NULL) get the keyboard and mouse interrupt
 * levels; reset_request (may be NULL) is called when the guest pulses the
 * reset line (command FE / F0-FE even, or an output-port write with bit 0
 * clear). It must not free the device.
 */
I8042Device *i8042_new(HwClock *clock, HwIrq *irq1, HwIrq *irq12,
                       void (*reset_request)(void *), void *reset_opaque);
/* Maps 0x60 and 0x64, registers ps2kbd, ps2mouse and pckbd (instance 0,
   no alias) in that order. */
bool i8042_realize(I8042Device *d, HwBus *bus, VmsRegistry *reg, GError **errp);
/* QEMU's system reset of the controller and both devices. */
void i8042_reset(I8042Device *d);
void i8042_free(I8042Device *d);

/* Guest register access (also reachable through the bus). */
uint8_t i8042_read(I8042Device *d, uint16_t port);
void i8042_write(I8042Device *d, uint16_t port, uint8_t val);

#endif
