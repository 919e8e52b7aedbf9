/* i8254 PIT driven through ports 0x40-0x43 under a stepped virtual clock.
   Every time and value asserted here was checked against QEMU 7.2 under
   -accel qtest (IRQ 0 edges bracketed to the nanosecond), including
   QEMU's muldiv64 rounding quirks (e.g. the mode 3 edge one ns late). */
#include "hw/pit.h"
#include "hw-rig.h"

#include <string.h>

typedef struct Fix {
    HwRig rig;
    PitDevice *pit;
} Fix;

static void fix_init(Fix *f)
{
    GError *err = NULL;

    hw_rig_init(&f->rig);
    f->pit = pit_new(f->rig.clock, &f->rig.irq);
    g_assert_true(pit_realize(f->pit, &f->rig.bus, f->rig.reg, &err));
    g_assert_no_error(err);
}

static void fix_free(Fix *f)
{
    pit_free(f->pit);
    hw_rig_free(&f->rig);
}

static void outb(Fix *f, uint16_t port, uint8_t v)
{
    hw_rig_outb(&f->rig, port, v);
}

static uint8_t inb(Fix *f, uint16_t port)
{
    return hw_rig_inb(&f->rig, port);
}

static void assert_events(Fix *f, const int64_t *ev, unsigned n)
{
    g_assert_cmpuint(f->rig.rec.ev->len, ==, 2 * n);
    for (unsigned i = 0; i < 2 * n; i++) {
        g_assert_cmpint(g_array_index(f->rig.rec.ev, int64_t, i), ==, ev[i]);
    }
    g_array_set_size(f->rig.rec.ev, 0);
}

static void test_reset_mode3(void)
{
    Fix f;
    static const int64_t ev[] = {27462700, 1, 27462701, 0, 54925402, 1};

    fix_init(&f);
    g_assert_cmphex(inb(&f, 0x40), ==, 0);
    g_assert_cmphex(inb(&f, 0x43), ==, 0);
    g_assert_cmpint(f.pit->s.channels[0].next_transition_time, ==, 27462700);
    /* reset does not drive the line; the first timer does */
    g_assert_cmpuint(f.rig.rec.ev->len, ==, 0);
    hw_clock_set(f.rig.clock, 54925403);
    assert_events(&f, ev, 3);
    g_assert_cmpint(f.pit->s.channels[0].next_transition_time, ==, 82388101);
    outb(&f, 0x43, 0xc2); /* read-back: count + status of channel 0 */
    g_assert_cmphex(inb(&f, 0x40), ==, 0x86);
    g_assert_cmpint(pit_get_gate(f.pit, 2), ==, 0);
    g_assert_cmpint(pit_get_gate(f.pit, 1), ==, 1);
    fix_free(&f);
}

static void test_mode0_mode4(void)
{
    Fix f;
    static const int64_t ev1[] = {27462700, 1, 27462701, 0};
    static const int64_t ev2[] = {55010049, 1, 55010887, 0};

    fix_init(&f);
    hw_clock_set(f.rig.clock, 54925401);
    assert_events(&f, ev1, 2);
    outb(&f, 0x43, 0x30); /* ch0, LSB+MSB, mode 0 */
    outb(&f, 0x40, 0xe8);
    outb(&f, 0x40, 0x03);
    hw_clock_step(f.rig.clock, 838);
    g_assert_cmphex(inb(&f, 0x40), ==, 0xe8);
    g_assert_cmphex(inb(&f, 0x40), ==, 0x03);
    outb(&f, 0x43, 0x38); /* mode 4: software strobe */
    outb(&f, 0x40, 0x64);
    outb(&f, 0x40, 0x00);
    hw_clock_set(f.rig.clock, 55010888);
    assert_events(&f, ev2, 2);
    g_assert_cmpint(f.pit->s.channels[0].next_transition_time, ==, -1);
    /* mode 0: the terminal count raises OUT and it stays high */
    outb(&f, 0x43, 0x30);
    outb(&f, 0x40, 0x10);
    g_assert_cmpuint(f.rig.rec.ev->len, ==, 0);
    outb(&f, 0x40, 0x00); /* count 16 = 13409 ns */
    hw_clock_step(f.rig.clock, 20000);
    g_assert_cmpuint(f.rig.rec.ev->len, ==, 2);
    g_assert_cmpint(g_array_index(f.rig.rec.ev, int64_t, 0), ==,
                    55010888 + 13410);
    g_assert_cmpint(f.rig.rec.level, ==, 1);
    fix_free(&f);
}

