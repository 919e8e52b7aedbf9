/*
 * The bench the UART tests (test-serial.c, test-serial-vmstate.c) stand a
 * 16550A on: a fake byte sink that can refuse bytes (would block) and
 * fire its write watch on demand, a stepped clock, the port bus, and the
 * IRQ line's changes recorded as (virtual time, level).
 */
#ifndef LS_TESTS_HW_SERIAL_RIG_H
#define LS_TESTS_HW_SERIAL_RIG_H

#include <string.h>

#include "hw/serial.h"

#define COM1         0x3f8
#define CHAR_NS_9600 1041660 /* (1e9 / 9600) * 10: QEMU's integer math */

typedef struct FakeBe {
    GByteArray *out;
    bool blocked;
    bool watch;
    HwCharWatchCb cb;
    void *opaque;
    int breaks; /* set_break(true) calls */
    bool brk;
    int accepts;
} FakeBe;

static inline int fake_write(void *be, const uint8_t *buf, int len)
{
    FakeBe *f = be;

    if (f->blocked) {
        return 0;
    }
    g_byte_array_append(f->out, buf, len);
    return len;
}

static inline bool fake_add_watch(void *be, HwCharWatchCb cb, void *opaque)
{
    FakeBe *f = be;

    g_assert_false(f->watch);
    f->watch = true;
    f->cb = cb;
    f->opaque = opaque;
    return true;
}

static inline void fake_cancel_watch(void *be)
{
    ((FakeBe *)be)->watch = false;
}

static inline void fake_set_break(void *be, bool on)
{
    FakeBe *f = be;

    f->brk = on;
    f->breaks += on;
}

static inline void fake_accept(void *be)
{
    ((FakeBe *)be)->accepts++;
}

static const HwCharOps fake_ops = {
    .write = fake_write,
    .add_write_watch = fake_add_watch,
    .cancel_write_watch = fake_cancel_watch,
    .set_break = fake_set_break,
    .accept_input = fake_accept,
};

/* Fires the pending watch, as the main loop would. */
static inline void fake_fire(FakeBe *f)
{
    g_assert_true(f->watch);
    f->watch = false;
    f->cb(f->opaque);
}

typedef struct IrqEvent {
    int64_t t;
    int level;
} IrqEvent;

typedef struct Rig {
    HwClock *clock;
    HwBus bus;
    HwIrq irq;
    int level;
    GArray *edges; /* IrqEvent at each level change */
    VmsRegistry *reg;
    FakeBe be;
    SerialDevice *d;
} Rig;

static inline void rig_irq(void *opaque, int n, int level)
{
    Rig *r = opaque;

    if (level != r->level) {
        IrqEvent e = {hw_clock_now(r->clock), level};

        g_array_append_val(r->edges, e);
        r->level = level;
    }
}

static inline Rig *rig_new(void)
{
    Rig *r = g_new0(Rig, 1);

    r->clock = hw_clock_new(true);
    hw_clock_start(r->clock);
    hw_bus_init(&r->bus);
    hw_irq_init(&r->irq, rig_irq, r, 4);
    r->edges = g_array_new(FALSE, FALSE, sizeof(IrqEvent));
    r->reg = vms_registry_new();
    r->be.out = g_byte_array_new();
    r->d = serial_new(r->clock, &r->irq, COM1, &fake_ops, &r->be);
    g_assert_true(serial_realize(r->d, &r->bus, r->reg, NULL));
    return r;
}

static inline void rig_free(Rig *r)
{
    serial_free(r->d);
    vms_registry_free(r->reg);
    hw_clock_free(r->clock);
    g_array_free(r->edges, TRUE);
    g_byte_array_free(r->be.out, TRUE);
    g_free(r);
}

static inline uint8_t in(Rig *r, unsigned reg)
{
    return hw_bus_in(&r->bus, COM1 + reg, 1);
}

static inline void out(Rig *r, unsigned reg, uint8_t v)
{
    hw_bus_out(&r->bus, COM1 + reg, v, 1);
}

static inline void feed(Rig *r, const char *bytes)
{
    serial_receive(r->d, (const uint8_t *)bytes, strlen(bytes));
}

#endif
