/*
 * PS/2 keyboard and mouse on their own (no controller): queue limits and
 * wrap-around, command replies ahead of scancodes, translation, mouse
 * packets, wrap/remote modes, IntelliMouse detection, and the load-time
 * checks of the `ps2kbd` / `ps2mouse` sections.
 */
#include "hw/ps2.h"

#include <string.h>

typedef struct Line {
    HwIrq irq;
    int level;
    unsigned raises;
} Line;

static void line_set(void *opaque, int n, int level)
{
    Line *l = opaque;

    l->raises += level && !l->level;
    l->level = level;
}

static void line_init(Line *l)
{
    memset(l, 0, sizeof(*l));
    hw_irq_init(&l->irq, line_set, l, 0);
}

static GString *kbd_drain(Ps2KbdDevice *k)
{
    GString *s = g_string_new(NULL);

    while (k->s.parent_obj.queue.count) {
        g_string_append_printf(s, "%02x ", ps2_kbd_read_data(k));
    }
    return s;
}

static GString *mouse_drain(Ps2MouseDevice *m)
{
    GString *s = g_string_new(NULL);

    while (m->s.parent_obj.queue.count) {
        g_string_append_printf(s, "%02x ", ps2_mouse_read_data(m));
    }
    return s;
}

#define ASSERT_KBD(k, want)                                                    \
    do {                                                                       \
        g_autoptr(GString) got_ = kbd_drain(k);                                \
        g_assert_cmpstr(got_->str, ==, (want));                                \
    } while (0)
#define ASSERT_MOUSE(m, want)                                                  \
    do {                                                                       \
        g_autoptr(GString) got_ = mouse_drain(m);                              \
        g_assert_cmpstr(got_->str, ==, (want));                                \
    } while (0)

static void test_kbd_commands(void)
{
    Line l;
    line_init(&l);
    Ps2KbdDevice *k = ps2_kbd_new(&l.irq);

    g_assert_cmpint(k->s.parent_obj.write_cmd, ==, -1);
    g_assert_cmpint(k->s.scancode_set, ==, 2);
    ps2_write_keyboard(k, 0xf2);
    g_assert_cmpint(l.level, ==, 1);
    ASSERT_KBD(k, "fa ab 83 ");
    g_assert_cmpint(l.level, ==, 0);
    /* empty queue: the last byte again */
    g_assert_cmphex(ps2_kbd_read_data(k), ==, 0x83);
    ps2_kbd_set_translation(k, true);
    ps2_write_keyboard(k, 0xf2);
    ASSERT_KBD(k, "fa ab 41 ");
    ps2_write_keyboard(k, 0xee);
    ASSERT_KBD(k, "ee ");
    ps2_write_keyboard(k, 0x42);
    ASSERT_KBD(k, "fe ");
    ps2_write_keyboard(k, 0xed);
    ps2_write_keyboard(k, 0x07); /* each byte drops unread replies */
    ASSERT_KBD(k, "fa ");
    g_assert_cmpint(k->s.ledstate, ==, 7);
    /* scancode set: get (translated), set 3, get raw, bad value */
    ps2_write_keyboard(k, 0xf0);
    ps2_write_keyboard(k, 0x00);
    ASSERT_KBD(k, "fa 41 ");
    ps2_kbd_set_translation(k, false);
    ps2_write_keyboard(k, 0xf0);
    ps2_write_keyboard(k, 0x03);
    ps2_write_keyboard(k, 0xf0);
    ps2_write_keyboard(k, 0x00);
    ASSERT_KBD(k, "fa 03 ");
    ps2_write_keyboard(k, 0xf0);
    ps2_write_keyboard(k, 0x09);
    ASSERT_KBD(k, "fe ");
    ps2_write_keyboard(k, 0xf3);
    ps2_write_keyboard(k, 0x20);
    ps2_write_keyboard(k, 0xff);
    ASSERT_KBD(k, "fa aa ");
    g_assert_cmpint(k->s.scancode_set, ==, 2);
    g_assert_cmpint(k->s.ledstate, ==, 0);
    ps2_kbd_free(k);
}