static void test_mode2_latch_readback(void)
{
    Fix f;
    static const int64_t ev[] = {56000000, 0, 56084647, 1,
                                 56167619, 0, 56168457, 1};

    fix_init(&f);
    hw_clock_set(f.rig.clock, 56000000); /* line high after the mode 3 edge */
    g_array_set_size(f.rig.rec.ev, 0);
    outb(&f, 0x43, 0x34); /* ch0, word, mode 2 */
    outb(&f, 0x40, 0x64);
    outb(&f, 0x40, 0x00);
    hw_clock_step(f.rig.clock, 84800);
    g_assert_cmphex(inb(&f, 0x40), ==, 0x63);
    g_assert_cmphex(inb(&f, 0x40), ==, 0x00);
    hw_clock_step(f.rig.clock, 83800);
    assert_events(&f, ev, 4);
    /* counter latch holds the value across later reads */
    outb(&f, 0x43, 0x00);
    hw_clock_step(f.rig.clock, 5000);
    outb(&f, 0x43, 0x00); /* a second latch does not overwrite */
    g_assert_cmphex(inb(&f, 0x40), ==, 0x63);
    g_assert_cmphex(inb(&f, 0x40), ==, 0x00);
    g_assert_cmphex(inb(&f, 0x40), ==, 0x5d); /* live LSB */
    /* read-back of status only; the live read goes on with the MSB */
    outb(&f, 0x43, 0xe2);
    g_assert_cmphex(inb(&f, 0x40), ==, 0x34);
    g_assert_cmphex(inb(&f, 0x40), ==, 0x00);
    fix_free(&f);
}

static void test_access_modes_bcd(void)
{
    Fix f;

    fix_init(&f);
    outb(&f, 0x43, 0x51); /* ch1, LSB only, mode 0, BCD */
    outb(&f, 0x41, 0x20);
    g_assert_cmphex(inb(&f, 0x41), ==, 0x20);
    g_assert_cmphex(inb(&f, 0x41), ==, 0x20);
    g_assert_cmpint(f.pit->s.channels[1].count, ==, 0x20);
    outb(&f, 0x43, 0x64); /* ch1, MSB only, mode 2 */
    outb(&f, 0x41, 0x12);
    g_assert_cmpint(f.pit->s.channels[1].count, ==, 0x1200);
    g_assert_cmphex(inb(&f, 0x41), ==, 0x12);
    outb(&f, 0x43, 0xe4); /* read-back status of ch1 */
    outb(&f, 0x43, 0xe4); /* already latched: kept */
    g_assert_cmphex(inb(&f, 0x41), ==, 0x24);
    g_assert_cmphex(inb(&f, 0x41), ==, 0x12);
    outb(&f, 0x43, 0x53); /* LSB only, mode 1, BCD */
    outb(&f, 0x43, 0xe4);
    g_assert_cmphex(inb(&f, 0x41), ==, 0x93);
    hw_clock_step(f.rig.clock, 100000);
    outb(&f, 0x43, 0xd4); /* read-back count of ch1 */
    g_assert_cmphex(inb(&f, 0x41), ==, 0x89);
    g_assert_cmphex(inb(&f, 0x41), ==, 0x89);
    /* channel 1 has no IRQ and no timer side effects */
    g_assert_cmpint(f.pit->s.channels[1].next_transition_time, ==, 0);
    fix_free(&f);
}

