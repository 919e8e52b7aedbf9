/*
 * PS/2 keyboard and mouse: queue, command state machines, host input and
 * the `ps2kbd` / `ps2mouse` sections. Behaviour follows QEMU 7.2's
 * hw/input/ps2.c (see ps2.h for what is covered and left out).
 */
#include "hw/ps2.h"

#include <string.h>

#include "base/error.h"
#include "base/log.h"

/* Keyboard commands and replies */
#define PS2_KBD_CMD_SET_LEDS       0xED
#define PS2_KBD_CMD_ECHO           0xEE
#define PS2_KBD_CMD_SCANCODE       0xF0
#define PS2_KBD_CMD_GET_ID         0xF2
#define PS2_KBD_CMD_SET_RATE       0xF3
#define PS2_KBD_CMD_ENABLE         0xF4
#define PS2_KBD_CMD_RESET_DISABLE  0xF5
#define PS2_KBD_CMD_RESET_ENABLE   0xF6
#define PS2_KBD_CMD_SET_TYPEMATIC  0xFA
#define PS2_KBD_CMD_SET_MAKE_BREAK 0xFC
#define PS2_KBD_CMD_RESET          0xFF
#define PS2_KBD_REPLY_POR          0xAA
#define PS2_KBD_REPLY_ID           0xAB
#define PS2_KBD_REPLY_ACK          0xFA
#define PS2_KBD_REPLY_RESEND       0xFE

/* Mouse commands */
#define PS2_AUX_SET_SCALE11 0xE6
#define PS2_AUX_SET_SCALE21 0xE7
#define PS2_AUX_SET_RES     0xE8
#define PS2_AUX_GET_SCALE   0xE9
#define PS2_AUX_SET_STREAM  0xEA
#define PS2_AUX_POLL        0xEB
#define PS2_AUX_RESET_WRAP  0xEC
#define PS2_AUX_SET_WRAP    0xEE
#define PS2_AUX_SET_REMOTE  0xF0
#define PS2_AUX_GET_TYPE    0xF2
#define PS2_AUX_SET_SAMPLE  0xF3
#define PS2_AUX_ENABLE_DEV  0xF4
#define PS2_AUX_DISABLE_DEV 0xF5
#define PS2_AUX_SET_DEFAULT 0xF6
#define PS2_AUX_RESET       0xFF
#define PS2_AUX_ACK         0xFA

#define PS2_RING_MASK (PS2_BUFFER_SIZE - 1)

/* Load bookkeeping bits in Ps2KbdState.loaded */
#define PS2_LOADED_LEDSTATE 0x01
#define PS2_LOADED_HIGH_BIT 0x02
#define PS2_LOADED_CQUEUE   0x04

/*
 * The i8042's set 2 -> set 1 translation (8042 datasheet; the table QEMU
 * applies in ps2_put_keycode). Codes 0x80 and up map to themselves except
 * 0x83 (F7) and 0x84 (SysRq).
 */
static const uint8_t ps2_xlate_low[128] = {
    0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40,
    0x3e, 0x0f, 0x29, 0x59, 0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a,
    0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b, 0x67, 0x2e, 0x2d, 0x20,
    0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
    0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24,
    0x16, 0x08, 0x09, 0x5f, 0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60,
    0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61, 0x6d, 0x73, 0x28, 0x74,
    0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
    0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b,
    0x47, 0x7e, 0x7f, 0x6f, 0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45,
    0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
};

static uint8_t ps2_xlate(uint8_t code)
{
    if (code < 0x80) {
        return ps2_xlate_low[code];
    }
    if (code == 0x83) {
        return 0x41;
    }
    return code == 0x84 ? 0x54 : code;
}

/* ---- the queue ---- */

static void ps2_queue_reset(Ps2Queue *q)
{
    q->rptr = 0;
    q->wptr = 0;
    q->cwptr = -1;
    q->count = 0;
}

static void ps2_queue_noirq(Ps2Queue *q, uint8_t b)
{
    if (q->count >= PS2_QUEUE_SIZE) {
        return;
    }
    q->data[q->wptr] = b;
    q->wptr = (q->wptr + 1) & PS2_RING_MASK;
    q->count++;
}

