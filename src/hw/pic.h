/*
 * i8259A programmable interrupt controller pair (master + cascaded slave),
 * as QEMU 7.2's hw/intc/i8259.c models it on the `pc` machine.
 *
 * Covers: ICW1-ICW4 initialisation (init_state), OCW1 (IMR), OCW2 (EOI,
 * specific EOI, rotate on (specific) EOI, set priority, rotate in auto-EOI
 * on/off), OCW3 (IRR/ISR read select, poll, special mask), rotating
 * priority, special fully nested mode, auto-EOI, poll-mode reads (which
 * acknowledge), the slave cascaded on master IRQ 2, edge or level trigger
 * per line from the ELCR (ports 0x4d0/0x4d1, writable bits 0xf8 master,
 * 0xde slave), last_irr edge detection, spurious IRQ 7/15 on INTA.
 *
 * Leaves out, as QEMU 7.2 does: ICW1.LTIM (logged, ignored; no
 * `i8259/ltim` subsection in 7.2), buffered mode, special mask effects
 * beyond QEMU's priority rule, 8080 mode.
 *
 * Reset (system_reset) clears ELCR as QEMU 7.2's device reset does (the
 * ICW1 re-initialisation keeps ELCR and level-triggered IRR bits).
 *
 * State: two `i8259` sections, version 1, 16 x u8 each in QEMU's order;
 * master instance 0 alias 0x20, slave instance 1 alias 0xa0.
 */
#ifndef LS_HW_PIC_H
#define LS_HW_PIC_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/bus.h"
#include "hw/clock.h"
#include "hw/irq.h"
#include "vms/vms.h"

#define PIC_MASTER_IOBASE    0x20
#define PIC_SLAVE_IOBASE     0xa0
#define PIC_MASTER_ELCR      0x4d0
#define PIC_SLAVE_ELCR       0x4d1
#define PIC_MASTER_ELCR_MASK 0xf8
#define PIC_SLAVE_ELCR_MASK  0xde
#define PIC_CASCADE_IRQ      2

/* Serialised state of one chip, QEMU's field order (memcpy-able). */
typedef struct PicState {
    uint8_t last_irr; /* input levels as last seen (edge detection) */
    uint8_t irr;
    uint8_t imr;
    uint8_t isr;
    uint8_t priority_add;    /* 0..7: line with highest priority */
    uint8_t irq_base;        /* ICW2 & 0xf8 */
    uint8_t read_reg_select; /* 0 IRR, 1 ISR */
    uint8_t poll;
    uint8_t special_mask;
    uint8_t init_state; /* 0 ready, 1 ICW2, 2 ICW3, 3 ICW4 expected */
    uint8_t auto_eoi;
    uint8_t rotate_on_auto_eoi;
    uint8_t special_fully_nested_mode;
    uint8_t init4;
    uint8_t single_mode; /* QEMU stores ICW1 & 2: 0 or 2 */
    uint8_t elcr;
} PicState;

typedef struct PicPair PicPair;

/* One chip: its state plus wiring. */
typedef struct PicChip {
    PicState s;
    PicPair *pair;
    bool master;
    uint8_t elcr_mask;
} PicChip;

struct PicPair {
    PicChip chip[2]; /* 0 master, 1 slave */
    HwClock *clock;
    HwIrq *cpu_intr; /* borrowed; the master's INT output */
};

extern const VmsDesc pic_master_vmsd;
extern const VmsDesc pic_slave_vmsd;

/* Creates both chips at reset values. `cpu_intr` may be NULL. */
PicPair *pic_pair_new(HwClock *clock, HwIrq *cpu_intr);
/* Maps 0x20-0x21, 0xa0-0xa1, 0x4d0, 0x4d1 and registers the two `i8259`
   sections (instance 0 alias 0x20, then instance 1 alias 0xa0). */
bool pic_pair_realize(PicPair *p, HwBus *bus, VmsRegistry *reg, GError **errp);
void pic_pair_reset(PicPair *p);
void pic_pair_free(PicPair *p);

/* ISA line 0..15 changes level (0/1); others are ignored (logged). */
void pic_pair_set_irq(PicPair *p, int isa_irq, int level);
/* INTA cycle: acknowledges the highest-priority request and returns its
   vector (irq_base + line), or the spurious vector of line 7 (master or
   slave) when nothing is pending, exactly as QEMU's pic_read_irq. */
int pic_pair_read_irq(PicPair *p);
/* Level of the master's INT output. */
bool pic_pair_int_output(PicPair *p);

#endif
