/*
 * i8042 through the port bus, as a guest driver uses it: reset values and
 * QEMU 7.2's reset bytes, controller commands, keyboard and mouse
 * traffic, output-buffer ownership, IRQ 1/12 edges at their virtual times,
 * reset requests, a snapshot round trip in mid-operation and bad streams.
 */
#include "hw/i8042.h"

#include <string.h>

typedef struct Rig {
    HwClock *clock;
    HwBus bus;
    VmsRegistry *reg;
    I8042Device *d;
    HwIrq irq[2]; /* [0] IRQ 1, [1] IRQ 12 */
    int level[2];
    GString *log; /* "+1@t -12@t ..." level changes */
    unsigned resets;
} Rig;

static void rig_irq(void *opaque, int n, int level)
{
    Rig *r = opaque;

    if (r->level[n] != level) {
        r->level[n] = level;
        g_string_append_printf(r->log, "%c%d@%" G_GINT64_FORMAT " ",
                               level ? '+' : '-', n ? 12 : 1,
                               hw_clock_now(r->clock));
    }
}

static void rig_reset_req(void *opaque)
{
    ((Rig *)opaque)->resets++;
}

static Rig *rig_new(void)
{
    Rig *r = g_new0(Rig, 1);

    r->clock = hw_clock_new(true);
    hw_clock_start(r->clock);
    hw_bus_init(&r->bus);
    r->reg = vms_registry_new();
    r->log = g_string_new(NULL);
    hw_irq_init(&r->irq[0], rig_irq, r, 0);
    hw_irq_init(&r->irq[1], rig_irq, r, 1);
    r->d = i8042_new(r->clock, &r->irq[0], &r->irq[1], rig_reset_req, r);
    g_assert_true(i8042_realize(r->d, &r->bus, r->reg, NULL));
    return r;
}

static void rig_free(Rig *r)
{
    i8042_free(r->d);
    vms_registry_free(r->reg);
    hw_clock_free(r->clock);
    g_string_free(r->log, true);
    g_free(r);
}

static uint8_t in(Rig *r, uint16_t port)
{
    return hw_bus_in(&r->bus, port, 1);
}

static void out(Rig *r, uint16_t port, uint8_t val)
{
    hw_bus_out(&r->bus, port, val, 1);
}

/* Reads bytes while the output buffer is full, as "xx xx ". */
static char *drain(Rig *r)
{
    GString *s = g_string_new(NULL);

    while (in(r, 0x64) & I8042_STAT_OBF) {
        g_string_append_printf(s, "%02x ", in(r, 0x60));
    }
    return g_string_free(s, false);
}

#define ASSERT_DRAIN(r, want)                                                  \
    do {                                                                       \
        g_autofree char *got_ = drain(r);                                      \
        g_assert_cmpstr(got_, ==, (want));                                     \
    } while (0)

static void test_reset_values(void)
{
    Rig *r = rig_new();

    g_assert_cmphex(in(r, 0x64), ==, 0x18);
    g_assert_cmphex(in(r, 0x60), ==, 0x00); /* nothing read yet */
    out(r, 0x64, 0x20);
    g_assert_cmphex(in(r, 0x64), ==, 0x19);
    ASSERT_DRAIN(r, "03 ");
    g_assert_cmphex(in(r, 0x60), ==, 0x03); /* obdata repeats */
    out(r, 0x64, 0xd0);
    ASSERT_DRAIN(r, "cf ");
    out(r, 0x64, 0xc0);
    ASSERT_DRAIN(r, "80 ");
    out(r, 0x64, 0xaa);
    ASSERT_DRAIN(r, "55 ");
    g_assert_cmphex(in(r, 0x64), ==, 0x1c);
    out(r, 0x64, 0xab);
    out(r, 0x64, 0xa9); /* one buffer: the second reply replaces it */
    ASSERT_DRAIN(r, "00 ");
    g_assert_cmpuint(r->resets, ==, 0);
    rig_free(r);
}