static void test_kbd_replies_supersede(void)
{
    Line l;
    line_init(&l);
    Ps2KbdDevice *k = ps2_kbd_new(&l.irq);

    ps2_kbd_put_keycode(k, 0x1c);
    ps2_write_keyboard(k, 0xf2); /* replies go before the scancode */
    g_assert_cmpint(k->s.parent_obj.queue.cwptr, ==, 0);
    g_assert_cmphex(ps2_kbd_read_data(k), ==, 0xfa);
    ps2_write_keyboard(k, 0xee); /* drops the unread "ab 83" */
    ASSERT_KBD(k, "ee 1c ");
    g_assert_cmpint(k->s.parent_obj.queue.cwptr, ==, -1);
    ps2_kbd_free(k);
}

static void test_kbd_scan_and_translate(void)
{
    Line l;
    line_init(&l);
    Ps2KbdDevice *k = ps2_kbd_new(&l.irq);

    ps2_kbd_put_keycode(k, 0x1c);
    ps2_kbd_put_keycode(k, 0xf0);
    ps2_kbd_put_keycode(k, 0x1c);
    ASSERT_KBD(k, "1c f0 1c ");
    ps2_kbd_set_translation(k, true);
    ps2_kbd_put_keycode(k, 0x1c);
    ps2_kbd_put_keycode(k, 0xf0);
    g_assert_true(k->s.need_high_bit);
    ps2_kbd_put_keycode(k, 0x1c);
    ps2_kbd_put_keycode(k, 0x83);
    ASSERT_KBD(k, "1e 9e 41 ");
    ps2_write_keyboard(k, 0xf5); /* scanning off: keys dropped */
    ASSERT_KBD(k, "fa ");
    ps2_kbd_put_keycode(k, 0x1c);
    g_assert_cmpint(k->s.parent_obj.queue.count, ==, 0);
    ps2_write_keyboard(k, 0xf4);
    ASSERT_KBD(k, "fa ");
    for (int i = 0; i < 20; i++) {
        ps2_kbd_put_keycode(k, 0x1c);
    }
    g_assert_cmpint(k->s.parent_obj.queue.count, ==, PS2_QUEUE_SIZE);
    ps2_kbd_free(k);
}

static void test_queue_wraps(void)
{
    Line l;
    line_init(&l);
    Ps2KbdDevice *k = ps2_kbd_new(&l.irq);

    /* the ring is 256 bytes: push the pointers round it */
    for (int i = 0; i < 300; i++) {
        ps2_kbd_put_keycode(k, i & 0x7f);
        g_assert_cmphex(ps2_kbd_read_data(k), ==, i & 0x7f);
    }
    g_assert_cmpint(k->s.parent_obj.queue.rptr, ==, 300 & 255);
    g_assert_cmpint(k->s.parent_obj.queue.wptr, ==, 300 & 255);
    ps2_kbd_reset(k);
    ps2_write_keyboard(k, 0xff); /* replies wrap backwards from 0 */
    g_assert_cmpint(k->s.parent_obj.queue.rptr, ==, 254);
    ASSERT_KBD(k, "fa aa ");
    ps2_kbd_free(k);
}

