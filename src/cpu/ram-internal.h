/* Shared by ram.c and ram-stream.c only. */
#ifndef LS_CPU_RAM_INTERNAL_H
#define LS_CPU_RAM_INTERNAL_H

#include "cpu/ram.h"

#define RAM_BITMAP_WORDS(pages) (((pages) + 63) / 64)

struct Ram {
    uint8_t *host;
    uint64_t size;
    uint64_t pages;
    uint64_t *dirty; /* one bit per page */
    bool log_on;
    void (*log_notify)(void *opaque, bool on);
    void *log_opaque;
};

bool ram_range_ok(const Ram *ram, uint64_t addr, uint64_t len);

#endif
