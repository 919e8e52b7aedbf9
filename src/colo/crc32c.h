/*
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as iSCSI (RFC 3720
 * appendix B.4) and ext4 use it. Slicing-by-8 over tables built once.
 */
#ifndef LS_COLO_CRC32C_H
#define LS_COLO_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * Continues a CRC over `len` bytes. Start with crc = 0; the pre- and
 * post-inversion are done inside, so colo_crc32c(colo_crc32c(0, a), b)
 * equals the CRC of a followed by b.
 */
uint32_t colo_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
