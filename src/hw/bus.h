/*
 * x86 port-I/O bus. Devices map port ranges with an access width they
 * implement (1, 2 or 4 bytes). As in QEMU's memory core, a guest access
 * goes to the region that holds its first port; a wider access is split
 * into consecutive narrower ones, little-endian, all handed to that same
 * region (so `outw 0x70, 0x0a0b` writes 0x0b to 0x70 and 0x0a to 0x71, and
 * `inw 0x60` reads the i8042 at 0x60 and 0x61): a device's read/write may
 * see a port just past its range and must decode it as its hardware does.
 * Reads of unmapped ports return all ones; writes to them are dropped.
 * Guest access never fails.
 */
#ifndef LS_HW_BUS_H
#define LS_HW_BUS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define HW_BUS_MAX_REGIONS 64

typedef struct HwPortOps {
    /* `port` is absolute; `size` is 1, 2 or 4 (at most the region's). */
    uint32_t (*read)(void *opaque, uint16_t port, unsigned size);
    void (*write)(void *opaque, uint16_t port, uint32_t val, unsigned size);
    unsigned access_size; /* widest access the device takes (default 1) */
} HwPortOps;

typedef struct HwPortRegion {
    uint16_t base;
    uint16_t len;
    const HwPortOps *ops;
    void *opaque;
    const char *name;
} HwPortRegion;

typedef struct HwBus {
    HwPortRegion regions[HW_BUS_MAX_REGIONS];
    unsigned n;
} HwBus;

void hw_bus_init(HwBus *bus);
/* Fails on overlap with an existing region or when the table is full. */
bool hw_bus_map(HwBus *bus, const char *name, uint16_t base, uint16_t len,
                const HwPortOps *ops, void *opaque, GError **errp);
uint32_t hw_bus_in(HwBus *bus, uint16_t port, unsigned size);
void hw_bus_out(HwBus *bus, uint16_t port, uint32_t val, unsigned size);

#endif
