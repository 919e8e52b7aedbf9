/*
 * MC146818 RTC: driven through ports 0x70/0x71 as a guest would, on a
 * stepped virtual clock, with IRQ 8 edges recorded at their virtual times.
 * Golden bytes come from QEMU 7.2 (-machine pc -accel qtest -nodefaults
 * -rtc base=2020-01-01T00:00:00,clock=vm) after the same port sequence.
 */
#include <time.h>

#include "rtc-fx.h"

/* The mc146818rtc section payload (245 bytes + any subsection). */
static GByteArray *payload(Fx *f)
{
    GByteArray *out = g_byte_array_new(), *pl = g_byte_array_new();
    VmsSaveOpts so = {.footers = true};
    GError *err = NULL;
    guint i, end;

    g_assert_true(vms_save_all(f->reg, &so, out, &err));
    g_assert_no_error(err);
    for (i = 0; i + 12 < out->len; i++) {
        if (!memcmp(out->data + i, "\x0bmc146818rtc", 12)) {
            i += 12 + 8;
            for (end = i + 245; end < out->len && out->data[end] != 0x7e;
                 end++) {
            }
            g_byte_array_append(pl, out->data + i, end - i);
            break;
        }
    }
    g_byte_array_free(out, TRUE);
    g_assert_cmpuint(pl->len, >=, 245);
    return pl;
}

static void assert_payload_hex(Fx *f, const char *hex)
{
    GByteArray *pl = payload(f);
    GString *s = g_string_new(NULL);
    guint i;

    for (i = 0; i < pl->len; i++) {
        g_string_append_printf(s, "%02x", pl->data[i]);
    }
    g_assert_cmpstr(s->str, ==, hex);
    g_string_free(s, TRUE);
    g_byte_array_free(pl, TRUE);
}

#define CMOS_PC_128M                                                           \
    "0000000000000401012026020080000000000000068002ffff0000000000000000"       \
    "000000000000000000000000000000ffff2000000700003000000000120000000000"     \
    "0000000000000000000000000000000000000000000000000000000000000000000000"   \
    "0000000000000000000000000000000000000000000000000000"

static void test_power_on(void)
{
    Fx f;

    fx_vm(&f);
    g_assert_cmphex(rd(&f, RTC_REG_A), ==, 0x26);
    g_assert_cmphex(rd(&f, RTC_REG_B), ==, 0x02);
    g_assert_cmphex(rd(&f, RTC_REG_C), ==, 0x00);
    g_assert_cmphex(rd(&f, RTC_REG_D), ==, 0x80);
    g_assert_cmphex(rd(&f, RTC_DAY_OF_WEEK), ==, 4); /* Wednesday */
    g_assert_cmphex(rd(&f, RTC_YEAR), ==, 0x20);
    g_assert_cmphex(rd(&f, RTC_IBM_PS2_CENTURY_BYTE), ==, 0x20);
    g_assert_cmphex(hw_bus_in(&f.bus, 0x70, 1), ==, 0xff);
    /* bit 7 of the index is the NMI mask */
    g_assert_cmphex(rd(&f, 0x80 | 0x14), ==, 0x06);
    wr(&f, RTC_REG_D, 0);
    wr(&f, RTC_REG_C, 0xff);
    g_assert_cmphex(rd(&f, RTC_REG_D), ==, 0x80);
    g_assert_cmphex(rd(&f, RTC_REG_C), ==, 0x00);
    wr(&f, 0x40, 0xa5);
    g_assert_cmphex(rd(&f, 0x40), ==, 0xa5);
    wr(&f, 0x40, 0);
    wr(&f, 0, 0); /* back to index 0, as QEMU's untouched state */
    assert_payload_hex(
        &f, CMOS_PC_128M
        "00"
        "00000000000000000000000000000000000000000000000000000000"
        "ffffffffffffffff0000000000000000"
        "000000000000000000000000000000000000000000000000"
        "0000000000000000000000005e0be1000000000000000000000000000000000000"
        "0000003b9aca0000004e94914f0000");
    fx_free(&f);
}