static void test_keyboard_and_irq1(void)
{
    Rig *r = rig_new();

    hw_clock_step(r->clock, 1000);
    out(r, 0x60, 0xf2);
    hw_clock_step(r->clock, 1000);
    g_assert_cmphex(in(r, 0x64), ==, 0x19);
    ASSERT_DRAIN(r, "fa ab 83 ");
    /* each read drops IRQ 1 and raises it again for the next byte */
    g_assert_cmpstr(r->log->str, ==,
                    "+1@1000 -1@2000 +1@2000 -1@2000 "
                    "+1@2000 -1@2000 ");
    /* translation (mode bit 6) */
    out(r, 0x64, 0x60);
    out(r, 0x60, 0x43);
    out(r, 0x60, 0xf2);
    ASSERT_DRAIN(r, "fa ab 41 ");
    ps2_kbd_put_keycode(r->d->kbd, 0xf0);
    ps2_kbd_put_keycode(r->d->kbd, 0x1c);
    ASSERT_DRAIN(r, "9e ");
    /* no IRQ 1 without KBD_INT, but OBF still set */
    g_string_truncate(r->log, 0);
    out(r, 0x64, 0x60);
    out(r, 0x60, 0x00);
    ps2_kbd_put_keycode(r->d->kbd, 0x1c);
    g_assert_cmphex(in(r, 0x64), ==, 0x19);
    g_assert_cmpstr(r->log->str, ==, "");
    /* enabling the interrupt raises it at once */
    out(r, 0x64, 0x60);
    out(r, 0x60, 0x01);
    g_assert_cmpint(r->level[0], ==, 1);
    ASSERT_DRAIN(r, "1c ");
    rig_free(r);
}

static void test_disable_interfaces(void)
{
    Rig *r = rig_new();

    out(r, 0x64, 0xad);
    ps2_kbd_put_keycode(r->d->kbd, 0x1c);
    g_assert_cmphex(in(r, 0x64), ==, 0x18); /* held back */
    g_assert_cmpint(r->level[0], ==, 0);
    out(r, 0x64, 0xae);
    g_assert_cmphex(in(r, 0x64), ==, 0x19);
    g_assert_cmpint(r->level[0], ==, 1);
    ASSERT_DRAIN(r, "1c ");
    /* a byte to the keyboard re-enables its interface */
    out(r, 0x64, 0xad);
    out(r, 0x60, 0xee);
    ASSERT_DRAIN(r, "ee ");
    out(r, 0x64, 0x20);
    ASSERT_DRAIN(r, "03 ");
    out(r, 0x64, 0xa7);
    out(r, 0x64, 0x20);
    ASSERT_DRAIN(r, "23 ");
    out(r, 0x64, 0xa8);
    out(r, 0x64, 0x20);
    ASSERT_DRAIN(r, "03 ");
    rig_free(r);
}

static void test_mouse_and_irq12(void)
{
    Rig *r = rig_new();

    out(r, 0x64, 0xd4);
    out(r, 0x60, 0xf4);
    g_assert_cmphex(in(r, 0x64), ==, 0x39);
    g_assert_cmpint(r->level[1], ==, 1);
    g_assert_cmpint(r->level[0], ==, 0);
    ASSERT_DRAIN(r, "fa ");
    g_assert_cmpint(r->level[1], ==, 0);
    ps2_mouse_move(r->d->mouse, -2, -3, 0, PS2_MOUSE_BUTTON_RIGHT);
    ASSERT_DRAIN(r, "1a fe 03 ");
    /* keyboard data wins over mouse data once the buffer empties */
    ps2_mouse_move(r->d->mouse, 1, 0, 0, 0);
    ps2_kbd_put_keycode(r->d->kbd, 0x1c);
    ASSERT_DRAIN(r, "08 1c 01 00 ");
    /* D3 writes the buffer as if from the mouse */
    out(r, 0x64, 0xd3);
    out(r, 0x60, 0x5a);
    g_assert_cmphex(in(r, 0x64), ==, 0x39);
    g_assert_cmpint(r->level[1], ==, 1);
    ASSERT_DRAIN(r, "5a ");
    out(r, 0x64, 0xd2);
    out(r, 0x60, 0xa5);
    g_assert_cmphex(in(r, 0x64), ==, 0x19);
    ASSERT_DRAIN(r, "a5 ");
    rig_free(r);
}