/* Queues n bytes, all or none, then raises the line (QEMU's ps2_queue_N). */
static void ps2_queue_n(Ps2CommonState *c, HwIrq *irq, const uint8_t *b, int n)
{
    if (PS2_QUEUE_SIZE - c->queue.count < n) {
        return;
    }
    for (int i = 0; i < n; i++) {
        ps2_queue_noirq(&c->queue, b[i]);
    }
    hw_irq_raise(irq);
}

static void ps2_queue1(Ps2CommonState *c, HwIrq *irq, uint8_t b)
{
    ps2_queue_n(c, irq, &b, 1);
}

/*
 * Keyboard command replies go in front of queued scancodes: rptr moves
 * back and cwptr marks where the replies end. Not bounded by
 * PS2_QUEUE_SIZE, as in QEMU (at most 3 bytes per command).
 */
static void ps2_cqueue_n(Ps2CommonState *c, HwIrq *irq, const uint8_t *b, int n)
{
    Ps2Queue *q = &c->queue;

    q->rptr = (q->rptr - n) & PS2_RING_MASK;
    q->cwptr = q->rptr;
    for (int i = 0; i < n; i++) {
        q->data[q->cwptr] = b[i];
        q->cwptr = (q->cwptr + 1) & PS2_RING_MASK;
        q->count++;
    }
    hw_irq_raise(irq);
}

/* Drops command replies not yet read (a new command supersedes them). */
static void ps2_cqueue_reset(Ps2Queue *q)
{
    if (q->cwptr == -1) {
        return;
    }
    q->count -= (q->cwptr - q->rptr) & PS2_RING_MASK;
    q->rptr = q->cwptr;
    q->cwptr = -1;
}

static uint8_t ps2_read_data(Ps2CommonState *c, HwIrq *irq)
{
    Ps2Queue *q = &c->queue;
    uint8_t val;

    if (q->count == 0) {
        /* Empty: the last byte again (QEMU: needed by EMM386). */
        return q->data[(q->rptr - 1) & PS2_RING_MASK];
    }
    val = q->data[q->rptr];
    q->rptr = (q->rptr + 1) & PS2_RING_MASK;
    q->count--;
    if (q->rptr == q->cwptr) {
        q->cwptr = -1;
    }
    hw_irq_lower(irq);
    if (q->count) {
        hw_irq_raise(irq);
    }
    return val;
}

static void ps2_common_reset(Ps2CommonState *c, HwIrq *irq)
{
    c->write_cmd = -1;
    ps2_queue_reset(&c->queue);
    hw_irq_lower(irq);
}

/* ---- keyboard ---- */

static void ps2_kbd_cq1(Ps2KbdDevice *k, uint8_t b)
{
    ps2_cqueue_n(&k->s.parent_obj, k->irq, &b, 1);
}

static void ps2_kbd_cq2(Ps2KbdDevice *k, uint8_t b1, uint8_t b2)
{
    uint8_t b[2] = {b1, b2};

    ps2_cqueue_n(&k->s.parent_obj, k->irq, b, 2);
}

/* F5/F6/FF: defaults; the queue is emptied without lowering the line. */
static void ps2_kbd_defaults(Ps2KbdDevice *k)
{
    k->s.scan_enabled = 1;
    k->s.scancode_set = 2;
    ps2_queue_reset(&k->s.parent_obj.queue);
    k->s.ledstate = 0;
}