static void test_gate(void)
{
    Fix f;

    fix_init(&f);
    outb(&f, 0x43, 0xb2); /* ch2, word, mode 1 (one-shot on gate) */
    outb(&f, 0x42, 0x10);
    outb(&f, 0x42, 0x00);
    hw_clock_step(f.rig.clock, 100000);
    g_assert_cmpint(pit_get_out(f.pit, 2, hw_clock_now(f.rig.clock)), ==, 0);
    pit_set_gate(f.pit, 2, 1); /* rising edge retriggers */
    g_assert_cmpint(f.pit->s.channels[2].count_load_time, ==, 100000);
    g_assert_cmpint(pit_get_out(f.pit, 2, 100000), ==, 1);
    g_assert_cmpint(pit_get_out(f.pit, 2, 100000 + 13410), ==, 0);
    pit_set_gate(f.pit, 2, 1); /* no edge: no restart */
    hw_clock_step(f.rig.clock, 10);
    pit_set_gate(f.pit, 2, 1);
    g_assert_cmpint(f.pit->s.channels[2].count_load_time, ==, 100000);
    fix_free(&f);
}

static void drive_more(Fix *f, GArray *reads)
{
    for (int i = 0; i < 4; i++) {
        uint8_t v;

        hw_clock_step(f->rig.clock, 3000000);
        outb(f, 0x43, 0xc6); /* read-back count+status ch0, ch1 */
        v = inb(f, 0x40);
        g_array_append_val(reads, v);
        v = inb(f, 0x40);
        g_array_append_val(reads, v);
        v = inb(f, 0x41);
        g_array_append_val(reads, v);
        v = inb(f, 0x42);
        g_array_append_val(reads, v);
    }
}

static size_t pit_payload(const GByteArray *b)
{
    for (size_t i = 0; i + 14 <= b->len; i++) {
        if (b->data[i] == 5 && memcmp(b->data + i + 1, "i8254", 5) == 0) {
            return i + 14;
        }
    }
    g_assert_not_reached();
}

