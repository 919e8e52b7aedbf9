/*
 * MC146818 RTC time-keeping on each clock -rtc clock= selects: the host
 * and real-time clocks (through the clock module, under the system's
 * time and under a fake one), the periodic timer's catch-up cap, and
 * save/load round trips in every REG_B mode (SET freezes the time
 * registers, so the alarm QEMU computes may lie before 0).
 */
#include <time.h>

#include "rtc-fx.h"

/* Host clocks: the date is today's; rt starts from the given base. */
static void test_host_clocks(void)
{
    Fx f;
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    fx_init(&f, RTC_CLOCK_HOST, "utc");
    g_assert_cmpuint(rd(&f, RTC_YEAR), ==,
                     ((tm.tm_year % 100) / 10) << 4 | (tm.tm_year % 10));
    g_assert_cmpuint(rtc_state(f.rtc)->last_update, >, 1500000000 * SEC);
    fx_free(&f);
    fx_init(&f, RTC_CLOCK_RT, "2020-01-01");
    g_assert_cmphex(rd(&f, RTC_YEAR), ==, 0x20);
    g_assert_cmphex(rd(&f, RTC_MONTH), ==, 0x01);
    fx_free(&f);
}

static gboolean flag_set(gpointer opaque)
{
    *(bool *)opaque = true;
    return G_SOURCE_REMOVE;
}

/* Real-time-clock timers fire through the clock's GSource: a periodic
   interrupt arrives while the context runs (10 s guard), the VM paused. */
static void test_host_clock_timer(void)
{
    Fx f;
    bool expired = false;
    guint guard;
    GSource *src;

    fx_init(&f, RTC_CLOCK_RT, "utc");
    hw_clock_stop(f.clock);
    src = hw_clock_source_new(f.clock);
    g_source_attach(src, NULL);
    guard = g_timeout_add_seconds(10, flag_set, &expired);
    wr(&f, RTC_REG_A, 0x23); /* 8192 Hz */
    wr(&f, RTC_REG_B, RTC_REG_B_PIE | RTC_REG_B_24H);
    while (!f.level && !expired) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_false(expired);
    g_assert_cmphex(rd(&f, RTC_REG_C), ==, 0xc0);
    g_source_remove(guard);
    g_source_destroy(src);
    g_source_unref(src);
    fx_free(&f);
}

/* A host time source the test moves by hand. */
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

/* fx_init on a clock whose host time is `ft`. */
static void fx_init_fake(Fx *f, RtcClockKind kind, const char *base,
                         FakeTime *ft)
{
    HwHostTime ht = {fake_mono, fake_real, ft};
    GError *err = NULL;

    memset(f, 0, sizeof(*f));
    f->clock = hw_clock_new(true);
    hw_clock_set_host_time(f->clock, &ht);
    hw_bus_init(&f->bus);
    hw_irq_init(&f->irq, fx_irq, f, RTC_ISA_IRQ);
    f->edges = g_array_new(FALSE, FALSE, sizeof(Edge));
    f->reg = vms_registry_new();
    f->rtc = rtc_new(f->clock, kind, base, &f->irq, &err);
    g_assert_no_error(err);
    g_assert_true(rtc_realize(f->rtc, &f->bus, f->reg, &err));
    g_assert_no_error(err);
    rtc_reset(f->rtc);
}

/* clock=host and clock=rt under a fake host time: the date follows host
   wall time (host) or starts at the base and follows monotonic time
   (rt); the update-ended interrupt comes when that clock crosses a
   second, with the VM paused and the virtual clock standing still. */
static void test_host_clocks_fake_time(void)
{
    static const struct {
        RtcClockKind kind;
        const char *base;
    } cases[] = {{RTC_CLOCK_HOST, "utc"}, {RTC_CLOCK_RT, "2020-01-01"}};
    /* 2020-01-01T00:00:00Z on the wall clock, 77 s after host boot */
    const int64_t wall = 1577836800LL * SEC, mono = 77 * SEC + 250 * MS;

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        FakeTime ft = {mono, wall + 250 * MS};
        int64_t *t = cases[i].kind == RTC_CLOCK_HOST ? &ft.real : &ft.mono;
        Fx f;

        fx_init_fake(&f, cases[i].kind, cases[i].base, &ft);
        g_assert_cmphex(rd(&f, RTC_YEAR), ==, 0x20);
        g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x00);
        wr(&f, RTC_REG_B, RTC_REG_B_UIE | RTC_REG_B_24H);
        hw_clock_run_timers(f.clock);
        g_assert_cmpint(f.level, ==, 0);
        *t += 900 * MS; /* a second after creation: not yet */
        hw_clock_run_timers(f.clock);
        g_assert_cmpint(f.level, ==, 0);
        *t += 100 * MS;
        hw_clock_run_timers(f.clock);
        g_assert_cmpint(f.level, ==, 1);
        g_assert_cmphex(rd(&f, RTC_REG_C), ==, 0x90);
        g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x01);
        *t += 60 * SEC;
        hw_clock_run_timers(f.clock);
        g_assert_cmphex(rd(&f, RTC_MINUTES), ==, 0x01);
        g_assert_cmpint(hw_clock_now(f.clock), ==, 0);
        fx_free(&f);
    }
}

/* After a jump of 50 s (under QEMU's 60 s re-phase on load, but 400000
   periods at 8192 Hz) the periodic timer does not replay every missed
   tick: it re-phases to the time it fires at, and ticks on from there. */