static void ps2_kbd_command(Ps2KbdDevice *k, uint8_t val)
{
    Ps2KbdState *s = &k->s;
    uint8_t id[3] = {PS2_KBD_REPLY_ACK, PS2_KBD_REPLY_ID, 0x83};

    switch (val) {
    case 0x00:
    case PS2_KBD_CMD_SET_TYPEMATIC:
        ps2_kbd_cq1(k, PS2_KBD_REPLY_ACK);
        break;
    case PS2_KBD_CMD_GET_ID: /* an MF2 keyboard */
        id[2] = s->translate ? 0x41 : 0x83;
        ps2_cqueue_n(&s->parent_obj, k->irq, id, 3);
        break;
    case PS2_KBD_CMD_ECHO:
        ps2_kbd_cq1(k, PS2_KBD_CMD_ECHO);
        break;
    case PS2_KBD_CMD_ENABLE:
        s->scan_enabled = 1;
        ps2_kbd_cq1(k, PS2_KBD_REPLY_ACK);
        break;
    case PS2_KBD_CMD_SCANCODE:
    case PS2_KBD_CMD_SET_LEDS:
    case PS2_KBD_CMD_SET_RATE:
    case PS2_KBD_CMD_SET_MAKE_BREAK:
        s->parent_obj.write_cmd = val;
        ps2_kbd_cq1(k, PS2_KBD_REPLY_ACK);
        break;
    case PS2_KBD_CMD_RESET_DISABLE:
    case PS2_KBD_CMD_RESET_ENABLE:
        ps2_kbd_defaults(k);
        s->scan_enabled = val == PS2_KBD_CMD_RESET_ENABLE;
        ps2_kbd_cq1(k, PS2_KBD_REPLY_ACK);
        break;
    case PS2_KBD_CMD_RESET:
        ps2_kbd_defaults(k);
        ps2_kbd_cq2(k, PS2_KBD_REPLY_ACK, PS2_KBD_REPLY_POR);
        break;
    default: /* 0x05 and everything unknown */
        ps2_kbd_cq1(k, PS2_KBD_REPLY_RESEND);
        break;
    }
}

static void ps2_kbd_scancode_arg(Ps2KbdDevice *k, uint8_t val)
{
    Ps2KbdState *s = &k->s;

    if (val == 0) {
        uint8_t set = s->scancode_set;
        ps2_kbd_cq2(k, PS2_KBD_REPLY_ACK, s->translate ? ps2_xlate(set) : set);
    } else if (val <= 3) {
        s->scancode_set = val;
        ps2_kbd_cq1(k, PS2_KBD_REPLY_ACK);
    } else {
        ps2_kbd_cq1(k, PS2_KBD_REPLY_RESEND);
    }
}

void ps2_write_keyboard(Ps2KbdDevice *k, uint8_t val)
{
    Ps2CommonState *c = &k->s.parent_obj;

    ps2_cqueue_reset(&c->queue);
    switch (c->write_cmd) {
    case PS2_KBD_CMD_SCANCODE:
        ps2_kbd_scancode_arg(k, val);
        break;
    case PS2_KBD_CMD_SET_LEDS:
        k->s.ledstate = val;
        ps2_kbd_cq1(k, PS2_KBD_REPLY_ACK);
        break;
    case PS2_KBD_CMD_SET_RATE:
    case PS2_KBD_CMD_SET_MAKE_BREAK:
        ps2_kbd_cq1(k, PS2_KBD_REPLY_ACK);
        break;
    default:
        ps2_kbd_command(k, val);
        return;
    }
    c->write_cmd = -1;
}

void ps2_kbd_put_keycode(Ps2KbdDevice *k, uint8_t keycode)
{
    Ps2KbdState *s = &k->s;

    if (!s->scan_enabled) {
        return;
    }
    if (!s->translate) {
        ps2_queue1(&s->parent_obj, k->irq, keycode);
    } else if (keycode == 0xf0) {
        s->need_high_bit = true;
    } else if (s->need_high_bit) {
        ps2_queue1(&s->parent_obj, k->irq, ps2_xlate(keycode) | 0x80);
        s->need_high_bit = false;
    } else {
        ps2_queue1(&s->parent_obj, k->irq, ps2_xlate(keycode));
    }
}

uint8_t ps2_kbd_read_data(Ps2KbdDevice *k)
{
    return ps2_read_data(&k->s.parent_obj, k->irq);
}

void ps2_kbd_set_translation(Ps2KbdDevice *k, bool on)
{
    k->s.translate = on;
}