static void test_time_modes(void)
{
    Fx f;

    fx_vm(&f);
    step(&f, 61 * SEC + 500 * MS);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x01);
    g_assert_cmphex(rd(&f, RTC_MINUTES), ==, 0x01);
    wr(&f, RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_DM); /* binary */
    step(&f, 10 * SEC);
    g_assert_cmpuint(rd(&f, RTC_SECONDS), ==, 11);
    /* SET stops updates; the written time runs once SET clears */
    wr(&f, RTC_REG_B, RTC_REG_B_SET | RTC_REG_B_24H | RTC_REG_B_DM);
    wr(&f, RTC_HOURS, 13);
    wr(&f, RTC_MINUTES, 59);
    wr(&f, RTC_SECONDS, 58);
    step(&f, 3 * SEC);
    g_assert_cmpuint(rd(&f, RTC_SECONDS), ==, 58);
    wr(&f, RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_DM);
    step(&f, 2 * SEC);
    g_assert_cmpuint(rd(&f, RTC_SECONDS), ==, 0);
    g_assert_cmpuint(rd(&f, RTC_MINUTES), ==, 0);
    g_assert_cmpuint(rd(&f, RTC_HOURS), ==, 14);
    /* 12-hour BCD: 2 PM reads 0x82 */
    wr(&f, RTC_REG_B, 0);
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 0x82);
    /* divider reset stops the clock; restart delays the update by 0.5 s */
    wr(&f, RTC_REG_A, 0x76);
    step(&f, 5 * SEC);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x00);
    wr(&f, RTC_REG_A, 0x26);
    step(&f, 400 * MS);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x00);
    step(&f, 200 * MS);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x01);
    fx_free(&f);
}

static void test_uip(void)
{
    Fx f;

    fx_vm(&f);
    step(&f, 999700 * 1000LL);
    g_assert_cmphex(rd(&f, RTC_REG_A), ==, 0x26);
    step(&f, 200 * 1000LL); /* inside the last 244 us */
    g_assert_cmphex(rd(&f, RTC_REG_A), ==, 0xa6);
    step(&f, 200 * 1000LL); /* update done */
    g_assert_cmphex(rd(&f, RTC_REG_A), ==, 0x26);
    /* SET: no update in progress */
    wr(&f, RTC_REG_B, RTC_REG_B_SET | RTC_REG_B_24H);
    step(&f, 999 * MS);
    g_assert_cmphex(rd(&f, RTC_REG_A), ==, 0x26);
    fx_free(&f);
}

static void test_update_and_alarm_irq(void)
{
    Fx f;

    fx_vm(&f);
    wr(&f, RTC_REG_B, RTC_REG_B_UIE | RTC_REG_B_24H);
    step(&f, 1500 * MS);
    g_assert_cmpuint(f.edges->len, ==, 1);
    g_assert_cmpint(g_array_index(f.edges, Edge, 0).t, ==, 1 * SEC);
    g_assert_cmpint(g_array_index(f.edges, Edge, 0).level, ==, 1);
    g_assert_cmphex(rd(&f, RTC_REG_C), ==, 0x90);
    g_assert_cmpint(f.level, ==, 0);
    g_assert_cmphex(rd(&f, RTC_REG_C), ==, 0x00);
    /* alarm at 00:00:05, AIE only */
    wr(&f, RTC_REG_B, RTC_REG_B_AIE | RTC_REG_B_24H);
    wr(&f, RTC_SECONDS_ALARM, 0x05);
    wr(&f, RTC_MINUTES_ALARM, 0x00);
    wr(&f, RTC_HOURS_ALARM, 0x00);
    g_array_set_size(f.edges, 0);
    step(&f, 4 * SEC);
    g_assert_cmpuint(f.edges->len, ==, 1);
    g_assert_cmpint(g_array_index(f.edges, Edge, 0).t, ==, 5 * SEC);
    g_assert_cmphex(rd(&f, RTC_REG_C) & 0xa0, ==, 0xa0);
    /* all "don't care": every second */
    wr(&f, RTC_SECONDS_ALARM, 0xc0);
    wr(&f, RTC_MINUTES_ALARM, 0xff);
    wr(&f, RTC_HOURS_ALARM, 0xc5);
    g_array_set_size(f.edges, 0);
    step(&f, 1 * SEC);
    g_assert_cmpuint(f.edges->len, ==, 1);
    g_assert_cmpint(g_array_index(f.edges, Edge, 0).t, ==, 6 * SEC);
    g_assert_cmphex(rd(&f, RTC_REG_C), ==, 0xb0);
    /* a flag pending when its enable is set interrupts at once */
    step(&f, 1 * SEC);
    wr(&f, RTC_REG_B, RTC_REG_B_UIE | RTC_REG_B_24H);
    g_assert_cmpint(f.level, ==, 1);
    g_assert_cmphex(rd(&f, RTC_REG_C), ==, 0xb0);
    fx_free(&f);
}

