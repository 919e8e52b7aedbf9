/* Virtual clock: stands still when paused, steps deterministically, fires
   timers in deadline order, and round-trips through the `timer` section
   state. */
#include "hw/clock.h"

typedef struct {
    HwClock *clock;
    GArray *fired; /* int64 clock values at each callback */
    HwTimer *self;
    int64_t rearm;
} Probe;

static void probe_cb(void *opaque)
{
    Probe *p = opaque;
    int64_t now = hw_clock_now(p->clock);

    g_array_append_val(p->fired, now);
    if (p->rearm > 0) {
        hw_timer_mod(p->self, now + p->rearm);
    }
}

static void test_stepped_timers(void)
{
    HwClock *c = hw_clock_new(true);
    Probe p = {c, g_array_new(FALSE, FALSE, sizeof(int64_t)), NULL, 100};

    p.self = hw_timer_new(c, probe_cb, &p);
    hw_timer_mod(p.self, 250);
    g_assert_cmpint(hw_clock_now(c), ==, 0);

    /* Paused: the clock moves, no timer fires. */
    hw_clock_step(c, 300);
    g_assert_cmpuint(p.fired->len, ==, 0);
    hw_clock_start(c);
    hw_clock_run_timers(c);
    g_assert_cmpuint(p.fired->len, ==, 1);
    g_assert_cmpint(g_array_index(p.fired, int64_t, 0), ==, 300);
    g_assert_cmpint(hw_timer_deadline(p.self), ==, 400);

    /* Running: each callback sees its own deadline as "now". */
    hw_clock_step(c, 250); /* to 550: fires at 400, 500 */
    g_assert_cmpuint(p.fired->len, ==, 3);
    g_assert_cmpint(g_array_index(p.fired, int64_t, 1), ==, 400);
    g_assert_cmpint(g_array_index(p.fired, int64_t, 2), ==, 500);
    g_assert_cmpint(hw_clock_now(c), ==, 550);

    /* Never backwards. */
    g_assert_cmpint(hw_clock_set(c, 10), ==, 550);
    hw_timer_free(p.self);
    hw_clock_free(c);
    g_array_free(p.fired, TRUE);
}

static void test_realtime_pause(void)
{
    HwClock *c = hw_clock_new(false);

    g_assert_cmpint(hw_clock_now(c), ==, 0);
    hw_clock_start(c);
    g_usleep(2000);
    hw_clock_stop(c);
    int64_t t = hw_clock_now(c);
    g_assert_cmpint(t, >=, 2000000);
    g_usleep(2000);
    g_assert_cmpint(hw_clock_now(c), ==, t); /* paused: frozen */
    /* While paused, the `timer` state holds the frozen time. */
    g_assert_cmpint(hw_clock_state(c)->cpu_clock_offset, ==, t);
    hw_clock_start(c);
    g_assert_cmpint(hw_clock_now(c), >=, t);
    hw_clock_free(c);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hw/clock/stepped-timers", test_stepped_timers);
    g_test_add_func("/hw/clock/realtime-pause", test_realtime_pause);
    return g_test_run();
}
