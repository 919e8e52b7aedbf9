/*
 * Private to the PS/2 files (ps2.c, ps2-kbd.c, ps2-mouse.c): the queue and
 * common-state helpers both devices share. Not for the i8042 or tests;
 * they use ps2.h.
 */
#ifndef LS_HW_PS2_INTERNAL_H
#define LS_HW_PS2_INTERNAL_H

#include "hw/ps2.h"

#define PS2_RING_MASK (PS2_BUFFER_SIZE - 1)

/* QEMU's "PS2 Common State", the first field of `ps2kbd` and `ps2mouse`. */
extern const VmsDesc ps2_common_vmsd;

/* Empties the ring; the line is left as it is. */
void ps2_queue_reset(Ps2Queue *q);
/* Appends one byte unless PS2_QUEUE_SIZE bytes are queued; no IRQ. */
void ps2_queue_noirq(Ps2Queue *q, uint8_t b);
/* Queues n bytes, all or none, then raises the line (QEMU's ps2_queue_N). */
void ps2_queue_n(Ps2CommonState *c, HwIrq *irq, const uint8_t *b, int n);
void ps2_queue1(Ps2CommonState *c, HwIrq *irq, uint8_t b);
/* Keyboard command replies, queued in front of the data (see ps2.c). */
void ps2_cqueue_n(Ps2CommonState *c, HwIrq *irq, const uint8_t *b, int n);
/* Drops command replies not yet read (a new command supersedes them). */
void ps2_cqueue_reset(Ps2Queue *q);
/* Next queued byte, or the last one again when empty; updates the line. */
uint8_t ps2_read_data(Ps2CommonState *c, HwIrq *irq);
/* No command pending, queue emptied, line lowered. */
void ps2_common_reset(Ps2CommonState *c, HwIrq *irq);
/* Queue invariants a loaded stream must satisfy; false with errp set. */
bool ps2_common_check(const Ps2CommonState *c, GError **errp);

#endif