static void test_periodic(void)
{
    Fx f;
    guint i;

    fx_vm(&f);
    wr(&f, RTC_REG_A, 0x26); /* 1024 Hz: 32 ticks, 976562.5 ns */
    wr(&f, RTC_REG_B, RTC_REG_B_PIE | RTC_REG_B_24H);
    for (i = 0; i < 3; i++) {
        step(&f, 1 * MS);
        g_assert_cmphex(rd(&f, RTC_REG_C), ==, 0xc0);
    }
    g_assert_cmpuint(f.edges->len, ==, 6);
    g_assert_cmpint(g_array_index(f.edges, Edge, 0).t, ==, 976563);
    g_assert_cmpint(g_array_index(f.edges, Edge, 2).t, ==, 1953126);
    g_assert_cmpint(g_array_index(f.edges, Edge, 4).t, ==, 2929688);
    /* rate 1 acts as rate 8 (256 Hz) */
    wr(&f, RTC_REG_A, 0x21);
    g_assert_cmpuint(rtc_state(f.rtc)->period, ==, 128);
    /* without PIE the flag is set, IRQF is not */
    wr(&f, RTC_REG_B, RTC_REG_B_24H);
    wr(&f, RTC_REG_B, RTC_REG_B_PIE | RTC_REG_B_24H);
    wr(&f, RTC_REG_B, RTC_REG_B_24H);
    g_assert_cmpuint(rtc_state(f.rtc)->period, ==, 0);
    g_assert_cmpint(rtc_state(f.rtc)->periodic_timer, ==, -1);
    fx_free(&f);
}

static void test_system_reset(void)
{
    Fx f;

    fx_vm(&f);
    wr(&f, 0x0f, 0x12);
    wr(&f, 0x12, 0x55);
    wr(&f, RTC_REG_B, 0x7a);
    g_assert_cmpint(f.level, ==, 0);
    step(&f, 2 * SEC);
    g_assert_cmpint(f.level, ==, 1);
    rtc_reset(f.rtc);
    g_assert_cmpint(f.level, ==, 0);
    g_assert_cmphex(rd(&f, 0x0f), ==, 0x00);
    g_assert_cmphex(rd(&f, 0x12), ==, 0x55); /* not re-initialised */
    g_assert_cmphex(rd(&f, RTC_REG_B), ==, 0x12);
    g_assert_cmphex(rd(&f, RTC_REG_C), ==, 0x00);
    wr(&f, 0x0f, 0xfe); /* S3 resume marker survives */
    rtc_reset(f.rtc);
    g_assert_cmphex(rd(&f, 0x0f), ==, 0xfe);
    fx_free(&f);
}

static void test_cmos_pc(void)
{
    Fx f;
    GError *err = NULL;

    fx_vm(&f);
    g_assert_cmphex(rd(&f, 0x3d), ==, 0x12);
    g_assert_cmphex(rd(&f, 0x38), ==, 0x30);
    g_assert_false(rtc_cmos_set_boot_order(f.rtc, "x", true, &err));
    g_assert_cmpstr(err->message, ==, "Invalid boot device 'x'");
    g_clear_error(&err);
    g_assert_false(rtc_cmos_set_boot_order(f.rtc, "cc", true, &err));
    g_assert_cmpstr(err->message, ==, "Boot device 'c' was given twice");
    g_clear_error(&err);
    g_assert_false(rtc_cmos_set_boot_order(f.rtc, "abcd", true, &err));
    g_assert_cmpstr(err->message, ==, "Too many boot devices for PC");
    g_clear_error(&err);
    g_assert_false(rtc_cmos_set_boot_order(f.rtc, "e", true, &err));
    g_assert_cmpstr(err->message, ==, "Invalid boot device for PC: 'e'");
    g_clear_error(&err);
    g_assert_cmphex(rd(&f, 0x3d), ==, 0x12);
    /* boot once: until the next reset */
    g_assert_true(rtc_cmos_boot_once(f.rtc, "nd", false, &err));
    g_assert_cmphex(rd(&f, 0x3d), ==, 0x34);
    g_assert_cmphex(rd(&f, 0x38), ==, 0x01);
    rtc_reset(f.rtc);
    g_assert_cmphex(rd(&f, 0x3d), ==, 0x12);
    g_assert_cmphex(rd(&f, 0x38), ==, 0x30);
    /* 4 GiB: split at 3 GiB, 1 GiB above 4G */
    g_assert_true(rtc_cmos_init_pc(f.rtc, "d", false, 4ULL << 30, &err));
    g_assert_cmphex(rd(&f, 0x34), ==, 0x00);
    g_assert_cmphex(rd(&f, 0x35), ==, 0xbf);
    g_assert_cmphex(rd(&f, 0x5b), ==, 0x00);
    g_assert_cmphex(rd(&f, 0x5c), ==, 0x40);
    g_assert_cmphex(rd(&f, 0x5d), ==, 0x00);
    g_assert_cmphex(rd(&f, 0x3d), ==, 0x03);
    g_assert_cmphex(rd(&f, 0x38), ==, 0x01);
    fx_free(&f);
}

