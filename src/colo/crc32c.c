/*
 * CRC32C, slicing-by-8: table[0] is the classic byte-at-a-time table;
 * table[k][b] is the CRC of byte b followed by k zero bytes, so eight
 * input bytes fold in with eight lookups.
 */
#include "colo/crc32c.h"

#include <glib.h>
#include <string.h>

#define COLO_CRC32C_POLY 0x82F63B78u

static uint32_t colo_crc32c_table[8][256];

static gpointer colo_crc32c_build(gpointer unused)
{
    for (unsigned b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++) {
            c = (c >> 1) ^ ((c & 1) ? COLO_CRC32C_POLY : 0);
        }
        colo_crc32c_table[0][b] = c;
    }
    for (unsigned b = 0; b < 256; b++) {
        uint32_t c = colo_crc32c_table[0][b];
        for (int t = 1; t < 8; t++) {
            c = (c >> 8) ^ colo_crc32c_table[0][c & 0xff];
            colo_crc32c_table[t][b] = c;
        }
    }
    return NULL;
}

uint32_t colo_crc32c(uint32_t crc, const void *buf, size_t len)
{
    static GOnce once = G_ONCE_INIT;
    const uint8_t *p = buf;
    uint32_t(*t)[256] = colo_crc32c_table;

    g_once(&once, colo_crc32c_build, NULL);
    crc = ~crc;
    while (len >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
        lo = GUINT32_FROM_LE(lo) ^ crc;
        hi = GUINT32_FROM_LE(hi);
        crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^
              t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^ t[3][hi & 0xff] ^
              t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--) {
        crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
    }
    return ~crc;
}
