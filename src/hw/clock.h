/*
 * The machine's clocks and their timers, QEMU's three clock types
 * (include/qemu/timer.h): one timer system for every device.
 *
 * HW_CLOCK_VIRTUAL (QEMU_CLOCK_VIRTUAL), the guest's time, advances with
 * host monotonic time only while the VM runs and stands still while it
 * is paused or in prelaunch, so a paused primary and a paused secondary
 * hold the same time. In stepped mode (-accel qtest) it moves only
 * through hw_clock_step/hw_clock_set, which makes every run
 * deterministic; as in QEMU, stepping a paused VM moves the clock but
 * fires no timers (they fire once it runs).
 *
 * HW_CLOCK_REALTIME (host monotonic time) and HW_CLOCK_HOST (host wall
 * time, which may jump) run whatever the VM state, and their timers fire
 * as host time passes, in stepped mode too (the RTC's clock=rt|host).
 * Both are read through an HwHostTime, which tests replace with a fake.
 *
 * Timers hold an absolute deadline in their clock's ns (-1: not
 * pending) and a callback, which may re-arm or delete its own timer.
 * Device state saves the deadline (VMS_TIMER); post_commit re-arms the
 * timer from it.
 *
 * The `timer` section (QEMU layout, version 2: int64 cpu_ticks_offset,
 * 8 unused bytes, int64 cpu_clock_offset) carries the virtual clock:
 * while paused cpu_clock_offset holds the frozen virtual time, as in
 * QEMU, so a loaded machine continues from the saved time.
 *
 * Time bounds. The virtual clock never passes HW_CLOCK_MAX_NS, and a
 * load refuses a `timer` section beyond it. Every device time or
 * deadline a stream holds (on any of the clocks) must lie in
 * 0..HW_CLOCK_MAX_FIELD_NS (-1 where it means "none"): a deadline may
 * lead the clock by HW_CLOCK_MAX_AHEAD_NS at most. Loads refuse anything
 * else, so sums of two times never overflow. One exception, bounded by
 * its device: a time that the device itself computes before 0 and only
 * ever compares (the RTC's next_alarm_time under SET, as QEMU). A jump within
 * the bound (a loaded clock far ahead of a device's deadlines) is survived by
 * capping catch-up: a periodic timer more than HW_CLOCK_MAX_CATCHUP periods
 * behind re-phases to the current time (missed periods are dropped,
 * QEMU's lost-tick "discard"), and one dispatch fires at most
 * HW_CLOCK_MAX_FIRES timers before returning to the main loop.
 */
#ifndef LS_HW_CLOCK_H
#define LS_HW_CLOCK_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "vms/vms.h"

#define HW_NS_PER_SEC 1000000000LL

/* Named caps (see "Time bounds" above). 2^62 ns is about 146 years,
   2^55 ns about 417 days. */
#define HW_CLOCK_MAX_NS       (INT64_C(1) << 62)
#define HW_CLOCK_MAX_AHEAD_NS (INT64_C(1) << 55)
#define HW_CLOCK_MAX_FIELD_NS (HW_CLOCK_MAX_NS + HW_CLOCK_MAX_AHEAD_NS)
#define HW_CLOCK_MAX_CATCHUP  1000 /* periods replayed after a jump */
#define HW_CLOCK_MAX_FIRES    4096 /* timer callbacks per dispatch */

/* a * b / c with a 128-bit intermediate, as QEMU's muldiv64: the one
   conversion between ns and device ticks (PIT, RTC). c must not be 0. */
static inline uint64_t hw_muldiv64(uint64_t a, uint32_t b, uint32_t c)
{
    return (uint64_t)((unsigned __int128)a * b / c);
}

typedef struct HwClock HwClock;
typedef struct HwTimer HwTimer;
typedef void (*HwTimerCb)(void *opaque);