void ps2_kbd_reset(Ps2KbdDevice *k)
{
    ps2_common_reset(&k->s.parent_obj, k->irq);
    k->s.scan_enabled = 1;
    k->s.translate = 0;
    k->s.scancode_set = 2;
}

Ps2KbdDevice *ps2_kbd_new(HwIrq *irq)
{
    Ps2KbdDevice *k = g_new0(Ps2KbdDevice, 1);

    k->irq = irq;
    ps2_kbd_reset(k);
    return k;
}

void ps2_kbd_free(Ps2KbdDevice *k)
{
    g_free(k);
}

/* ---- mouse ---- */

static void ps2_mouse_q(Ps2MouseDevice *m, uint8_t b)
{
    ps2_queue1(&m->s.parent_obj, m->irq, b);
}

static int ps2_clamp(int v, int lim)
{
    return v > lim ? lim : (v < -lim ? -lim : v);
}

/* The 4th byte of IMPS/2 (type 3) and IMEX (type 4) packets. */
static uint8_t ps2_mouse_wheel_byte(Ps2MouseState *s)
{
    int dz;

    if (s->mouse_type == 3) {
        dz = ps2_clamp(s->mouse_dz, 127);
        s->mouse_dz -= dz;
        return dz & 0xff;
    }
    dz = ps2_clamp(s->mouse_dz, 7);
    s->mouse_dz -= dz;
    return (dz & 0x0f) | ((s->mouse_buttons & 0x18) << 1);
}

/* One movement packet from the pending deltas; false if it does not fit. */
static bool ps2_mouse_send_packet(Ps2MouseDevice *m)
{
    Ps2MouseState *s = &m->s;
    Ps2Queue *q = &s->parent_obj.queue;
    int needed = s->mouse_type ? 4 : 3;
    int dx = ps2_clamp(s->mouse_dx, 127);
    int dy = ps2_clamp(s->mouse_dy, 127);

    if (PS2_QUEUE_SIZE - q->count < needed) {
        return false;
    }
    ps2_queue_noirq(q, 0x08 | ((dx < 0) << 4) | ((dy < 0) << 5) |
                           (s->mouse_buttons & 0x07));
    ps2_queue_noirq(q, dx & 0xff);
    ps2_queue_noirq(q, dy & 0xff);
    if (s->mouse_type == 3 || s->mouse_type == 4) {
        ps2_queue_noirq(q, ps2_mouse_wheel_byte(s));
    } else {
        s->mouse_dz = 0; /* no wheel: ignore it */
    }
    hw_irq_raise(m->irq);
    s->mouse_dx -= dx;
    s->mouse_dy -= dy;
    return true;
}

void ps2_mouse_move(Ps2MouseDevice *m, int dx, int dy, int dz, uint8_t buttons)
{
    Ps2MouseState *s = &m->s;

    if (!(s->mouse_status & PS2_MOUSE_STATUS_ENABLED)) {
        return;
    }
    s->mouse_dx += dx;
    s->mouse_dy -= dy; /* PS/2 y grows upwards */
    s->mouse_dz += dz;
    s->mouse_buttons = buttons;
    if (s->mouse_status & PS2_MOUSE_STATUS_REMOTE) {
        return; /* kept for the next EB (read data) */
    }
    while (ps2_mouse_send_packet(m)) {
        if (!s->mouse_dx && !s->mouse_dy && !s->mouse_dz) {
            break;
        }
    }
}

/* F6 and FF */
static void ps2_mouse_defaults(Ps2MouseState *s)
{
    s->mouse_sample_rate = 100;
    s->mouse_resolution = 2;
    s->mouse_status = 0;
}

static void ps2_mouse_report(Ps2MouseDevice *m)
{
    Ps2MouseState *s = &m->s;
    uint8_t b[4] = {PS2_AUX_ACK, s->mouse_status, s->mouse_resolution,
                    s->mouse_sample_rate};

    ps2_queue_n(&s->parent_obj, m->irq, b, 4);
}

static void ps2_mouse_reset_cmd(Ps2MouseDevice *m)
{
    Ps2MouseState *s = &m->s;
    uint8_t b[3] = {PS2_AUX_ACK, 0xaa, 0};

    ps2_mouse_defaults(s);
    s->mouse_type = 0;
    ps2_queue_reset(&s->parent_obj.queue);
    ps2_queue_n(&s->parent_obj, m->irq, b, 3);
}

