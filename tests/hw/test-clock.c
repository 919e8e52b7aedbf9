/* Virtual clock: stands still when paused, steps deterministically, fires
   timers in deadline order, and round-trips through the `timer` section
   state. */
#include "hw/clock.h"

#include <string.h>

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

/* The `timer` section of a registry holding only the clock, with
   cpu_clock_offset replaced by `val` (payload: ticks, 8 unused, clock). */
static GByteArray *clock_stream(HwClock *c, VmsRegistry *reg, int64_t val)
{
    GByteArray *buf = g_byte_array_new();
    VmsSaveOpts so = {.footers = true};
    size_t at = 0;

    g_assert_true(vms_save_all(reg, &so, buf, NULL));
    for (size_t i = 0; i + 6 <= buf->len; i++) {
        if (!memcmp(buf->data + i, "\x05timer", 6)) {
            at = i + 6 + 8 + 16;
        }
    }
    g_assert_cmpuint(at, >, 0);
    g_assert_cmpuint(at + 8, <=, buf->len);
    for (int i = 0; i < 8; i++) {
        buf->data[at + i] = (uint8_t)((uint64_t)val >> (56 - 8 * i));
    }
    return buf;
}

/* The loaded clock is bounded: past HW_CLOCK_MAX_NS (or negative) the
   load fails naming the field, and leaves the clock as it was. */
static void test_load_bounds(void)
{
    static const int64_t bad[] = {HW_CLOCK_MAX_NS + 1, INT64_MAX, -1,
                                  INT64_MIN};
    HwClock *c = hw_clock_new(true);
    VmsRegistry *reg = vms_registry_new();
    VmsLoadOpts lo = {0};

    g_assert_true(vms_register(reg, "timer", 0, -1, &hw_clock_vmsd,
                               hw_clock_state(c), sizeof(HwClockState), NULL));
    hw_clock_set(c, 5000);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GByteArray *buf = clock_stream(c, reg, bad[i]);
        GError *err = NULL;
        g_autofree char *want =
            g_strdup_printf("field 'cpu_clock_offset': %" G_GINT64_FORMAT
                            " out of range 0..%" G_GINT64_FORMAT,
                            bad[i], HW_CLOCK_MAX_NS);

        g_assert_false(vms_load_all(reg, buf->data, buf->len, &lo, &err));
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(err->message, want));
        g_assert_cmpint(hw_clock_now(c), ==, 5000);
        g_error_free(err);
        g_byte_array_free(buf, TRUE);
    }
    GByteArray *buf = clock_stream(c, reg, HW_CLOCK_MAX_NS);
    g_assert_true(vms_load_all(reg, buf->data, buf->len, &lo, NULL));
    g_assert_cmpint(hw_clock_now(c), ==, HW_CLOCK_MAX_NS);
    /* the clock ends there: stepping saturates, never overflows */
    hw_clock_start(c);
    g_assert_cmpint(hw_clock_step(c, INT64_MAX), ==, HW_CLOCK_MAX_NS);
    g_assert_cmpint(hw_clock_set(c, INT64_MAX), ==, HW_CLOCK_MAX_NS);
    g_byte_array_free(buf, TRUE);
    vms_registry_free(reg);
    hw_clock_free(c);
}

static void rearm_past_cb(void *opaque)
{
    Probe *p = opaque;

    p->rearm++;
    hw_timer_mod(p->self, 0); /* always due again */
}

/* A timer that re-arms itself in the past cannot hold a real-time
   dispatch: it returns after HW_CLOCK_MAX_FIRES callbacks. */
static void test_dispatch_budget(void)
{
    HwClock *c = hw_clock_new(false);
    Probe p = {c, NULL, NULL, 0};

    p.self = hw_timer_new(c, rearm_past_cb, &p);
    hw_clock_start(c);
    hw_timer_mod(p.self, 0);
    hw_clock_run_timers(c);
    g_assert_cmpint(p.rearm, ==, HW_CLOCK_MAX_FIRES);
    hw_clock_run_timers(c);
    g_assert_cmpint(p.rearm, ==, 2 * HW_CLOCK_MAX_FIRES);
    hw_timer_free(p.self);
    hw_clock_free(c);
}

static void test_catchup_cap(void)
{
    int64_t period = 1000;
    int64_t cap = period * HW_CLOCK_MAX_CATCHUP;

    g_assert_false(hw_clock_catchup_capped(5000, 5000, period));
    g_assert_false(hw_clock_catchup_capped(10 + cap + 999, 10, period));
    g_assert_true(hw_clock_catchup_capped(10 + cap + 1000, 10, period));
    g_assert_true(hw_clock_catchup_capped(HW_CLOCK_MAX_NS, -1, period));
}

typedef struct FakeTime {
    int64_t mono, real;
} FakeTime;

static int64_t fake_mono(void *opaque)
{
    return ((FakeTime *)opaque)->mono;
}

static int64_t fake_real(void *opaque)
{
    return ((FakeTime *)opaque)->real;
}

static void count_cb(void *opaque)
{
    (*(int *)opaque)++;
}

