/*
 * PS/2 keyboard and mouse, as QEMU 7.2 models them (hw/input/ps2.c): the
 * devices behind the i8042's two ports. Each has a byte queue (a 256-byte
 * ring of which at most PS2_QUEUE_SIZE bytes are scancode/packet data, plus
 * up to PS2_QUEUE_HEADROOM keyboard command replies queued in front of
 * them) and raises its output line while the queue holds data; the i8042
 * pulls bytes with ps2_*_read_data().
 *
 * Keyboard: commands ED (LEDs), EE (echo), F0 (scancode set get/set),
 * F2 (identify), F3 (typematic), F4/F5/F6 (enable, reset+disable,
 * defaults), FA, FC, FF (reset), 00, 05; anything else is answered with FE
 * (resend). Scancode translation to set 1 (i8042 mode bit 6) happens here,
 * as in QEMU. Mouse: E6-EC, EE, F0, F2-F6, FF, wrap mode and the
 * IntelliMouse / Explorer detection sequences (200,100,80 -> type 3;
 * 200,200,80 -> type 4); 3- or 4-byte movement packets.
 *
 * Sections: `ps2kbd` v3 (PS2 Common State v3 + scan_enabled, translate,
 * scancode_set; subsections ps2kbd/ledstate, ps2kbd/need_high_bit,
 * ps2kbd/command_reply_queue) and `ps2mouse` v2, byte-identical to QEMU's.
 *
 * Left out: host input plumbing (QKeyCode -> scancode maps, the Pause and
 * PrintScreen special sequences, modifier tracking), horizontal wheel, the
 * LED callback to the UI. Host input enters as raw scancode bytes
 * (ps2_kbd_put_keycode) and relative motion (ps2_mouse_move).
 */
#ifndef LS_HW_PS2_H
#define LS_HW_PS2_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/irq.h"
#include "vms/vms.h"

#define PS2_BUFFER_SIZE    256 /* ring size; the wire carries all of it */
#define PS2_QUEUE_SIZE     16  /* data bytes the PS/2 protocol allows */
#define PS2_QUEUE_HEADROOM 8   /* keyboard command replies kept on load */

/* mouse_status bits (reported by E9) */
#define PS2_MOUSE_STATUS_SCALE21 0x10
#define PS2_MOUSE_STATUS_ENABLED 0x20
#define PS2_MOUSE_STATUS_REMOTE  0x40

/* Button bits for ps2_mouse_move (PS/2 packet order). */
#define PS2_MOUSE_BUTTON_LEFT   0x01
#define PS2_MOUSE_BUTTON_RIGHT  0x02
#define PS2_MOUSE_BUTTON_MIDDLE 0x04
#define PS2_MOUSE_BUTTON_SIDE   0x08
#define PS2_MOUSE_BUTTON_EXTRA  0x10

typedef struct Ps2Queue {
    int32_t rptr;  /* next byte to read, 0..255 */
    int32_t wptr;  /* next free slot: (rptr + count) & 255 */
    int32_t count; /* bytes queued (command replies + data) */
    int32_t cwptr; /* end of the command replies at rptr, or -1 */
    uint8_t data[PS2_BUFFER_SIZE];
} Ps2Queue;

/* QEMU's "PS2 Common State" (cwptr travels in a ps2kbd subsection). */
typedef struct Ps2CommonState {
    int32_t write_cmd; /* command awaiting its argument byte, or -1 */
    Ps2Queue queue;
} Ps2CommonState;

typedef struct Ps2KbdState {
    Ps2CommonState parent_obj;
    int32_t scan_enabled;
    int32_t translate;    /* 1: send set-1 codes (i8042 mode KCC) */
    int32_t scancode_set; /* 1..3 */
    int32_t ledstate;     /* subsection ps2kbd/ledstate */
    bool need_high_bit;   /* subsection ps2kbd/need_high_bit */
    uint8_t loaded;       /* load bookkeeping: subsections seen */
} Ps2KbdState;

typedef struct Ps2MouseState {
    Ps2CommonState parent_obj;
    uint8_t mouse_status;
    uint8_t mouse_resolution;
    uint8_t mouse_sample_rate;
    uint8_t mouse_wrap;
    uint8_t mouse_type;         /* 0 PS/2, 3 IMPS/2, 4 IMEX */
    uint8_t mouse_detect_state; /* 0..3 */
    int32_t mouse_dx;
    int32_t mouse_dy;
    int32_t mouse_dz;
    uint8_t mouse_buttons;
} Ps2MouseState;

typedef struct Ps2KbdDevice {
    Ps2KbdState s;
    HwIrq *irq; /* borrowed: the i8042's keyboard input */
} Ps2KbdDevice;

typedef struct Ps2MouseDevice {
    Ps2MouseState s;
    HwIrq *irq; /* borrowed: the i8042's aux input */
} Ps2MouseDevice;

extern const VmsDesc ps2_kbd_vmsd;
extern const VmsDesc ps2_mouse_vmsd;

/* `irq` is raised while the queue holds bytes; it must outlive the device.
   The new device is in its power-on state (ps2_*_reset). */
Ps2KbdDevice *ps2_kbd_new(HwIrq *irq);
Ps2MouseDevice *ps2_mouse_new(HwIrq *irq);
/* Registers section `ps2kbd` / `ps2mouse`, instance 0, no alias. */
bool ps2_kbd_realize(Ps2KbdDevice *k, VmsRegistry *reg, GError **errp);
bool ps2_mouse_realize(Ps2MouseDevice *m, VmsRegistry *reg, GError **errp);
/* QEMU's device reset: queue emptied, line lowered; the keyboard keeps its
   LED state, as QEMU's does. */
void ps2_kbd_reset(Ps2KbdDevice *k);
void ps2_mouse_reset(Ps2MouseDevice *m);
void ps2_kbd_free(Ps2KbdDevice *k);
void ps2_mouse_free(Ps2MouseDevice *m);

/* i8042 side: a byte from the controller's data port to the device, and
   the next byte of the queue (the last one again when it is empty). */
void ps2_write_keyboard(Ps2KbdDevice *k, uint8_t val);
void ps2_write_mouse(Ps2MouseDevice *m, uint8_t val);
uint8_t ps2_kbd_read_data(Ps2KbdDevice *k);
uint8_t ps2_mouse_read_data(Ps2MouseDevice *m);
void ps2_kbd_set_translation(Ps2KbdDevice *k, bool on);

/*
 * Host input. ps2_kbd_put_keycode queues one byte of a key sequence in the
 * keyboard's current scancode set (e.g. set 2: 0x1c press, 0xf0 0x1c
 * release); with translation on it is converted to set 1 (0xf0 folds into
 * the next byte's bit 7). Dropped while scanning is disabled or the queue
 * is full.
 */
void ps2_kbd_put_keycode(Ps2KbdDevice *k, uint8_t keycode);
/*
 * Relative motion in host screen terms (dx right, dy down, dz wheel
 * down-positive) and the current button bits (PS2_MOUSE_BUTTON_*).
 * Ignored while reporting is disabled; in stream mode queues as many
 * packets as the deltas need and the queue allows.
 */
void ps2_mouse_move(Ps2MouseDevice *m, int dx, int dy, int dz, uint8_t buttons);

#endif