static void ps2_mouse_set_status(Ps2MouseDevice *m, uint8_t set, uint8_t clear)
{
    m->s.mouse_status = (m->s.mouse_status & ~clear) | set;
    ps2_mouse_q(m, PS2_AUX_ACK);
}

static void ps2_mouse_command(Ps2MouseDevice *m, uint8_t val)
{
    Ps2MouseState *s = &m->s;
    uint8_t b[2] = {PS2_AUX_ACK, s->mouse_type};

    switch (val) {
    case PS2_AUX_SET_SCALE11:
        ps2_mouse_set_status(m, 0, PS2_MOUSE_STATUS_SCALE21);
        break;
    case PS2_AUX_SET_SCALE21:
        ps2_mouse_set_status(m, PS2_MOUSE_STATUS_SCALE21, 0);
        break;
    case PS2_AUX_SET_STREAM:
        ps2_mouse_set_status(m, 0, PS2_MOUSE_STATUS_REMOTE);
        break;
    case PS2_AUX_SET_REMOTE:
        ps2_mouse_set_status(m, PS2_MOUSE_STATUS_REMOTE, 0);
        break;
    case PS2_AUX_ENABLE_DEV:
        ps2_mouse_set_status(m, PS2_MOUSE_STATUS_ENABLED, 0);
        break;
    case PS2_AUX_DISABLE_DEV:
        ps2_mouse_set_status(m, 0, PS2_MOUSE_STATUS_ENABLED);
        break;
    case PS2_AUX_SET_WRAP:
        s->mouse_wrap = 1;
        ps2_mouse_q(m, PS2_AUX_ACK);
        break;
    case PS2_AUX_GET_TYPE:
        ps2_queue_n(&s->parent_obj, m->irq, b, 2);
        break;
    case PS2_AUX_SET_RES:
    case PS2_AUX_SET_SAMPLE:
        s->parent_obj.write_cmd = val;
        ps2_mouse_q(m, PS2_AUX_ACK);
        break;
    case PS2_AUX_GET_SCALE:
        ps2_mouse_report(m);
        break;
    case PS2_AUX_POLL:
        ps2_mouse_q(m, PS2_AUX_ACK);
        ps2_mouse_send_packet(m);
        break;
    case PS2_AUX_SET_DEFAULT:
        ps2_mouse_defaults(s);
        ps2_mouse_q(m, PS2_AUX_ACK);
        break;
    case PS2_AUX_RESET:
        ps2_mouse_reset_cmd(m);
        break;
    default: /* QEMU answers nothing */
        ls_log_ratelimited("ps2mouse: unknown command 0x%02x", val);
        break;
    }
}

/* IntelliMouse knocks: rates 200,100,80 -> type 3; 200,200,80 -> type 4. */
static void ps2_mouse_detect(Ps2MouseState *s, uint8_t rate)
{
    switch (s->mouse_detect_state) {
    case 1:
        s->mouse_detect_state = rate == 100 ? 2 : (rate == 200 ? 3 : 0);
        break;
    case 2:
    case 3:
        if (rate == 80) {
            s->mouse_type = s->mouse_detect_state == 2 ? 3 : 4;
        }
        s->mouse_detect_state = 0;
        break;
    default:
        s->mouse_detect_state = rate == 200 ? 1 : 0;
        break;
    }
}

void ps2_write_mouse(Ps2MouseDevice *m, uint8_t val)
{
    Ps2MouseState *s = &m->s;

    switch (s->parent_obj.write_cmd) {
    case PS2_AUX_SET_SAMPLE:
        s->mouse_sample_rate = val;
        ps2_mouse_detect(s, val);
        break;
    case PS2_AUX_SET_RES:
        s->mouse_resolution = val;
        break;
    default:
        if (s->mouse_wrap && val == PS2_AUX_RESET_WRAP) {
            s->mouse_wrap = 0;
            ps2_mouse_q(m, PS2_AUX_ACK);
        } else if (s->mouse_wrap && val != PS2_AUX_RESET) {
            ps2_mouse_q(m, val); /* wrap mode echoes */
        } else {
            ps2_mouse_command(m, val);
        }
        return;
    }
    ps2_mouse_q(m, PS2_AUX_ACK);
    s->parent_obj.write_cmd = -1;
}