static void test_periodic_catchup_capped(void)
{
    const int64_t jump = 50 * SEC + 40000, end = jump + 1 * MS;
    Fx f;
    uint64_t c;

    fx_vm(&f);
    wr(&f, RTC_REG_A, 0x23); /* 8192 Hz: 4 ticks of 32768 Hz */
    wr(&f, RTC_REG_B, RTC_REG_B_PIE | RTC_REG_B_24H);
    hw_clock_stop(f.clock);
    step(&f, jump); /* paused: nothing fires */
    hw_clock_start(f.clock);
    step(&f, end - jump);
    /* re-phased at `jump`: ticks at jump's tick count + 4k, a grid the
       unbroken one (multiples of 4) does not share */
    c = hw_muldiv64(jump, 32768, SEC) + 4;
    g_assert_cmpuint(c % 4, !=, 0);
    while ((int64_t)hw_muldiv64(c, SEC, 32768) + 1 <= end) {
        c += 4;
    }
    g_assert_cmpint(rtc_state(f.rtc)->next_periodic_time, ==,
                    (int64_t)hw_muldiv64(c, SEC, 32768) + 1);
    fx_free(&f);
}

#define SET_BASE "2024-02-29T23:59:50"

/* Saves `a`, loads that into a fresh RTC whose clock reads the same time
   (the load must succeed), and checks that it saves the same bytes. */
static void round_trip(Fx *a, const char *what, unsigned arg)
{
    VmsLoadOpts lo = {.unknown = VMS_UNKNOWN_REJECT};
    VmsSaveOpts so = {.footers = true};
    g_autoptr(GByteArray) sa = g_byte_array_new();
    g_autoptr(GByteArray) sb = g_byte_array_new();
    GError *err = NULL;
    Fx b;

    g_assert_true(vms_save_all(a->reg, &so, sa, &err));
    fx_init(&b, RTC_CLOCK_VM, "2031-05-05T05:05:05");
    hw_clock_set(b.clock, hw_clock_now(a->clock));
    if (!vms_load_all(b.reg, sa->data, sa->len, &lo, &err)) {
        g_prefix_error(&err, "%s 0x%02x: ", what, arg);
    }
    g_assert_no_error(err);
    g_assert_true(vms_save_all(b.reg, &so, sb, &err));
    g_assert_cmpmem(sa->data, sa->len, sb->data, sb->len);
    fx_free(&b);
}

/* Every REG_B value (SET, PIE, AIE, UIE, SQWE, DM, 24H, DSE) written
   over the BCD time 23:59:50: right after the write, after an update
   cycle, and after REG_C is read. In binary mode the BCD registers read
   as 35:89:80, whose next alarm QEMU puts 45020 s before the update. */
static void test_reg_b_modes_round_trip(void)
{
    Fx f;

    for (unsigned b = 0; b < 256; b++) {
        fx_init(&f, RTC_CLOCK_VM, SET_BASE);
        step(&f, 300 * MS);
        wr(&f, RTC_REG_B, b);
        round_trip(&f, "REG_B written", b);
        step(&f, 1500 * MS);
        round_trip(&f, "REG_B, update cycle", b);
        rd(&f, RTC_REG_C);
        step(&f, 400 * MS);
        round_trip(&f, "REG_B, REG_C read", b);
        fx_free(&f);
    }
}

/* Under SET the guest may leave anything in the time registers: the
   extremes of QEMU's next-alarm arithmetic still save and load. Hours
   0xff ("don't care", hour 255 in QEMU), minutes and seconds 0xbf,
   alarm 00:00:00: the farthest behind; in 12-hour mode too; and the
   farthest ahead while running (alarm 23:191:191 from 00:00:00). */
static void test_alarm_extremes_round_trip(void)
{
    static const uint8_t modes[] = {0x86, 0x84, 0x82, 0x80};
    static const uint8_t hours[] = {0xff, 0xc0, 0xbf, 0x00};
    Fx f;

    for (unsigned i = 0; i < G_N_ELEMENTS(modes); i++) {
        for (unsigned h = 0; h < G_N_ELEMENTS(hours); h++) {
            fx_init(&f, RTC_CLOCK_VM, SET_BASE);
            wr(&f, RTC_REG_B, modes[i]);
            wr(&f, RTC_HOURS, hours[h]);
            wr(&f, RTC_MINUTES, 0xbf);
            wr(&f, RTC_SECONDS, 0xbf);
            wr(&f, RTC_HOURS_ALARM, 0x00);
            wr(&f, RTC_MINUTES_ALARM, 0x00);
            wr(&f, RTC_SECONDS_ALARM, 0x00);
            round_trip(&f, "SET, hours", hours[h]);
            step(&f, 1200 * MS);
            round_trip(&f, "SET + update, hours", hours[h]);
            fx_free(&f);
        }
    }
    fx_init(&f, RTC_CLOCK_VM, "2024-02-29T00:00:00");
    wr(&f, RTC_REG_B, 0x06);
    wr(&f, RTC_HOURS_ALARM, 23);
    wr(&f, RTC_MINUTES_ALARM, 0xbf);
    wr(&f, RTC_SECONDS_ALARM, 0xbf);
    step(&f, 1500 * MS);
    g_assert_cmpint(rtc_state(f.rtc)->update_timer, ==, 94451 * SEC);
    round_trip(&f, "far alarm", 0xbf);
    fx_free(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rtc/host-clocks", test_host_clocks);
    g_test_add_func("/rtc/host-clock-timer", test_host_clock_timer);
    g_test_add_func("/rtc/host-clocks-fake-time", test_host_clocks_fake_time);
    g_test_add_func("/rtc/periodic-catchup-capped",
                    test_periodic_catchup_capped);
    g_test_add_func("/rtc/reg-b-modes-round-trip", test_reg_b_modes_round_trip);
    g_test_add_func("/rtc/alarm-extremes-round-trip",
                    test_alarm_extremes_round_trip);
    return g_test_run();
}