static void test_mouse_commands(void)
{
    Line l;
    line_init(&l);
    Ps2MouseDevice *m = ps2_mouse_new(&l.irq);

    g_assert_cmpint(m->s.mouse_sample_rate, ==, 0);
    ps2_write_mouse(m, 0xff);
    ASSERT_MOUSE(m, "fa aa 00 ");
    ps2_write_mouse(m, 0xe9);
    ASSERT_MOUSE(m, "fa 00 02 64 ");
    ps2_write_mouse(m, 0xe8);
    ps2_write_mouse(m, 0x03);
    ps2_write_mouse(m, 0xe7);
    ps2_write_mouse(m, 0xf0);
    ps2_write_mouse(m, 0xe9);
    ASSERT_MOUSE(m, "fa fa fa fa fa 50 03 64 ");
    ps2_write_mouse(m, 0xe6);
    ps2_write_mouse(m, 0xea);
    ps2_write_mouse(m, 0xf6);
    ps2_write_mouse(m, 0xf2);
    ASSERT_MOUSE(m, "fa fa fa fa 00 ");
    /* wrap mode echoes all but EC and FF */
    ps2_write_mouse(m, 0xee);
    ps2_write_mouse(m, 0x12);
    ps2_write_mouse(m, 0xf2);
    ps2_write_mouse(m, 0xec);
    ps2_write_mouse(m, 0xf2);
    ASSERT_MOUSE(m, "fa 12 f2 fa fa 00 ");
    g_assert_cmpint(m->s.mouse_wrap, ==, 0);
    ps2_write_mouse(m, 0x42); /* unknown: no answer */
    g_assert_cmpint(m->s.parent_obj.queue.count, ==, 0);
    ps2_mouse_free(m);
}

static void mouse_rates(Ps2MouseDevice *m, int a, int b, int c)
{
    int r[3] = {a, b, c};

    for (int i = 0; i < 3; i++) {
        ps2_write_mouse(m, 0xf3);
        ps2_write_mouse(m, r[i]);
    }
    ASSERT_MOUSE(m, "fa fa fa fa fa fa ");
}

static void test_mouse_detect_and_packets(void)
{
    Line l;
    line_init(&l);
    Ps2MouseDevice *m = ps2_mouse_new(&l.irq);

    ps2_mouse_move(m, 5, 5, 0, 1); /* disabled: ignored */
    g_assert_cmpint(m->s.mouse_dx, ==, 0);
    ps2_write_mouse(m, 0xf4);
    ASSERT_MOUSE(m, "fa ");
    ps2_mouse_move(m, 3, 2, 1, PS2_MOUSE_BUTTON_LEFT);
    ASSERT_MOUSE(m, "29 03 fe ");
    g_assert_cmpint(m->s.mouse_dz, ==, 0);
    /* big deltas: several packets, clamped to 127 */
    ps2_mouse_move(m, 200, 0, 0, 0);
    ASSERT_MOUSE(m, "08 7f 00 08 49 00 ");
    mouse_rates(m, 200, 100, 80);
    g_assert_cmpint(m->s.mouse_type, ==, 3);
    ps2_mouse_move(m, -1, 0, -2, 0);
    ASSERT_MOUSE(m, "18 ff 00 fe ");
    mouse_rates(m, 200, 200, 80);
    g_assert_cmpint(m->s.mouse_type, ==, 4);
    ps2_mouse_move(m, 0, 0, 9, PS2_MOUSE_BUTTON_SIDE);
    ASSERT_MOUSE(m, "08 00 00 17 08 00 00 12 ");
    mouse_rates(m, 200, 10, 80); /* broken knock: type stays */
    g_assert_cmpint(m->s.mouse_type, ==, 4);
    /* remote mode: deltas wait for EB */
    ps2_write_mouse(m, 0xf0);
    ps2_mouse_move(m, 4, 0, 0, 0);
    ASSERT_MOUSE(m, "fa ");
    ps2_write_mouse(m, 0xeb);
    ASSERT_MOUSE(m, "fa 08 04 00 00 ");
    /* full queue: packets wait */
    ps2_write_mouse(m, 0xea);
    ps2_write_mouse(m, 0xf6);
    ps2_write_mouse(m, 0xf4);
    ps2_write_mouse(m, 0xff); /* type back to 0, 3-byte packets */
    ps2_write_mouse(m, 0xf4);
    for (int i = 0; i < 6; i++) {
        ps2_mouse_move(m, 1, 0, 0, 0);
    }
    g_assert_cmpint(m->s.parent_obj.queue.count, ==, 4 + 3 * 4);
    g_assert_cmpint(m->s.mouse_dx, ==, 2);
    ps2_mouse_free(m);
}