uint8_t ps2_mouse_read_data(Ps2MouseDevice *m)
{
    return ps2_read_data(&m->s.parent_obj, m->irq);
}

void ps2_mouse_reset(Ps2MouseDevice *m)
{
    Ps2CommonState common = m->s.parent_obj;

    ps2_common_reset(&common, m->irq);
    memset(&m->s, 0, sizeof(m->s));
    m->s.parent_obj = common;
}

Ps2MouseDevice *ps2_mouse_new(HwIrq *irq)
{
    Ps2MouseDevice *m = g_new0(Ps2MouseDevice, 1);

    m->irq = irq;
    ps2_mouse_reset(m);
    return m;
}

void ps2_mouse_free(Ps2MouseDevice *m)
{
    g_free(m);
}

/* ---- device state: `ps2kbd` v3 and `ps2mouse` v2 ---- */

/* Queue invariants QEMU keeps (its post_load clamps; we refuse). */
static bool ps2_common_check(const Ps2CommonState *c, GError **errp)
{
    const Ps2Queue *q = &c->queue;
    int ccount = 0;

    if (q->rptr < 0 || q->rptr > PS2_RING_MASK) {
        ls_error_set(errp, "queue.rptr %d out of range 0..255", q->rptr);
        return false;
    }
    if (q->cwptr != -1) {
        ccount = (q->cwptr - q->rptr) & PS2_RING_MASK;
        if (q->cwptr < 0 || q->cwptr > PS2_RING_MASK || ccount == 0 ||
            ccount > PS2_QUEUE_HEADROOM) {
            ls_error_set(errp, "queue.cwptr %d inconsistent with rptr %d",
                         q->cwptr, q->rptr);
            return false;
        }
    }
    if (q->count < ccount || q->count > ccount + PS2_QUEUE_SIZE) {
        ls_error_set(errp, "queue.count %d out of range %d..%d", q->count,
                     ccount, ccount + PS2_QUEUE_SIZE);
        return false;
    }
    if (q->wptr != ((q->rptr + q->count) & PS2_RING_MASK)) {
        ls_error_set(errp,
                     "queue.wptr %d inconsistent with rptr %d + "
                     "count %d",
                     q->wptr, q->rptr, q->count);
        return false;
    }
    return true;
}

static bool ps2_kbd_check(const Ps2KbdState *s, GError **errp)
{
    int32_t wc = s->parent_obj.write_cmd;

    if (wc != -1 && wc != PS2_KBD_CMD_SCANCODE && wc != PS2_KBD_CMD_SET_LEDS &&
        wc != PS2_KBD_CMD_SET_RATE && wc != PS2_KBD_CMD_SET_MAKE_BREAK) {
        ls_error_set(errp, "write_cmd 0x%x is no keyboard command", wc);
        return false;
    }
    if (s->scancode_set < 1 || s->scancode_set > 3) {
        ls_error_set(errp, "scancode_set %d out of range 1..3",
                     s->scancode_set);
        return false;
    }
    if ((s->scan_enabled | s->translate) & ~1) {
        ls_error_set(errp, "scan_enabled %d / translate %d not 0 or 1",
                     s->scan_enabled, s->translate);
        return false;
    }
    if (s->ledstate < 0 || s->ledstate > 0xff) {
        ls_error_set(errp, "ledstate %d out of range 0..255", s->ledstate);
        return false;
    }
    return ps2_common_check(&s->parent_obj, errp);
}

