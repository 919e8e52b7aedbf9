/*
 * PS/2 keyboard: the command state machine (ED, EE, F0, F2-F6, FA, FC,
 * FF, 00, 05; anything else answered with FE), scancode input with the
 * i8042's set 2 -> set 1 translation, and the `ps2kbd` v3 section with its
 * ledstate, need_high_bit and command_reply_queue subsections. Behaviour
 * follows QEMU 7.2's hw/input/ps2.c (see ps2.h for what is left out).
 */
#include "hw/ps2-internal.h"

#include "base/error.h"

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

/* ---- device state: `ps2kbd` v3 ---- */

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

bool ps2_kbd_realize(Ps2KbdDevice *k, VmsRegistry *reg, GError **errp)
{
    return vms_register(reg, "ps2kbd", 0, -1, &ps2_kbd_vmsd, &k->s,
                        sizeof(k->s), errp);
}
