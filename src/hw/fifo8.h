/*
 * A fixed 16-byte FIFO of bytes with QEMU's Fifo8 wire layout
 * (util/fifo8.c, vmsd "Fifo8" v1: `data` as raw bytes, be32 head,
 * be32 num: 24 bytes for the 16550A's FIFOs).
 *
 * The storage is inline so a Fifo8 can sit in a memcpy-able device state.
 * Only the 16-byte capacity exists: the vmsd's `data` length is the
 * capacity, which QEMU does not transmit, so another capacity would need
 * another description. Slots never written are zero (QEMU saves heap
 * garbage there).
 *
 * Push on a full FIFO and pop on an empty one are caller bugs (asserted);
 * callers check first, as the UART does for guest input.
 */
#ifndef LS_HW_FIFO8_H
#define LS_HW_FIFO8_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "vms/vms.h"

#define FIFO8_CAPACITY 16

typedef struct Fifo8 {
    uint8_t data[FIFO8_CAPACITY];
    uint32_t head; /* index of the oldest byte, 0..FIFO8_CAPACITY-1 */
    uint32_t num;  /* bytes held, 0..FIFO8_CAPACITY */
} Fifo8;

/* vmsd "Fifo8" v1; its post_load rejects head/num out of range. */
extern const VmsDesc fifo8_vmsd;

/* Empty FIFO with zeroed storage (creation). */
void fifo8_init(Fifo8 *f);
/* Empties the FIFO; like QEMU, bytes once written stay in their slots (and
   in the saved `data`) until overwritten. */
void fifo8_reset(Fifo8 *f);
void fifo8_push(Fifo8 *f, uint8_t v);
uint8_t fifo8_pop(Fifo8 *f);
bool fifo8_is_empty(const Fifo8 *f);
bool fifo8_is_full(const Fifo8 *f);
uint32_t fifo8_num_used(const Fifo8 *f);
uint32_t fifo8_num_free(const Fifo8 *f);
/* head < capacity and num <= capacity; else false with a GError. */
bool fifo8_check(const Fifo8 *f, GError **errp);

#endif