static bool ps2_kbd_post_load(void *opaque, int version_id, GError **errp)
{
    Ps2KbdState *s = opaque;

    if (version_id == 2) {
        s->scancode_set = 2; /* v2 streams predate scancode sets */
    }
    /* An absent subsection means its field had the default value. */
    if (!(s->loaded & PS2_LOADED_LEDSTATE)) {
        s->ledstate = 0;
    }
    if (!(s->loaded & PS2_LOADED_HIGH_BIT)) {
        s->need_high_bit = false;
    }
    if (!(s->loaded & PS2_LOADED_CQUEUE)) {
        s->parent_obj.queue.cwptr = -1;
    }
    s->loaded = 0;
    return ps2_kbd_check(s, errp);
}

static void ps2_kbd_pre_load(void *opaque)
{
    ((Ps2KbdState *)opaque)->loaded = 0;
}

static bool ps2_kbd_mark(void *opaque, uint8_t bit)
{
    ((Ps2KbdState *)opaque)->loaded |= bit;
    return true;
}

static bool ps2_kbd_led_loaded(void *opaque, int version_id, GError **errp)
{
    return ps2_kbd_mark(opaque, PS2_LOADED_LEDSTATE);
}

static bool ps2_kbd_hb_loaded(void *opaque, int version_id, GError **errp)
{
    return ps2_kbd_mark(opaque, PS2_LOADED_HIGH_BIT);
}

static bool ps2_kbd_cq_loaded(void *opaque, int version_id, GError **errp)
{
    return ps2_kbd_mark(opaque, PS2_LOADED_CQUEUE);
}

static bool ps2_kbd_led_needed(const void *opaque)
{
    return ((const Ps2KbdState *)opaque)->ledstate != 0;
}

static bool ps2_kbd_hb_needed(const void *opaque)
{
    return ((const Ps2KbdState *)opaque)->need_high_bit;
}

static bool ps2_kbd_cq_needed(const void *opaque)
{
    return ((const Ps2KbdState *)opaque)->parent_obj.queue.cwptr != -1;
}

static const VmsField ps2_common_fields[] = {
    VMS_INT32(Ps2CommonState, write_cmd),
    VMS_INT32(Ps2CommonState, queue.rptr),
    VMS_INT32(Ps2CommonState, queue.wptr),
    VMS_INT32(Ps2CommonState, queue.count),
    VMS_BUFFER(Ps2CommonState, queue.data),
    VMS_END_OF_LIST};

static const VmsDesc ps2_common_vmsd = {
    .name = "PS2 Common State",
    .version_id = 3,
    .minimum_version_id = 2,
    .fields = ps2_common_fields,
};

static const VmsField ps2_kbd_led_fields[] = {VMS_INT32(Ps2KbdState, ledstate),
                                              VMS_END_OF_LIST};

static const VmsDesc ps2_kbd_led_vmsd = {
    .name = "ps2kbd/ledstate",
    .version_id = 3,
    .minimum_version_id = 2,
    .fields = ps2_kbd_led_fields,
    .needed = ps2_kbd_led_needed,
    .post_load = ps2_kbd_led_loaded,
};

static const VmsField ps2_kbd_hb_fields[] = {
    VMS_BOOL(Ps2KbdState, need_high_bit), VMS_END_OF_LIST};

static const VmsDesc ps2_kbd_hb_vmsd = {
    .name = "ps2kbd/need_high_bit",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = ps2_kbd_hb_fields,
    .needed = ps2_kbd_hb_needed,
    .post_load = ps2_kbd_hb_loaded,
};

static const VmsField ps2_kbd_cq_fields[] = {
    VMS_INT32(Ps2KbdState, parent_obj.queue.cwptr), VMS_END_OF_LIST};

static const VmsDesc ps2_kbd_cq_vmsd = {
    .name = "ps2kbd/command_reply_queue",
    .fields = ps2_kbd_cq_fields,
    .needed = ps2_kbd_cq_needed,
    .post_load = ps2_kbd_cq_loaded,
};

static const VmsDesc *const ps2_kbd_subsections[] = {
    &ps2_kbd_led_vmsd, &ps2_kbd_hb_vmsd, &ps2_kbd_cq_vmsd, NULL};

