/*
 * The machine's clocks and their timers (see clock.h).
 *
 * Virtual: while running, vnow = host monotonic ns + cpu_clock_offset;
 * while paused, cpu_clock_offset is the frozen vnow (QEMU's
 * cpu_disable_ticks does the same, which is why the saved `timer` section
 * restores time). In stepped mode cpu_clock_offset is simply the current
 * time. Real-time and host: read from the HwHostTime source each time.
 * All timers sit in one list, each tagged with its clock.
 */
#include "hw/clock.h"

#include <inttypes.h>
#include <time.h>

#include "base/error.h"
#include "base/log.h"

/* Longest wait handed to GLib at once: a farther deadline is re-checked
   then (keeps the microsecond arithmetic far from overflow). */
#define HW_CLOCK_MAX_WAIT_US (3600LL * 1000 * 1000)

struct HwTimer {
    HwClock *clock;
    HwClockType type;
    HwTimerCb cb;
    void *opaque;
    int64_t deadline; /* -1: not pending */
};

typedef struct HwClockSource {
    GSource source;
    HwClock *clock;
} HwClockSource;

struct HwClock {
    HwClockState s;
    HwHostTime ht; /* where host monotonic and wall time come from */
    bool stepped;
    bool running;
    GPtrArray *timers; /* all timers, pending or not */
    GSource *source;   /* borrowed: set while a source is attached */
};

static bool clock_check_range(const char *name, int64_t v, int64_t lo,
                              int64_t hi, GError **errp)
{
    if (v < lo || v > hi) {
        ls_error_set(
            errp, "field '%s': %" PRId64 " out of range %" PRId64 "..%" PRId64,
            name, v, lo, hi);
        return false;
    }
    return true;
}

bool hw_clock_check_time(const char *name, int64_t v, int64_t lo, GError **errp)
{
    return clock_check_range(name, v, lo, HW_CLOCK_MAX_FIELD_NS, errp);
}

bool hw_clock_catchup_capped(int64_t now, int64_t due, int64_t period_ns)
{
    /* now and due are bounded times, so now - due cannot overflow */
    return now > due && (now - due) / HW_CLOCK_MAX_CATCHUP > period_ns;
}

/* The clock itself is a time: a loaded clock past the bound would make
   every deadline computed from it overflow. */
static bool hw_clock_post_load(void *state, int version_id, GError **errp)
{
    const HwClockState *s = state;

    return clock_check_range("cpu_ticks_offset", s->cpu_ticks_offset, 0,
                             HW_CLOCK_MAX_NS, errp) &&
           clock_check_range("cpu_clock_offset", s->cpu_clock_offset, 0,
                             HW_CLOCK_MAX_NS, errp);
}

static const VmsField hw_clock_fields[] = {
    VMS_INT64(HwClockState, cpu_ticks_offset),
    VMS_UNUSED(8),
    VMS_INT64_V(HwClockState, cpu_clock_offset, 2),
    VMS_END_OF_LIST,
};

const VmsDesc hw_clock_vmsd = {
    .name = "timer",
    .version_id = 2,
    .minimum_version_id = 1,
    .fields = hw_clock_fields,
    .post_load = hw_clock_post_load,
};

static int64_t clock_sys_monotonic_ns(void *opaque)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * HW_NS_PER_SEC + ts.tv_nsec;
}

static int64_t clock_sys_realtime_ns(void *opaque)
{
    return g_get_real_time() * 1000; /* QEMU: gettimeofday */
}

static const HwHostTime clock_sys_time = {
    .monotonic_ns = clock_sys_monotonic_ns,
    .realtime_ns = clock_sys_realtime_ns,
};

static int64_t host_ns(HwClock *clock)
{
    return clock->ht.monotonic_ns(clock->ht.opaque);
}

HwClock *hw_clock_new(bool stepped)
{
    HwClock *clock = g_new0(HwClock, 1);

    clock->stepped = stepped;
    clock->ht = clock_sys_time;
    clock->timers = g_ptr_array_new();
    return clock;
}

void hw_clock_set_host_time(HwClock *clock, const HwHostTime *ht)
{
    g_assert(!clock->running);
    clock->ht = ht ? *ht : clock_sys_time;
}

void hw_clock_free(HwClock *clock)
{
    if (!clock) {
        return;
    }
    g_assert(clock->timers->len == 0);
    g_ptr_array_free(clock->timers, TRUE);
    g_free(clock);
}

HwClockState *hw_clock_state(HwClock *clock)
{
    return &clock->s;
}

bool hw_clock_is_stepped(const HwClock *clock)
{
    return clock->stepped;
}

