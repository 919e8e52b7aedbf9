/*
 * Fuzz target for the RAM stream decoder: every input is decoded against
 * a 64-page RAM and committed if it passes. A crash, an assert or a
 * sanitizer report is the failure; a rejected stream must leave RAM
 * untouched (checked).
 */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "cpu/ram.h"

#define FUZZ_RAM_SIZE (64u * RAM_PAGE_SIZE)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Ram *ram = ram_new(FUZZ_RAM_SIZE, NULL);
    GError *err = NULL;
    RamStaging *st;

    if (!ram) {
        return 0;
    }
    memset(ram_host(ram), 0xa5, FUZZ_RAM_SIZE);
    st = ram_decode(ram, data, size, &err);
    if (st) {
        ram_commit(ram, st);
    } else {
        g_assert_nonnull(err);
        g_clear_error(&err);
        static uint8_t want[FUZZ_RAM_SIZE];
        memset(want, 0xa5, sizeof(want));
        g_assert(memcmp(ram_host(ram), want, FUZZ_RAM_SIZE) == 0);
    }
    ram_free(ram);
    return 0;
}
