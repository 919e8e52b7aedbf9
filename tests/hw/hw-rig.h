/*
 * The bench every device test stands its device on: a stepped virtual
 * clock that runs, a port bus, a device-state registry, and one IRQ line
 * whose changes are recorded as (virtual time, level) pairs.
 */
#ifndef LS_TESTS_HW_RIG_H
#define LS_TESTS_HW_RIG_H

#include "hw/bus.h"
#include "hw/clock.h"
#include "hw/irq.h"
#include "vms/vms.h"

typedef struct Rec {
    HwClock *clock;
    GArray *ev; /* int64 pairs: time, level (changes only) */
    int level;
} Rec;

typedef struct HwRig {
    HwClock *clock;
    HwBus bus;
    VmsRegistry *reg;
    HwIrq irq; /* recorded into rec */
    Rec rec;
} HwRig;

static void rec_handler(void *opaque, int n, int level)
{
    Rec *r = opaque;
    int64_t e[2] = {hw_clock_now(r->clock), level};

    if (level != r->level) {
        r->level = level;
        g_array_append_vals(r->ev, e, 2);
    }
}

static inline void hw_rig_init(HwRig *r)
{
    r->clock = hw_clock_new(true);
    hw_clock_start(r->clock);
    hw_bus_init(&r->bus);
    r->reg = vms_registry_new();
    r->rec = (Rec){r->clock, g_array_new(FALSE, FALSE, sizeof(int64_t)), 0};
    hw_irq_init(&r->irq, rec_handler, &r->rec, 0);
}

/* After the devices on the rig are freed. */
static inline void hw_rig_free(HwRig *r)
{
    vms_registry_free(r->reg);
    hw_clock_free(r->clock);
    g_array_free(r->rec.ev, TRUE);
}

static inline void hw_rig_outb(HwRig *r, uint16_t port, uint8_t v)
{
    hw_bus_out(&r->bus, port, v, 1);
}

static inline uint8_t hw_rig_inb(HwRig *r, uint16_t port)
{
    return hw_bus_in(&r->bus, port, 1);
}

#endif
