/*
 * The bench the RTC tests stand on: an MC146818 on a stepped virtual
 * clock that runs, its ports on a bus, IRQ 8 edges recorded at their
 * virtual times, and a registry holding its section.
 */
#ifndef LS_TESTS_HW_RTC_FX_H
#define LS_TESTS_HW_RTC_FX_H

#include <string.h>

#include "base/error.h"
#include "hw/rtc.h"

#define MS  1000000LL
#define SEC 1000000000LL

typedef struct Edge {
    int64_t t;
    int level;
} Edge;

typedef struct Fx {
    HwClock *clock;
    HwBus bus;
    HwIrq irq;
    GArray *edges; /* Edge */
    int level;
    VmsRegistry *reg;
    RtcDevice *rtc;
} Fx;

static inline void fx_irq(void *opaque, int n, int level)
{
    Fx *f = opaque;
    Edge e = {hw_clock_now(f->clock), level};

    g_assert_cmpint(n, ==, RTC_ISA_IRQ);
    if (level != f->level) {
        g_array_append_val(f->edges, e);
    }
    f->level = level;
}

static inline void fx_init(Fx *f, RtcClockKind kind, const char *base)
{
    GError *err = NULL;

    memset(f, 0, sizeof(*f));
    f->clock = hw_clock_new(true);
    hw_clock_start(f->clock);
    hw_bus_init(&f->bus);
    hw_irq_init(&f->irq, fx_irq, f, RTC_ISA_IRQ);
    f->edges = g_array_new(FALSE, FALSE, sizeof(Edge));
    f->reg = vms_registry_new();
    f->rtc = rtc_new(f->clock, kind, base, &f->irq, &err);
    g_assert_no_error(err);
    g_assert_true(rtc_realize(f->rtc, &f->bus, f->reg, &err));
    g_assert_no_error(err);
    g_assert_true(rtc_cmos_init_pc(f->rtc, NULL, true, 128 << 20, &err));
    g_assert_no_error(err);
    rtc_reset(f->rtc); /* the machine's start-up reset */
}

static inline void fx_vm(Fx *f)
{
    fx_init(f, RTC_CLOCK_VM, "2020-01-01T00:00:00");
}

static inline void fx_free(Fx *f)
{
    vms_registry_free(f->reg);
    rtc_free(f->rtc);
    hw_clock_free(f->clock);
    g_array_free(f->edges, TRUE);
}

static inline uint8_t rd(Fx *f, uint8_t idx)
{
    hw_bus_out(&f->bus, 0x70, idx, 1);
    return hw_bus_in(&f->bus, 0x71, 1);
}

static inline void wr(Fx *f, uint8_t idx, uint8_t val)
{
    hw_bus_out(&f->bus, 0x70, idx, 1);
    hw_bus_out(&f->bus, 0x71, val, 1);
}

static inline void step(Fx *f, int64_t ns)
{
    hw_clock_step(f->clock, ns);
}

#endif