static void test_snapshot(void)
{
    Fix a, b;
    GByteArray *buf = g_byte_array_new();
    VmsSaveOpts so = {.footers = true};
    VmsLoadOpts lo = {.unknown = VMS_UNKNOWN_REJECT};
    GError *err = NULL;
    GArray *ra = g_array_new(FALSE, FALSE, 1),
           *rb = g_array_new(FALSE, FALSE, 1);
    PitState before;
    size_t p;

    fix_init(&a);
    fix_init(&b);
    hw_clock_set(a.rig.clock, 1000000);
    outb(&a, 0x43, 0x34);
    outb(&a, 0x40, 0x9c);
    outb(&a, 0x40, 0x2e); /* 11932: ~10 ms */
    outb(&a, 0x43, 0x70); /* ch1 word mode 0, half written */
    outb(&a, 0x41, 0x55);
    outb(&a, 0x43, 0xb6);
    outb(&a, 0x42, 0x00);
    outb(&a, 0x42, 0x10);
    hw_clock_step(a.rig.clock, 2500000);
    outb(&a, 0x43, 0x80); /* ch2 count latched, unread */
    g_assert_true(vms_save_all(a.rig.reg, &so, buf, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(buf->len, >=, pit_payload(buf) + 108);
    hw_clock_set(b.rig.clock, hw_clock_now(a.rig.clock));
    g_assert_true(vms_load_all(b.rig.reg, buf->data, buf->len, &lo, &err));
    g_assert_no_error(err);
    g_assert_cmpmem(&a.pit->s, sizeof(PitState), &b.pit->s, sizeof(PitState));
    g_array_set_size(a.rig.rec.ev, 0);
    g_array_set_size(b.rig.rec.ev, 0);
    drive_more(&a, ra);
    drive_more(&b, rb);
    g_assert_cmpmem(ra->data, ra->len, rb->data, rb->len);
    g_assert_cmpuint(a.rig.rec.ev->len, >, 0);
    g_assert_cmpmem(a.rig.rec.ev->data, a.rig.rec.ev->len * 8,
                    b.rig.rec.ev->data, b.rig.rec.ev->len * 8);

    /* channel 1 mode 9, then count 0: each fails; B is untouched */
    before = b.pit->s;
    p = pit_payload(buf);
    buf->data[p + 4 + 32 + 6 + 7] = 9;
    g_assert_false(vms_load_all(b.rig.reg, buf->data, buf->len, &lo, &err));
    g_assert_nonnull(strstr(err->message, "mode"));
    g_clear_error(&err);
    buf->data[p + 4 + 32 + 6 + 7] = 0;
    memset(buf->data + p + 4 + 64, 0, 4);
    g_assert_false(vms_load_all(b.rig.reg, buf->data, buf->len, &lo, &err));
    g_assert_nonnull(strstr(err->message, "count"));
    g_clear_error(&err);
    g_assert_cmpmem(&before, sizeof(before), &b.pit->s, sizeof(PitState));

    g_array_free(ra, TRUE);
    g_array_free(rb, TRUE);
    g_byte_array_free(buf, TRUE);
    fix_free(&a);
    fix_free(&b);
}

/* A stream of the rig (`timer` + `i8254`) with one int64 replaced:
   `off` from the start of the i8254 payload, or -1 for the clock. */
static GByteArray *hostile_stream(Fix *f, long off, int64_t val)
{
    GByteArray *buf = g_byte_array_new();
    VmsSaveOpts so = {.footers = true};
    size_t at = 0;

    g_assert_true(vms_save_all(f->rig.reg, &so, buf, NULL));
    if (off >= 0) {
        at = pit_payload(buf) + (size_t)off;
    } else {
        for (size_t i = 0; i + 6 <= buf->len; i++) {
            if (!memcmp(buf->data + i, "\x05timer", 6)) {
                at = i + 6 + 8 + 16;
            }
        }
    }
    g_assert_cmpuint(at, >, 0);
    for (int i = 0; i < 8; i++) {
        buf->data[at + i] = (uint8_t)((uint64_t)val >> (56 - 8 * i));
    }
    return buf;
}

#define PIT_OFF_LOAD_TIME 20  /* channel 0 count_load_time */
#define PIT_OFF_NEXT      28  /* channel 0 next_transition_time */
#define PIT_OFF_NEXT_TOP  100 /* the top-level copy of it */

/* A rig with the clock's section, channel 0 in mode 2 with count 2 (a
   transition every 1676 ns): the worst case for replaying a jump. */
static void hostile_init(Fix *f)
{
    fix_init(f);
    g_assert_true(vms_register(f->rig.reg, "timer", 0, -1, &hw_clock_vmsd,
                               hw_clock_state(f->rig.clock),
                               sizeof(HwClockState), NULL));
    hw_clock_set(f->rig.clock, 1000000);
    outb(f, 0x43, 0x34);
    outb(f, 0x40, 2);
    outb(f, 0x40, 0);
    hw_clock_step(f->rig.clock, 10000);
}

/* Loads `buf` (which must load), then runs 1 ms more: the IRQ edges
   recorded stay within the catch-up cap plus the millisecond's own. */
static void run_bounded(Fix *f, GByteArray *buf)
{
    VmsLoadOpts lo = {0};
    GError *err = NULL;
    int64_t now, end;

    g_assert_true(vms_load_all(f->rig.reg, buf->data, buf->len, &lo, &err));
    g_assert_no_error(err);
    g_array_set_size(f->rig.rec.ev, 0);
    now = hw_clock_now(f->rig.clock);
    /* at its bound the clock stands still (and fires nothing) */
    end = MIN(now + 1000000, HW_CLOCK_MAX_NS);
    g_assert_cmpint(hw_clock_step(f->rig.clock, 1000000), ==, end);
    g_assert_cmpuint(f->rig.rec.ev->len / 2, <=,
                     2 * (HW_CLOCK_MAX_CATCHUP + 1 + 1000000 / 1676));
    g_assert_cmpint(f->pit->s.channels[0].count_load_time, <=, end);
    if (end > now) {
        g_assert_cmpint(hw_timer_deadline(f->pit->timer), >, end);
    }
}

/* The reported hang: the clock loaded 2^60 ns (and at its bound) past a
   fast periodic channel; and PIT times far ahead of the clock. Each loads
   and runs bounded. */
static void test_hostile_times_run_bounded(void)
{
    static const struct {
        long off;
        int64_t val;
    } cases[] = {
        {-1, INT64_C(1) << 60},
        {-1, HW_CLOCK_MAX_NS},
        {PIT_OFF_LOAD_TIME, INT64_C(1) << 60},
        {PIT_OFF_LOAD_TIME, HW_CLOCK_MAX_FIELD_NS},
        {PIT_OFF_NEXT_TOP, INT64_C(1) << 60},
        {PIT_OFF_NEXT_TOP, HW_CLOCK_MAX_FIELD_NS},
        {PIT_OFF_NEXT_TOP, 0},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        Fix f;
        GByteArray *buf;

        hostile_init(&f);
        buf = hostile_stream(&f, cases[i].off, cases[i].val);
        run_bounded(&f, buf);
        g_byte_array_free(buf, TRUE);
        fix_free(&f);
    }
}

/* PIT times past the bound, or negative: refused, naming the field, with
   nothing changed. */
static void test_hostile_times_refused(void)
{
    static const struct {
        long off;
        int64_t val;
        const char *field;
    } cases[] = {
        {PIT_OFF_LOAD_TIME, HW_CLOCK_MAX_FIELD_NS + 1, "count_load_time"},
        {PIT_OFF_LOAD_TIME, INT64_MAX, "count_load_time"},
        {PIT_OFF_LOAD_TIME, -1, "count_load_time"},
        {PIT_OFF_NEXT, HW_CLOCK_MAX_FIELD_NS + 1, "next_transition_time"},
        {PIT_OFF_NEXT, -2, "next_transition_time"},
        {PIT_OFF_NEXT_TOP, INT64_MAX, "channels[0].next_transition_time"},
        {PIT_OFF_NEXT_TOP, INT64_MIN, "channels[0].next_transition_time"},
    };
    Fix f;

    hostile_init(&f);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        GByteArray *buf = hostile_stream(&f, cases[i].off, cases[i].val);
        VmsLoadOpts lo = {0};
        GError *err = NULL;
        PitState before = f.pit->s;
        g_autofree char *want = g_strdup_printf(
            "field '%s': %" G_GINT64_FORMAT
            " out of range %d..%" G_GINT64_FORMAT,
            cases[i].field, cases[i].val,
            strstr(cases[i].field, "next") ? -1 : 0, HW_CLOCK_MAX_FIELD_NS);

        g_assert_false(vms_load_all(f.rig.reg, buf->data, buf->len, &lo, &err));
        g_assert_nonnull(err);
        if (!strstr(err->message, want)) {
            g_error("%s: want '%s'", err->message, want);
        }
        g_assert_cmpmem(&before, sizeof(before), &f.pit->s, sizeof(f.pit->s));
        g_error_free(err);
        g_byte_array_free(buf, TRUE);
    }
    fix_free(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hw/pit/reset-mode3", test_reset_mode3);
    g_test_add_func("/hw/pit/mode0-mode4", test_mode0_mode4);
    g_test_add_func("/hw/pit/mode2-latch-readback", test_mode2_latch_readback);
    g_test_add_func("/hw/pit/access-modes-bcd", test_access_modes_bcd);
    g_test_add_func("/hw/pit/gate", test_gate);
    g_test_add_func("/hw/pit/snapshot", test_snapshot);
    g_test_add_func("/hw/pit/hostile-times-run-bounded",
                    test_hostile_times_run_bounded);
    g_test_add_func("/hw/pit/hostile-times-refused",
                    test_hostile_times_refused);
    return g_test_run();
}
