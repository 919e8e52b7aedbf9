/*
 * PS/2 common part, shared by the keyboard (ps2-kbd.c) and the mouse
 * (ps2-mouse.c): the byte queue with its keyboard command-reply headroom,
 * the data read the i8042 performs, the common reset, and QEMU's
 * `PS2 Common State` description with the queue invariants a load must
 * satisfy. Behaviour follows QEMU 7.2's hw/input/ps2.c (see ps2.h for what
 * is covered and left out).
 */
#include "hw/ps2-internal.h"

#include "base/error.h"

/* ---- the queue ---- */

void ps2_queue_reset(Ps2Queue *q)
{
    q->rptr = 0;
    q->wptr = 0;
    q->cwptr = -1;
    q->count = 0;
}

void ps2_queue_noirq(Ps2Queue *q, uint8_t b)
{
    if (q->count >= PS2_QUEUE_SIZE) {
        return;
    }
    q->data[q->wptr] = b;
    q->wptr = (q->wptr + 1) & PS2_RING_MASK;
    q->count++;
}

/* Queues n bytes, all or none, then raises the line (QEMU's ps2_queue_N). */
void ps2_queue_n(Ps2CommonState *c, HwIrq *irq, const uint8_t *b, int n)
{
    if (PS2_QUEUE_SIZE - c->queue.count < n) {
        return;
    }
    for (int i = 0; i < n; i++) {
        ps2_queue_noirq(&c->queue, b[i]);
    }
    hw_irq_raise(irq);
}

void ps2_queue1(Ps2CommonState *c, HwIrq *irq, uint8_t b)
{
    ps2_queue_n(c, irq, &b, 1);
}

/*
 * Keyboard command replies go in front of queued scancodes: rptr moves
 * back and cwptr marks where the replies end. Not bounded by
 * PS2_QUEUE_SIZE, as in QEMU (at most 3 bytes per command).
 */
void ps2_cqueue_n(Ps2CommonState *c, HwIrq *irq, const uint8_t *b, int n)
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
void ps2_cqueue_reset(Ps2Queue *q)
{
    if (q->cwptr == -1) {
        return;
    }
    q->count -= (q->cwptr - q->rptr) & PS2_RING_MASK;
    q->rptr = q->cwptr;
    q->cwptr = -1;
}

uint8_t ps2_read_data(Ps2CommonState *c, HwIrq *irq)
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

void ps2_common_reset(Ps2CommonState *c, HwIrq *irq)
{
    c->write_cmd = -1;
    ps2_queue_reset(&c->queue);
    hw_irq_lower(irq);
}

/* ---- `PS2 Common State` ---- */

/* Queue invariants QEMU keeps (its post_load clamps; we refuse). */
bool ps2_common_check(const Ps2CommonState *c, GError **errp)
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

static const VmsField ps2_common_fields[] = {
    VMS_INT32(Ps2CommonState, write_cmd),
    VMS_INT32(Ps2CommonState, queue.rptr),
    VMS_INT32(Ps2CommonState, queue.wptr),
    VMS_INT32(Ps2CommonState, queue.count),
    VMS_BUFFER(Ps2CommonState, queue.data),
    VMS_END_OF_LIST};

const VmsDesc ps2_common_vmsd = {
    .name = "PS2 Common State",
    .version_id = 3,
    .minimum_version_id = 2,
    .fields = ps2_common_fields,
};