static void test_base_parsing(void)
{
    HwClock *c = hw_clock_new(true);
    GError *err = NULL;
    RtcDevice *d;

    d = rtc_new(c, RTC_CLOCK_VM, "yesterday", NULL, &err);
    g_assert_null(d);
    g_assert_true(g_str_has_prefix(err->message, "invalid datetime format"));
    g_clear_error(&err);
    d = rtc_new(c, RTC_CLOCK_VM, "2006-06-17", NULL, &err);
    g_assert_nonnull(d);
    g_assert_cmpuint(rtc_state(d)->base_rtc, ==, 1150502400);
    g_assert_cmphex(rtc_cmos_get(d, RTC_DAY_OF_MONTH), ==, 0x17);
    rtc_free(d);
    g_assert_false(rtc_clock_parse("wall", &(RtcClockKind){0}, &err));
    g_assert_cmpstr(err->message, ==, "invalid option value 'wall'");
    g_clear_error(&err);
    hw_clock_free(c);
}

/* QEMU's bytes after: rate 12, PIE|AIE, alarm second 7, 3.3 s, read
   REG_C, 1.234567 ms more, index 0x21. */
static void golden_seq(Fx *f)
{
    wr(f, RTC_REG_A, 0x2c);
    wr(f, RTC_REG_B, 0x62);
    wr(f, RTC_SECONDS_ALARM, 0x07);
    step(f, 3300 * MS);
    rd(f, RTC_REG_C);
    step(f, 1234567);
    hw_bus_out(&f->bus, 0x70, 0x21, 1);
}

static void test_golden_mid_operation(void)
{
    Fx f;

    fx_vm(&f);
    golden_seq(&f);
    assert_payload_hex(
        &f, "030700000000040101202c620080000000000000068002ffff00000000000000"
            "00000000000000000000000000000000ffff2000000700003000000000120000"
            "0000000000000000000000000000000000000000000000000000000000000000"
            "0000000000000000000000000000000000000000000000000000000000000000"
            "2100000000000000000000000000000000000000000000000000000000000000"
            "00c570bd2100000000c570bd2100000000000000000000000000000000000000"
            "00000000000000000000000800000000005e0be1000000000000000000000000"
            "000000000000000000ee6b280000000001a13b8600");
    fx_free(&f);
}

/* The same further guest sequence on A and on B (loaded from A). */
static void drive(Fx *f, GString *log)
{
    int i;

    for (i = 0; i < 6; i++) {
        step(f, 333 * MS);
        g_string_append_printf(log, "%02x %02x %02x %02x|", rd(f, RTC_REG_A),
                               rd(f, RTC_REG_C), rd(f, RTC_SECONDS),
                               rd(f, 0x21));
    }
    wr(f, RTC_REG_A, 0x2f);
    step(f, 2 * SEC);
    g_string_append_printf(log, "%02x", rd(f, RTC_REG_C));
}

static void edges_str(Fx *f, GString *s)
{
    guint i;

    for (i = 0; i < f->edges->len; i++) {
        g_string_append_printf(s, "%" G_GINT64_FORMAT ":%d ",
                               g_array_index(f->edges, Edge, i).t,
                               g_array_index(f->edges, Edge, i).level);
    }
}

static GByteArray *save_all(Fx *f)
{
    GByteArray *out = g_byte_array_new();
    VmsSaveOpts so = {.footers = true};
    GError *err = NULL;

    g_assert_true(vms_save_all(f->reg, &so, out, &err));
    g_assert_no_error(err);
    return out;
}