/* The three clocks under a fake host time: real-time and host timers
   fire as host time passes, paused or not (and in stepped mode); the
   virtual clock follows monotonic time only while running. */
static void test_clock_types(void)
{
    for (int stepped = 0; stepped < 2; stepped++) {
        FakeTime ft = {5 * HW_NS_PER_SEC, 1700000000LL * HW_NS_PER_SEC};
        HwHostTime ht = {fake_mono, fake_real, &ft};
        HwClock *c = hw_clock_new(stepped);
        int n[HW_CLOCK_TYPES] = {0};
        HwTimer *t[HW_CLOCK_TYPES];

        hw_clock_set_host_time(c, &ht);
        for (int i = 0; i < HW_CLOCK_TYPES; i++) {
            t[i] = hw_timer_new_on(c, i, count_cb, &n[i]);
        }
        g_assert_cmpint(hw_clock_get_ns(c, HW_CLOCK_REALTIME), ==, ft.mono);
        g_assert_cmpint(hw_clock_get_ns(c, HW_CLOCK_HOST), ==, ft.real);
        g_assert_cmpint(hw_clock_get_ns(c, HW_CLOCK_VIRTUAL), ==, 0);
        hw_timer_mod(t[HW_CLOCK_REALTIME], ft.mono + 1000);
        hw_timer_mod(t[HW_CLOCK_HOST], ft.real + 2000);
        hw_timer_mod(t[HW_CLOCK_VIRTUAL], 500);
        g_assert_cmpint(hw_clock_next_deadline(c), ==, 500);
        ft.mono += 1000;
        hw_clock_run_timers(c); /* paused */
        g_assert_cmpint(n[HW_CLOCK_REALTIME], ==, 1);
        g_assert_cmpint(n[HW_CLOCK_HOST], ==, 0);
        ft.real += 2000;
        hw_clock_run_timers(c);
        g_assert_cmpint(n[HW_CLOCK_HOST], ==, 1);
        g_assert_cmpint(n[HW_CLOCK_VIRTUAL], ==, 0);
        g_assert_cmpint(hw_clock_now(c), ==, 0);
        hw_clock_start(c);
        ft.mono += 400;
        hw_clock_run_timers(c);
        g_assert_cmpint(n[HW_CLOCK_VIRTUAL], ==, 0);
        ft.mono += 100;
        hw_clock_step(c, 500); /* stepped: the only way it moves */
        hw_clock_run_timers(c);
        g_assert_cmpint(hw_clock_now(c), ==, 500);
        g_assert_cmpint(n[HW_CLOCK_VIRTUAL], ==, 1);
        for (int i = 0; i < HW_CLOCK_TYPES; i++) {
            hw_timer_free(t[i]);
        }
        hw_clock_free(c);
    }
}

static gboolean flag_set(gpointer opaque)
{
    *(bool *)opaque = true;
    return G_SOURCE_REMOVE;
}

/* The GSource wakes for the earliest deadline across the clocks: host
   and real-time timers a few ms away fire although a virtual timer an
   hour away is pending (10 s guard). */
static void test_source_all_clocks(void)
{
    HwClock *c = hw_clock_new(false);
    GSource *src = hw_clock_source_new(c);
    int n[HW_CLOCK_TYPES] = {0};
    HwTimer *t[HW_CLOCK_TYPES];
    bool expired = false;
    guint guard = g_timeout_add_seconds(10, flag_set, &expired);

    g_source_attach(src, NULL);
    hw_clock_start(c);
    for (int i = 0; i < HW_CLOCK_TYPES; i++) {
        t[i] = hw_timer_new_on(c, i, count_cb, &n[i]);
    }
    hw_timer_mod(t[HW_CLOCK_VIRTUAL], hw_clock_now(c) + 3600 * HW_NS_PER_SEC);
    hw_timer_mod(t[HW_CLOCK_REALTIME],
                 hw_clock_get_ns(c, HW_CLOCK_REALTIME) + 2000000);
    hw_timer_mod(t[HW_CLOCK_HOST], hw_clock_get_ns(c, HW_CLOCK_HOST) + 3000000);
    while (!(n[HW_CLOCK_REALTIME] && n[HW_CLOCK_HOST]) && !expired) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_false(expired);
    g_assert_cmpint(n[HW_CLOCK_VIRTUAL], ==, 0);
    g_source_remove(guard);
    for (int i = 0; i < HW_CLOCK_TYPES; i++) {
        hw_timer_free(t[i]);
    }
    g_source_destroy(src);
    g_source_unref(src);
    hw_clock_free(c);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hw/clock/stepped-timers", test_stepped_timers);
    g_test_add_func("/hw/clock/realtime-pause", test_realtime_pause);
    g_test_add_func("/hw/clock/load-bounds", test_load_bounds);
    g_test_add_func("/hw/clock/dispatch-budget", test_dispatch_budget);
    g_test_add_func("/hw/clock/catchup-cap", test_catchup_cap);
    g_test_add_func("/hw/clock/clock-types", test_clock_types);
    g_test_add_func("/hw/clock/source-all-clocks", test_source_all_clocks);
    return g_test_run();
}