static const VmsField ps2_kbd_fields[] = {
    VMS_STRUCT_ONE(Ps2KbdState, parent_obj, ps2_common_vmsd, Ps2CommonState),
    VMS_INT32(Ps2KbdState, scan_enabled), VMS_INT32(Ps2KbdState, translate),
    VMS_INT32_V(Ps2KbdState, scancode_set, 3), VMS_END_OF_LIST};

const VmsDesc ps2_kbd_vmsd = {
    .name = "ps2kbd",
    .version_id = 3,
    .minimum_version_id = 2,
    .fields = ps2_kbd_fields,
    .subsections = ps2_kbd_subsections,
    .pre_load = ps2_kbd_pre_load,
    .post_load = ps2_kbd_post_load,
};

static bool ps2_mouse_check(const Ps2MouseState *s, GError **errp)
{
    int32_t wc = s->parent_obj.write_cmd;

    if (wc != -1 && wc != PS2_AUX_SET_SAMPLE && wc != PS2_AUX_SET_RES) {
        ls_error_set(errp, "write_cmd 0x%x is no mouse command", wc);
        return false;
    }
    if (s->mouse_type != 0 && s->mouse_type != 3 && s->mouse_type != 4) {
        ls_error_set(errp, "mouse_type %u not 0, 3 or 4", s->mouse_type);
        return false;
    }
    if (s->mouse_detect_state > 3 || s->mouse_wrap > 1) {
        ls_error_set(errp,
                     "mouse_detect_state %u / mouse_wrap %u out of "
                     "range",
                     s->mouse_detect_state, s->mouse_wrap);
        return false;
    }
    if (s->mouse_status &
        ~(PS2_MOUSE_STATUS_SCALE21 | PS2_MOUSE_STATUS_ENABLED |
          PS2_MOUSE_STATUS_REMOTE)) {
        ls_error_set(errp, "mouse_status 0x%02x has unknown bits",
                     s->mouse_status);
        return false;
    }
    if (s->mouse_buttons & ~0x1f) {
        ls_error_set(errp, "mouse_buttons 0x%02x has unknown bits",
                     s->mouse_buttons);
        return false;
    }
    return ps2_common_check(&s->parent_obj, errp);
}

static bool ps2_mouse_post_load(void *opaque, int version_id, GError **errp)
{
    Ps2MouseState *s = opaque;

    s->parent_obj.queue.cwptr = -1; /* the mouse never queues replies */
    return ps2_mouse_check(s, errp);
}

static const VmsField ps2_mouse_fields[] = {
    VMS_STRUCT_ONE(Ps2MouseState, parent_obj, ps2_common_vmsd, Ps2CommonState),
    VMS_UINT8(Ps2MouseState, mouse_status),
    VMS_UINT8(Ps2MouseState, mouse_resolution),
    VMS_UINT8(Ps2MouseState, mouse_sample_rate),
    VMS_UINT8(Ps2MouseState, mouse_wrap),
    VMS_UINT8(Ps2MouseState, mouse_type),
    VMS_UINT8(Ps2MouseState, mouse_detect_state),
    VMS_INT32(Ps2MouseState, mouse_dx),
    VMS_INT32(Ps2MouseState, mouse_dy),
    VMS_INT32(Ps2MouseState, mouse_dz),
    VMS_UINT8(Ps2MouseState, mouse_buttons),
    VMS_END_OF_LIST};

const VmsDesc ps2_mouse_vmsd = {
    .name = "ps2mouse",
    .version_id = 2,
    .minimum_version_id = 2,
    .fields = ps2_mouse_fields,
    .post_load = ps2_mouse_post_load,
};

bool ps2_kbd_realize(Ps2KbdDevice *k, VmsRegistry *reg, GError **errp)
{
    return vms_register(reg, "ps2kbd", 0, -1, &ps2_kbd_vmsd, &k->s,
                        sizeof(k->s), errp);
}

bool ps2_mouse_realize(Ps2MouseDevice *m, VmsRegistry *reg, GError **errp)
{
    return vms_register(reg, "ps2mouse", 0, -1, &ps2_mouse_vmsd, &m->s,
                        sizeof(m->s), errp);
}
