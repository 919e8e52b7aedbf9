/*
 * The virtual clock and its timers (QEMU's QEMU_CLOCK_VIRTUAL).
 *
 * The clock advances with host monotonic time only while the VM runs and
 * stands still while it is paused or in prelaunch, so a paused primary and
 * a paused secondary hold the same time. In stepped mode (-accel qtest) it
 * moves only through hw_clock_step/hw_clock_set, which makes every run
 * deterministic; as in QEMU, stepping a paused VM moves the clock but fires
 * no timers (they fire once it runs).
 *
 * Timers hold an absolute deadline in virtual ns (-1: not pending) and a
 * callback, which may re-arm or delete its own timer. Device state saves
 * the deadline (VMS_TIMER); post_commit re-arms the timer from it.
 *
 * The `timer` section (QEMU layout, version 2: int64 cpu_ticks_offset,
 * 8 unused bytes, int64 cpu_clock_offset) carries the clock: while paused
 * cpu_clock_offset holds the frozen virtual time, as in QEMU, so a loaded
 * machine continues from the saved time.
 */
#ifndef LS_HW_CLOCK_H
#define LS_HW_CLOCK_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "vms/vms.h"

#define HW_NS_PER_SEC 1000000000LL

/* a * b / c with a 128-bit intermediate, as QEMU's muldiv64: the one
   conversion between ns and device ticks (PIT, RTC). c must not be 0. */
static inline uint64_t hw_muldiv64(uint64_t a, uint32_t b, uint32_t c)
{
    return (uint64_t)((unsigned __int128)a * b / c);
}

typedef struct HwClock HwClock;
typedef struct HwTimer HwTimer;
typedef void (*HwTimerCb)(void *opaque);

/* Serialised clock state (the `timer` section). */
typedef struct HwClockState {
    int64_t cpu_ticks_offset;
    int64_t cpu_clock_offset;
} HwClockState;

extern const VmsDesc hw_clock_vmsd;

HwClock *hw_clock_new(bool stepped);
/* Frees the clock; every timer must have been freed first. */
void hw_clock_free(HwClock *clock);
HwClockState *hw_clock_state(HwClock *clock);

bool hw_clock_is_stepped(const HwClock *clock);
int64_t hw_clock_now(HwClock *clock);
/* Run state: the clock advances (and timers fire) only while running. */
void hw_clock_start(HwClock *clock);
void hw_clock_stop(HwClock *clock);
bool hw_clock_running(const HwClock *clock);

/* Stepped mode only: advance by ns / to an absolute time (never back);
   runs the timers that fall due, in deadline order, if running. Returns
   the new time. */
int64_t hw_clock_step(HwClock *clock, int64_t ns);
int64_t hw_clock_set(HwClock *clock, int64_t ns);
/* Deadline of the earliest pending timer, or -1. */
int64_t hw_clock_next_deadline(HwClock *clock);
/* Fires due timers now (the GLib source calls this). */
void hw_clock_run_timers(HwClock *clock);

/* A GSource that fires the timers in real-time mode; attach it to the
   daemon's main context. In stepped mode it never dispatches. */
GSource *hw_clock_source_new(HwClock *clock);

HwTimer *hw_timer_new(HwClock *clock, HwTimerCb cb, void *opaque);
void hw_timer_free(HwTimer *t);
void hw_timer_mod(HwTimer *t, int64_t deadline_ns);
void hw_timer_del(HwTimer *t);
bool hw_timer_pending(const HwTimer *t);
int64_t hw_timer_deadline(const HwTimer *t); /* -1 if not pending */

#endif