bool hw_clock_running(const HwClock *clock)
{
    return clock->running;
}

int64_t hw_clock_now(HwClock *clock)
{
    if (clock->running && !clock->stepped) {
        return MIN(host_ns(clock) + clock->s.cpu_clock_offset, HW_CLOCK_MAX_NS);
    }
    return clock->s.cpu_clock_offset;
}

int64_t hw_clock_get_ns(HwClock *clock, HwClockType type)
{
    switch (type) {
    case HW_CLOCK_REALTIME:
        return host_ns(clock);
    case HW_CLOCK_HOST:
        return clock->ht.realtime_ns(clock->ht.opaque);
    case HW_CLOCK_VIRTUAL:
    default:
        return hw_clock_now(clock);
    }
}

/* Whether timers on `type` may fire now: the host clocks always; the
   virtual clock while the VM runs. `by_host`: fired as host time passes
   (the GLib source), as opposed to by hw_clock_step/set (stepped). */
static bool clock_type_live(const HwClock *clock, HwClockType type,
                            bool by_host)
{
    if (type != HW_CLOCK_VIRTUAL) {
        return true;
    }
    return clock->running && !(by_host && clock->stepped);
}

/* Earliest pending deadline on `type`, or -1. */
static int64_t clock_next_on(HwClock *clock, HwClockType type)
{
    int64_t best = -1;

    for (guint i = 0; i < clock->timers->len; i++) {
        HwTimer *t = g_ptr_array_index(clock->timers, i);
        if (t->type == type && t->deadline >= 0 &&
            (best < 0 || t->deadline < best)) {
            best = t->deadline;
        }
    }
    return best;
}

/* ns of host time until the earliest timer that host time will bring
   due, across every clock; -1 if none. */
static int64_t clock_wait_ns(HwClock *clock)
{
    int64_t best = -1;

    for (int type = 0; type < HW_CLOCK_TYPES; type++) {
        int64_t d = clock_next_on(clock, type), wait;

        if (d < 0 || !clock_type_live(clock, type, true)) {
            continue;
        }
        /* d >= 0 and now >= 0: the difference cannot overflow */
        wait = MAX(d - hw_clock_get_ns(clock, type), 0);
        best = best < 0 ? wait : MIN(best, wait);
    }
    return best;
}

static void clock_kick(HwClock *clock)
{
    int64_t wait_ns, wait_us;

    if (!clock->source) {
        return;
    }
    wait_ns = clock_wait_ns(clock);
    if (wait_ns < 0) {
        g_source_set_ready_time(clock->source, -1);
        return;
    }
    wait_us = wait_ns == 0 ? 0 : wait_ns / 1000 + 1;
    g_source_set_ready_time(clock->source,
                            g_get_monotonic_time() +
                                MIN(wait_us, HW_CLOCK_MAX_WAIT_US));
}

void hw_clock_start(HwClock *clock)
{
    if (clock->running) {
        return;
    }
    if (!clock->stepped) {
        int64_t now = host_ns(clock);
        clock->s.cpu_clock_offset -= now;
        clock->s.cpu_ticks_offset -= now;
    }
    clock->running = true;
    clock_kick(clock);
}

void hw_clock_stop(HwClock *clock)
{
    if (!clock->running) {
        return;
    }
    if (!clock->stepped) {
        int64_t now = host_ns(clock);
        clock->s.cpu_clock_offset =
            MIN(clock->s.cpu_clock_offset + now, HW_CLOCK_MAX_NS);
        clock->s.cpu_ticks_offset =
            MIN(clock->s.cpu_ticks_offset + now, HW_CLOCK_MAX_NS);
    }
    clock->running = false;
    clock_kick(clock);
}

int64_t hw_clock_next_deadline(HwClock *clock)
{
    return clock_next_on(clock, HW_CLOCK_VIRTUAL);
}

/* Fires every timer on `type` due at `now`, earliest first, counting
   each in *fired and stopping when it reaches `budget` (0: no limit); a
   callback may re-arm timers, including its own, so the earliest is
   searched each round. False when the budget ran out with timers due. */
static bool clock_run_until(HwClock *clock, HwClockType type, int64_t now,
                            unsigned *fired, unsigned budget)
{
    for (;; (*fired)++) {
        HwTimer *due = NULL;
        for (guint i = 0; i < clock->timers->len; i++) {
            HwTimer *t = g_ptr_array_index(clock->timers, i);
            if (t->type == type && t->deadline >= 0 && t->deadline <= now &&
                (!due || t->deadline < due->deadline)) {
                due = t;
            }
        }
        if (!due) {
            return true;
        }
        if (budget && *fired >= budget) {
            return false;
        }
        due->deadline = -1;
        due->cb(due->opaque);
    }
}

