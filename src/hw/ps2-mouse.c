/*
 * PS/2 mouse: the command state machine (E6-EC, EE, F0, F2-F6, FF), wrap
 * mode, the IntelliMouse / Explorer detection knocks, 3- and 4-byte
 * movement packets from host motion, and the `ps2mouse` v2 section.
 * Behaviour follows QEMU 7.2's hw/input/ps2.c (see ps2.h for what is left
 * out).
 */
#include "hw/ps2-internal.h"

#include <string.h>

#include "base/error.h"
#include "base/log.h"

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

/* ---- device state: `ps2mouse` v2 ---- */

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

bool ps2_mouse_realize(Ps2MouseDevice *m, VmsRegistry *reg, GError **errp)
{
    return vms_register(reg, "ps2mouse", 0, -1, &ps2_mouse_vmsd, &m->s,
                        sizeof(m->s), errp);
}