typedef enum HwClockType {
    HW_CLOCK_REALTIME, /* host monotonic time */
    HW_CLOCK_VIRTUAL,  /* guest time: stands still while paused */
    HW_CLOCK_HOST,     /* host wall time (ns since the epoch) */
    HW_CLOCK_TYPES,
} HwClockType;

/* Where host time comes from: both return ns. */
typedef struct HwHostTime {
    int64_t (*monotonic_ns)(void *opaque); /* CLOCK_MONOTONIC */
    int64_t (*realtime_ns)(void *opaque);  /* wall time */
    void *opaque;
} HwHostTime;

/* Serialised clock state (the `timer` section). */
typedef struct HwClockState {
    int64_t cpu_ticks_offset;
    int64_t cpu_clock_offset;
} HwClockState;

extern const VmsDesc hw_clock_vmsd;

/* Load-time check of a device's time field: `v` within
   lo..HW_CLOCK_MAX_FIELD_NS (lo is 0, or -1 where -1 means "none", or
   the device's own bound for a time it computes before 0).
   Fails with "field 'NAME': V out of range LO..MAX". */
bool hw_clock_check_time(const char *name, int64_t v, int64_t lo,
                         GError **errp);
/* True when a periodic timer due at `due` and firing at `now` is more than
   HW_CLOCK_MAX_CATCHUP periods of `period_ns` late: it must re-phase to
   `now` rather than replay the missed periods. */
bool hw_clock_catchup_capped(int64_t now, int64_t due, int64_t period_ns);

HwClock *hw_clock_new(bool stepped);
/* Replaces the host time source (NULL: the system's); before the clock
   first starts. The real-time and host clocks, and the virtual clock when
   not stepped, then read it. */
void hw_clock_set_host_time(HwClock *clock, const HwHostTime *ht);
/* Frees the clock; every timer must have been freed first. */
void hw_clock_free(HwClock *clock);
HwClockState *hw_clock_state(HwClock *clock);

bool hw_clock_is_stepped(const HwClock *clock);
/* Now on the virtual clock, in ns. */
int64_t hw_clock_now(HwClock *clock);
/* Now on clock `type`, in ns. */
int64_t hw_clock_get_ns(HwClock *clock, HwClockType type);
/* Run state: the clock advances (and timers fire) only while running. */
void hw_clock_start(HwClock *clock);
void hw_clock_stop(HwClock *clock);
bool hw_clock_running(const HwClock *clock);

/* Stepped mode only: advance by ns / to an absolute time (never back, and
   never past HW_CLOCK_MAX_NS); runs the timers that fall due, in deadline
   order, if running. Returns the new time. */
int64_t hw_clock_step(HwClock *clock, int64_t ns);
int64_t hw_clock_set(HwClock *clock, int64_t ns);
/* Deadline of the earliest pending virtual-clock timer, or -1. */
int64_t hw_clock_next_deadline(HwClock *clock);
/* Fires the due timers of every clock (virtual ones only while running),
   at most HW_CLOCK_MAX_FIRES of them. */
void hw_clock_run_timers(HwClock *clock);

/* A GSource that wakes for the earliest deadline across all three clocks
   and fires what is due (at most HW_CLOCK_MAX_FIRES per dispatch; it
   comes back at once if more are due); attach it to the daemon's main
   context. In stepped mode it leaves the virtual clock's timers to
   hw_clock_step/set. */
GSource *hw_clock_source_new(HwClock *clock);

/* A timer on clock `type`; its deadlines are in that clock's ns. */
HwTimer *hw_timer_new_on(HwClock *clock, HwClockType type, HwTimerCb cb,
                         void *opaque);
/* A timer on the virtual clock. */
HwTimer *hw_timer_new(HwClock *clock, HwTimerCb cb, void *opaque);
void hw_timer_free(HwTimer *t);
void hw_timer_mod(HwTimer *t, int64_t deadline_ns);
void hw_timer_del(HwTimer *t);
bool hw_timer_pending(const HwTimer *t);
int64_t hw_timer_deadline(const HwTimer *t); /* -1 if not pending */

#endif