/* Runs the due timers of every live clock (see clock_type_live), at most
   HW_CLOCK_MAX_FIRES in all, then re-arms the source. */
static void clock_run_live(HwClock *clock, bool by_host)
{
    unsigned fired = 0;

    /* QEMU's order: each clock's due timers in turn */
    for (int type = 0; type < HW_CLOCK_TYPES; type++) {
        if (clock_type_live(clock, type, by_host) &&
            !clock_run_until(clock, type, hw_clock_get_ns(clock, type), &fired,
                             HW_CLOCK_MAX_FIRES)) {
            /* more are due: let the loop serve others, then come back */
            if (clock->source) {
                g_source_set_ready_time(clock->source, 0);
            }
            return;
        }
    }
    clock_kick(clock);
}

void hw_clock_run_timers(HwClock *clock)
{
    clock_run_live(clock, false);
}

int64_t hw_clock_set(HwClock *clock, int64_t ns)
{
    unsigned fired = 0;

    ns = MIN(ns, HW_CLOCK_MAX_NS);
    if (!clock->stepped || ns <= clock->s.cpu_clock_offset) {
        return hw_clock_now(clock);
    }
    if (!clock->running) {
        clock->s.cpu_clock_offset = ns;
        return ns;
    }
    /* Walk from deadline to deadline so each callback sees its own time,
       as QEMU's qtest_clock_warp does. */
    for (;;) {
        int64_t d = hw_clock_next_deadline(clock);
        if (d < 0 || d > ns) {
            break;
        }
        if (d > clock->s.cpu_clock_offset) {
            clock->s.cpu_clock_offset = d;
        }
        clock_run_until(clock, HW_CLOCK_VIRTUAL, clock->s.cpu_clock_offset,
                        &fired, 0);
    }
    clock->s.cpu_clock_offset = ns;
    clock_kick(clock);
    return ns;
}

int64_t hw_clock_step(HwClock *clock, int64_t ns)
{
    int64_t now = clock->s.cpu_clock_offset;

    ns = CLAMP(ns, 0, MAX(HW_CLOCK_MAX_NS - now, 0));
    return hw_clock_set(clock, now + ns);
}

static gboolean clock_source_dispatch(GSource *source, GSourceFunc cb,
                                      gpointer data)
{
    HwClockSource *cs = (HwClockSource *)source;

    g_source_set_ready_time(source, -1);
    /* stepped virtual time moves only by hw_clock_step/set */
    clock_run_live(cs->clock, true);
    return G_SOURCE_CONTINUE;
}

static void clock_source_finalize(GSource *source)
{
    HwClockSource *cs = (HwClockSource *)source;

    if (cs->clock->source == source) {
        cs->clock->source = NULL;
    }
}

static GSourceFuncs clock_source_funcs = {
    .dispatch = clock_source_dispatch,
    .finalize = clock_source_finalize,
};

GSource *hw_clock_source_new(HwClock *clock)
{
    GSource *source = g_source_new(&clock_source_funcs, sizeof(HwClockSource));

    ((HwClockSource *)source)->clock = clock;
    g_source_set_name(source, "lockstep-clocks");
    clock->source = source;
    clock_kick(clock);
    return source;
}

HwTimer *hw_timer_new_on(HwClock *clock, HwClockType type, HwTimerCb cb,
                         void *opaque)
{
    HwTimer *t = g_new0(HwTimer, 1);

    g_assert(type >= 0 && type < HW_CLOCK_TYPES);
    t->clock = clock;
    t->type = type;
    t->cb = cb;
    t->opaque = opaque;
    t->deadline = -1;
    g_ptr_array_add(clock->timers, t);
    return t;
}

HwTimer *hw_timer_new(HwClock *clock, HwTimerCb cb, void *opaque)
{
    return hw_timer_new_on(clock, HW_CLOCK_VIRTUAL, cb, opaque);
}

void hw_timer_free(HwTimer *t)
{
    if (!t) {
        return;
    }
    g_ptr_array_remove(t->clock->timers, t);
    clock_kick(t->clock);
    g_free(t);
}

void hw_timer_mod(HwTimer *t, int64_t deadline_ns)
{
    t->deadline = deadline_ns < 0 ? 0 : deadline_ns;
    clock_kick(t->clock);
}

void hw_timer_del(HwTimer *t)
{
    t->deadline = -1;
    clock_kick(t->clock);
}

bool hw_timer_pending(const HwTimer *t)
{
    return t->deadline >= 0;
}

int64_t hw_timer_deadline(const HwTimer *t)
{
    return t->deadline;
}