static void test_reset_requests(void)
{
    Rig *r = rig_new();

    out(r, 0x64, 0xff);
    out(r, 0x64, 0xf1);
    g_assert_cmpuint(r->resets, ==, 0);
    out(r, 0x64, 0xfe);
    g_assert_cmpuint(r->resets, ==, 1);
    out(r, 0x64, 0xf0);
    g_assert_cmpuint(r->resets, ==, 2);
    out(r, 0x64, 0xd1);
    out(r, 0x60, 0xdf); /* A20 on, reset bit high: nothing */
    g_assert_cmpuint(r->resets, ==, 2);
    out(r, 0x64, 0xd1);
    out(r, 0x60, 0xde);
    g_assert_cmpuint(r->resets, ==, 3);
    out(r, 0x64, 0xd0);
    ASSERT_DRAIN(r, "de ");
    /* machine reset: controller and devices to power-on values */
    out(r, 0x60, 0xed);
    i8042_reset(r->d);
    g_assert_cmphex(in(r, 0x64), ==, 0x18);
    out(r, 0x64, 0xd0);
    ASSERT_DRAIN(r, "cf ");
    g_assert_cmpint(r->d->kbd->s.parent_obj.write_cmd, ==, -1);
    rig_free(r);
}

/* Payload of section `idstr` in a stream written by vms_save_all. */
static const uint8_t *payload(GByteArray *b, const char *idstr)
{
    size_t n = strlen(idstr);

    for (size_t i = 0; i + n + 9 < b->len; i++) {
        if (b->data[i] == n && memcmp(b->data + i + 1, idstr, n) == 0 &&
            b->data[i - 5] == VMS_SECTION_FULL) {
            return b->data + i + 1 + n + 8;
        }
    }
    g_assert_not_reached();
}

static GByteArray *save(Rig *r)
{
    VmsSaveOpts o = {.footers = true};
    GByteArray *b = g_byte_array_new();

    g_assert_true(vms_save_all(r->reg, &o, b, NULL));
    return b;
}

/* QEMU 7.2's bytes after reset (pc-tcg-prelaunch.devstate). */
static void test_reset_bytes_match_qemu(void)
{
    Rig *r = rig_new();
    g_autoptr(GByteArray) b = save(r);
    uint8_t kbd[284] = {0xff, 0xff, 0xff, 0xff};
    uint8_t mouse[291] = {0xff, 0xff, 0xff, 0xff};
    static const uint8_t pckbd[40] =
        "\x00\x18\x03\x00\x05\x14pckbd/extended_state\x00\x00\x00\x00"
        "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";

    kbd[275] = 1; /* scan_enabled */
    kbd[283] = 2; /* scancode_set */
    g_assert_cmpmem(payload(b, "ps2kbd"), sizeof(kbd), kbd, sizeof(kbd));
    g_assert_cmpmem(payload(b, "ps2mouse"), sizeof(mouse), mouse,
                    sizeof(mouse));
    g_assert_cmpmem(payload(b, "pckbd"), sizeof(pckbd), pckbd, sizeof(pckbd));
    rig_free(r);
}

/* A stream whose throttle timer was pending (QEMU's kbd-throttle=on;
   never QEMU 7.2's pc): the expired timer refills the output buffer on
   load and drives IRQ 1, as QEMU's kbd_throttle_timeout does. Any other
   load drives no line (snapshot-round-trip). */
static void test_load_throttle_refill(void)
{
    Rig *a = rig_new(), *b = rig_new();
    g_autoptr(GByteArray) s = NULL;
    g_autoptr(GError) err = NULL;
    VmsLoadOpts lo = {VMS_UNKNOWN_REJECT};
    uint8_t *kbd, *ext;

    ps2_kbd_put_keycode(a->d->kbd, 0x1c);
    g_assert_cmpint(a->level[0], ==, 1);
    s = save(a);
    kbd = (uint8_t *)payload(s, "pckbd");
    ext = memmem(kbd, s->len - (kbd - s->data), "pckbd/extended_state", 20);
    g_assert_nonnull(ext);
    kbd[1] &= ~0x01;     /* status: output buffer empty */
    ext[20 + 4 + 3] = 1; /* migration_flags: throttle timer pending */
    bool ok = vms_load_all(b->reg, s->data, s->len, &lo, &err);
    g_assert_no_error(err);
    g_assert_true(ok);
    g_assert_cmpint(b->level[0], ==, 1);
    g_assert_cmphex(in(b, 0x64) & 0x01, ==, 0x01);
    rig_free(a);
    rig_free(b);
}