static void test_snapshot_round_trip(void)
{
    Fx a, b;
    VmsLoadOpts lo = {.unknown = VMS_UNKNOWN_REJECT};
    GError *err = NULL;
    GByteArray *st;
    GString *la = g_string_new(NULL), *lb = g_string_new(NULL);
    GString *ea = g_string_new(NULL), *eb = g_string_new(NULL);

    fx_vm(&a);
    fx_init(&b, RTC_CLOCK_VM, "2031-05-05T05:05:05");
    golden_seq(&a);
    wr(&a, 0x21, 0x99);
    hw_clock_set(b.clock, hw_clock_now(a.clock));
    st = save_all(&a);
    g_assert_true(vms_load_all(b.reg, st->data, st->len, &lo, &err));
    g_assert_no_error(err);
    g_array_set_size(a.edges, 0);
    g_array_set_size(b.edges, 0);
    b.level = a.level;
    drive(&a, la);
    drive(&b, lb);
    g_assert_cmpstr(la->str, ==, lb->str);
    edges_str(&a, ea);
    edges_str(&b, eb);
    g_assert_cmpstr(ea->str, ==, eb->str);
    g_assert_cmpuint(a.edges->len, >, 4);
    g_byte_array_free(st, TRUE);
    g_string_free(la, TRUE);
    g_string_free(lb, TRUE);
    g_string_free(ea, TRUE);
    g_string_free(eb, TRUE);
    fx_free(&a);
    fx_free(&b);
}

/* Offset of the rtc payload in a whole stream. */
static guint find_payload(GByteArray *st)
{
    guint i;

    for (i = 0; i + 12 < st->len; i++) {
        if (!memcmp(st->data + i, "\x0bmc146818rtc", 12)) {
            return i + 12 + 8;
        }
    }
    g_assert_not_reached();
    return 0;
}

static void expect_load_fails(GByteArray *st, guint at, uint8_t val,
                              const char *what)
{
    Fx b;
    VmsLoadOpts lo = {.unknown = VMS_UNKNOWN_REJECT};
    GError *err = NULL;
    RtcState before;
    uint8_t saved = st->data[at];

    fx_init(&b, RTC_CLOCK_VM, "2031-05-05T05:05:05");
    step(&b, 5 * SEC);
    before = *rtc_state(b.rtc);
    st->data[at] = val;
    g_assert_false(vms_load_all(b.reg, st->data, st->len, &lo, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, what));
    g_clear_error(&err);
    st->data[at] = saved;
    g_assert_cmpmem(&before, sizeof(before), rtc_state(b.rtc), sizeof(before));
    fx_free(&b);
}

static void test_bad_stream(void)
{
    Fx a;
    GByteArray *st;
    guint p;

    fx_vm(&a);
    golden_seq(&a);
    st = save_all(&a);
    p = find_payload(st);
    expect_load_fails(st, p + 128, 0x80, "cmos_index");
    /* period 0x800 (rate 12) → 0x801 */
    expect_load_fails(st, p + 204, 0x01, "period");
    /* divider reset with an update pending */
    expect_load_fails(st, p + RTC_REG_A, 0x6c, "update_timer");
    /* time fields past the bounds of hw/clock.h, or negative (the top
       byte of each big-endian int64) */
    expect_load_fails(st, p + 157, 0x7f, "field 'periodic_timer': ");
    expect_load_fails(st, p + 165, 0xff, "field 'next_periodic_time': ");
    expect_load_fails(st, p + 213, 0x41, "field 'last_update': ");
    expect_load_fails(st, p + 221, 0x80, "field 'offset': ");
    expect_load_fails(st, p + 229, 0x41, "field 'update_timer': ");
    expect_load_fails(st, p + 237, 0x41, "field 'next_alarm_time': ");
    /* before 0 by far more than any alarm (RTC_MAX_ALARM_BEHIND_NS) */
    expect_load_fails(st, p + 237, 0xff, "field 'next_alarm_time': ");
    g_byte_array_free(st, TRUE);
    fx_free(&a);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rtc/power-on", test_power_on);
    g_test_add_func("/rtc/time-modes", test_time_modes);
    g_test_add_func("/rtc/uip", test_uip);
    g_test_add_func("/rtc/update-alarm-irq", test_update_and_alarm_irq);
    g_test_add_func("/rtc/periodic", test_periodic);
    g_test_add_func("/rtc/system-reset", test_system_reset);
    g_test_add_func("/rtc/cmos-pc", test_cmos_pc);
    g_test_add_func("/rtc/base-parsing", test_base_parsing);
    g_test_add_func("/rtc/golden-mid-operation", test_golden_mid_operation);
    g_test_add_func("/rtc/snapshot-round-trip", test_snapshot_round_trip);
    g_test_add_func("/rtc/bad-stream", test_bad_stream);
    return g_test_run();
}