static void test_kbd_load_checks(void)
{
    Line l;
    line_init(&l);
    Ps2KbdDevice *k = ps2_kbd_new(&l.irq);
    Ps2KbdState st;
    g_autoptr(GError) err = NULL;

    ps2_kbd_put_keycode(k, 0x1c);
    ps2_write_keyboard(k, 0xf2);
    st = k->s;
    st.loaded = 0x04; /* command_reply_queue subsection was present */
    g_assert_true(ps2_kbd_vmsd.post_load(&st, 3, NULL));
    g_assert_cmpint(st.parent_obj.queue.cwptr, ==, k->s.parent_obj.queue.cwptr);
    st = k->s;
    st.loaded = 0; /* subsection absent: all four bytes are data */
    g_assert_true(ps2_kbd_vmsd.post_load(&st, 3, NULL));
    g_assert_cmpint(st.parent_obj.queue.cwptr, ==, -1);
    st = k->s;
    st.loaded = 0x04;
    st.parent_obj.queue.count = 3 + PS2_QUEUE_SIZE + 1;
    st.parent_obj.queue.wptr = (st.parent_obj.queue.rptr + 20) & 255;
    g_assert_false(ps2_kbd_vmsd.post_load(&st, 3, &err));
    g_assert_nonnull(strstr(err->message, "count"));
    g_clear_error(&err);
    st = k->s;
    st.loaded = 0x04;
    st.parent_obj.queue.wptr = 3;
    g_assert_false(ps2_kbd_vmsd.post_load(&st, 3, &err));
    g_assert_nonnull(strstr(err->message, "wptr"));
    g_clear_error(&err);
    st = k->s;
    st.loaded = 0x04;
    st.scancode_set = 4;
    g_assert_false(ps2_kbd_vmsd.post_load(&st, 3, &err));
    g_clear_error(&err);
    st.scancode_set = 4; /* version 2 streams: forced to 2 */
    g_assert_true(ps2_kbd_vmsd.post_load(&st, 2, NULL));
    g_assert_cmpint(st.scancode_set, ==, 2);
    st = k->s;
    st.loaded = 0x04;
    st.parent_obj.queue.rptr = 256;
    g_assert_false(ps2_kbd_vmsd.post_load(&st, 3, &err));
    g_assert_nonnull(strstr(err->message, "rptr"));
    ps2_kbd_free(k);
}

static void test_mouse_load_checks(void)
{
    Line l;
    line_init(&l);
    Ps2MouseDevice *m = ps2_mouse_new(&l.irq);
    Ps2MouseState st;
    g_autoptr(GError) err = NULL;

    ps2_write_mouse(m, 0xe9);
    st = m->s;
    g_assert_true(ps2_mouse_vmsd.post_load(&st, 2, NULL));
    st.mouse_type = 2;
    g_assert_false(ps2_mouse_vmsd.post_load(&st, 2, &err));
    g_assert_nonnull(strstr(err->message, "mouse_type"));
    g_clear_error(&err);
    st = m->s;
    st.parent_obj.queue.count = 17;
    st.parent_obj.queue.wptr = 17;
    g_assert_false(ps2_mouse_vmsd.post_load(&st, 2, &err));
    g_clear_error(&err);
    st = m->s;
    st.parent_obj.write_cmd = 0xe9;
    g_assert_false(ps2_mouse_vmsd.post_load(&st, 2, &err));
    ps2_mouse_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hw/ps2/kbd-commands", test_kbd_commands);
    g_test_add_func("/hw/ps2/kbd-replies-supersede",
                    test_kbd_replies_supersede);
    g_test_add_func("/hw/ps2/kbd-scan-translate", test_kbd_scan_and_translate);
    g_test_add_func("/hw/ps2/queue-wraps", test_queue_wraps);
    g_test_add_func("/hw/ps2/mouse-commands", test_mouse_commands);
    g_test_add_func("/hw/ps2/mouse-detect-packets",
                    test_mouse_detect_and_packets);
    g_test_add_func("/hw/ps2/kbd-load-checks", test_kbd_load_checks);
    g_test_add_func("/hw/ps2/mouse-load-checks", test_mouse_load_checks);
    return g_test_run();
}