/* QEMU 7.2's sections after SeaBIOS ran for 1 s (pc-tcg-ran1s.devstate):
   translated, self-tested, last byte read 0xfa. Load, drive, save again. */
static void test_load_qemu_after_boot(void)
{
    Rig *a = rig_new(), *b = rig_new();
    g_autoptr(GByteArray) s = save(a);
    g_autoptr(GByteArray) s2 = NULL;
    g_autoptr(GError) err = NULL;
    VmsLoadOpts lo = {VMS_UNKNOWN_REJECT};
    uint8_t kbd[284] = {0xff, 0xff, 0xff, 0xff};
    static const uint8_t pckbd[40] =
        "\x00\x1c\x61\x00\x05\x14pckbd/extended_state\x00\x00\x00\x00"
        "\x00\x00\x00\x00\x00\x00\x00\x01\xfa\x00";

    kbd[16 + 254] = kbd[16 + 255] = 0xfa;
    kbd[275] = 1; /* scan_enabled */
    kbd[279] = 1; /* translate */
    kbd[283] = 2; /* scancode_set */
    memcpy((uint8_t *)payload(s, "ps2kbd"), kbd, sizeof(kbd));
    memcpy((uint8_t *)payload(s, "pckbd"), pckbd, sizeof(pckbd));
    bool ok = vms_load_all(b->reg, s->data, s->len, &lo, &err);
    g_assert_no_error(err);
    g_assert_true(ok);
    s2 = save(b);
    g_assert_cmpmem(payload(s2, "ps2kbd"), sizeof(kbd), kbd, sizeof(kbd));
    g_assert_cmpmem(payload(s2, "pckbd"), sizeof(pckbd), pckbd, sizeof(pckbd));
    g_assert_cmphex(in(b, 0x64), ==, 0x1c);
    g_assert_cmphex(in(b, 0x60), ==, 0xfa); /* empty: last byte again */
    ps2_kbd_put_keycode(b->d->kbd, 0x1c);
    g_assert_cmpint(b->level[0], ==, 1);
    ASSERT_DRAIN(b, "1e ");
    rig_free(a);
    rig_free(b);
}

/* Mid-operation: replies half read, mouse knocked to IMPS/2, A20 off. */
static void drive_mid(Rig *r)
{
    static const uint8_t rates[] = {200, 100, 80};

    out(r, 0x64, 0x60);
    out(r, 0x60, 0x47);
    out(r, 0x60, 0xed);
    out(r, 0x60, 0x02);
    out(r, 0x64, 0xd4);
    out(r, 0x60, 0xf4);
    for (int i = 0; i < 3; i++) {
        out(r, 0x64, 0xd4);
        out(r, 0x60, 0xf3);
        out(r, 0x64, 0xd4);
        out(r, 0x60, rates[i]);
    }
    out(r, 0x64, 0xdd);
    out(r, 0x60, 0xf2);
    in(r, 0x60);
    ps2_kbd_put_keycode(r->d->kbd, 0x1c);
    ps2_mouse_move(r->d->mouse, 3, 4, 1, 1);
    ps2_kbd_put_keycode(r->d->kbd, 0xf0); /* half a translated break */
    out(r, 0x64, 0xd4); /* a controller command awaiting its byte */
}

static void drive_after(Rig *r)
{
    ps2_kbd_put_keycode(r->d->kbd, 0x1c);
    out(r, 0x60, 0xf2);
    hw_clock_step(r->clock, 500);
    out(r, 0x64, 0xd0);
    for (int i = 0; i < 24; i++) {
        uint8_t st = in(r, 0x64);
        g_string_append_printf(r->log, "s%02x:%02x ", st, in(r, 0x60));
        hw_clock_step(r->clock, 100);
    }
}

static void test_snapshot_round_trip(void)
{
    Rig *a = rig_new(), *b = rig_new();
    g_autoptr(GByteArray) s = NULL;
    g_autoptr(GError) err = NULL;
    VmsLoadOpts lo = {VMS_UNKNOWN_REJECT};

    drive_mid(a);
    hw_clock_step(a->clock, 7000);
    hw_clock_step(b->clock, 7000);
    s = save(a);
    bool ok = vms_load_all(b->reg, s->data, s->len, &lo, &err);
    g_assert_no_error(err);
    g_assert_true(ok);
    g_assert_cmpmem(&a->d->s, sizeof(a->d->s), &b->d->s, sizeof(b->d->s));
    /* As in QEMU 7.2, a load drives no line: what the lines last were is
       the interrupt controller's loaded state, not the controller's. */
    g_assert_cmpint(a->level[1], ==, 1);
    g_assert_cmpint(b->level[0], ==, 0);
    g_assert_cmpint(b->level[1], ==, 0);
    /* The rig's levels stand for the PIC's last_irr, which the stream
       carries: b's lines are where a's were. */
    memcpy(b->level, a->level, sizeof(b->level));
    g_string_truncate(a->log, 0);
    g_string_truncate(b->log, 0);
    drive_after(a);
    drive_after(b);
    g_assert_cmpstr(a->log->str, ==, b->log->str);
    /* the mouse answered F2 with type 3 (IMPS/2), then all was read */
    g_assert_nonnull(strstr(a->log->str, "s39:03 s18:03 "));
    g_assert_nonnull(strstr(a->log->str, ":9e ")); /* need_high_bit kept */
    g_autoptr(GByteArray) s2 = save(a);
    g_autoptr(GByteArray) s3 = save(b);
    g_assert_cmpmem(s2->data, s2->len, s3->data, s3->len);
    rig_free(a);
    rig_free(b);
}

/* Corrupts one field of a saved stream; the load must fail and leave the
   target as it was. */
static void bad_load(GByteArray *good, const char *idstr, size_t off,
                     uint8_t val, const char *why)
{
    Rig *b = rig_new();
    g_autoptr(GByteArray) s = g_byte_array_new();
    g_autoptr(GError) err = NULL;
    VmsLoadOpts lo = {VMS_UNKNOWN_REJECT};
    I8042State before;
    Ps2KbdState kbefore;

    g_byte_array_append(s, good->data, good->len);
    ((uint8_t *)payload(s, idstr))[off] = val;
    out(b, 0x60, 0xf2);
    before = b->d->s;
    kbefore = b->d->kbd->s;
    g_assert_false(vms_load_all(b->reg, s->data, s->len, &lo, &err));
    g_assert_nonnull(strstr(err->message, why));
    g_assert_cmpmem(&before, sizeof(before), &b->d->s, sizeof(b->d->s));
    g_assert_cmpmem(&kbefore, sizeof(kbefore), &b->d->kbd->s, sizeof(kbefore));
    ASSERT_DRAIN(b, "fa ab 83 ");
    rig_free(b);
}

static void test_bad_streams(void)
{
    Rig *a = rig_new();
    g_autoptr(GByteArray) s = NULL;

    drive_mid(a);
    s = save(a);
    bad_load(s, "ps2kbd", 4, 0x01, "rptr");       /* rptr 0x01000000+ */
    bad_load(s, "ps2kbd", 15, 0x30, "count");     /* queue.count = 48 */
    bad_load(s, "ps2kbd", 283, 0x05, "scancode"); /* scancode_set 5 */
    bad_load(s, "ps2mouse", 276, 0x02, "mouse_type");
    bad_load(s, "pckbd", 0, 0x42, "write_cmd");
    bad_load(s, "pckbd", 57, 0x03, "obsrc"); /* after pckbd_outport */
    rig_free(a);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hw/i8042/reset-values", test_reset_values);
    g_test_add_func("/hw/i8042/keyboard-irq1", test_keyboard_and_irq1);
    g_test_add_func("/hw/i8042/disable-interfaces", test_disable_interfaces);
    g_test_add_func("/hw/i8042/mouse-irq12", test_mouse_and_irq12);
    g_test_add_func("/hw/i8042/reset-requests", test_reset_requests);
    g_test_add_func("/hw/i8042/reset-bytes-qemu", test_reset_bytes_match_qemu);
    g_test_add_func("/hw/i8042/load-qemu-after-boot",
                    test_load_qemu_after_boot);
    g_test_add_func("/hw/i8042/snapshot-round-trip", test_snapshot_round_trip);
    g_test_add_func("/hw/i8042/bad-streams", test_bad_streams);
    g_test_add_func("/hw/i8042/load-throttle-refill",
                    test_load_throttle_refill);
    return g_test_run();
}
