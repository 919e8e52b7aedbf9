/*
 * Guest RAM, its dirty log, and the RAM stream.
 *
 * One contiguous block of guest-physical RAM starting at address 0 (the
 * pc machine's "pc.ram" below 4 GiB), allocated page-aligned so a vCPU
 * can map the host pointer directly (Unicorn's uc_mem_map_ptr needs 4 KiB
 * alignment and a size that is a multiple of 4 KiB).
 *
 * The dirty log is one bit per 4 KiB page. While it is enabled, every
 * write made through this API marks its pages, and writers that bypass
 * the API (a vCPU writing through the host pointer) must call
 * ram_dirty_mark for what they write. While it is disabled, marking is a
 * no-op. Nothing here knows devices, QMP or the vCPU.
 *
 * The RAM stream (docs/ram-format.md) carries all pages or only the dirty
 * ones in QEMU's RAM page encoding of the migration stream. Loading is a
 * constructor: ram_decode checks the whole stream into a staging object
 * without touching live RAM; ram_commit then applies it and cannot fail.
 */
#ifndef LS_CPU_RAM_H
#define LS_CPU_RAM_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAM_PAGE_BITS 12
#define RAM_PAGE_SIZE (1u << RAM_PAGE_BITS) /* 4 KiB, as x86 TARGET_PAGE */
/* Largest RAM accepted (-m): it must fit below the pc machine's 4 GiB
   PCI hole without the above-4G split, which is not modelled. */
#define RAM_MAX_SIZE (G_GUINT64_CONSTANT(2) << 30)
/* The RAMBlock name QEMU's pc machine gives guest RAM; it names the
   block in the stream. */
#define RAM_BLOCK_ID "pc.ram"

/* Guest RAM when RAM is wanted (-accel tcg) and no -m size is given:
   enough for a small guest, cheap to checkpoint in full. */
#define RAM_DEFAULT_SIZE (G_GUINT64_CONSTANT(16) << 20)

typedef struct Ram Ram;
typedef struct RamStaging RamStaging;

/* Parses the size of -m SIZE as QEMU 7.2 does: digits with an optional
   suffix B, K, M, G, T (either case; none means MiB), rounded up to 8 KiB
   (QEMU's machine_set_mem); 0 means RAM_DEFAULT_SIZE. Above RAM_MAX_SIZE
   or malformed: false, with an error that starts with `what`. */
bool ram_size_parse(const char *what, const char *s, uint64_t *out,
                    GError **errp);

/* A new RAM of `size` bytes, all zero, dirty log disabled. `size` must be
   a non-zero multiple of RAM_PAGE_SIZE, at most RAM_MAX_SIZE; otherwise
   NULL and an error naming the size. Allocation failure is an error too
   (never an abort). */
Ram *ram_new(uint64_t size, GError **errp);
void ram_free(Ram *ram); /* NULL is fine */

uint64_t ram_size(const Ram *ram);
/* Host address of guest-physical address 0; RAM_PAGE_SIZE-aligned, valid
   for ram_size() bytes until ram_free. */
uint8_t *ram_host(Ram *ram);

/* Guest-physical access on behalf of a device-side writer (qtest).
   False, changing nothing, if [addr, addr + len) is not entirely inside
   RAM (overflow included). ram_write and ram_fill mark the pages they
   write (while the dirty log is enabled). */
bool ram_read(const Ram *ram, uint64_t addr, void *buf, size_t len);
bool ram_write(Ram *ram, uint64_t addr, const void *buf, size_t len);
bool ram_fill(Ram *ram, uint64_t addr, uint8_t val, size_t len);

/* The dirty log. Enabling clears it first: the log then holds exactly the
   pages written since the enable (or since the last ram_dirty_clear).
   Disabling keeps the bits (they can still be saved) and stops marking. */
void ram_dirty_log_enable(Ram *ram, bool on);
bool ram_dirty_log_enabled(const Ram *ram);
/* Called on every change of the enabled flag (a vCPU installs or removes
   its write tracking). One observer; NULL removes it. */
void ram_dirty_log_set_notify(Ram *ram, void (*fn)(void *opaque, bool on),
                              void *opaque);
/* Marks every page that [addr, addr + len) touches, clipped to RAM. A
   no-op while the log is disabled or for len 0. */
void ram_dirty_mark(Ram *ram, uint64_t addr, uint64_t len);
bool ram_page_is_dirty(const Ram *ram, uint64_t page_index);
uint64_t ram_dirty_count(const Ram *ram);
/* Calls fn for each dirty page index, ascending. */
void ram_dirty_foreach(const Ram *ram,
                       void (*fn)(void *opaque, uint64_t page_index),
                       void *opaque);
void ram_dirty_clear(Ram *ram);

/* What a save carries. */
typedef enum {
    RAM_SAVE_ALL,   /* every page (the first checkpoint of a pairing) */
    RAM_SAVE_DIRTY, /* only pages whose dirty bit is set */
} RamSaveMode;

typedef struct RamSaveStats {
    uint64_t pages;      /* page records written */
    uint64_t zero_pages; /* of which sent as one fill byte */
    uint64_t bytes;      /* stream length */
} RamSaveStats;

/* Appends the RAM stream to `out`. Does not clear the dirty log: the
   caller clears it once the stream is safely stored, so that a failed
   write loses no page. `st` may be NULL. Cannot fail. */
void ram_encode(const Ram *ram, RamSaveMode mode, GByteArray *out,
                RamSaveStats *st);

/* Checks a whole RAM stream against `ram` (block name and size must
   match) and returns a staging object, or NULL with an error giving the
   byte offset and reason. Live RAM is not touched. The staging object
   points into `buf`, which must stay alive and unchanged until
   ram_commit or ram_staging_free. At most RAM_MAX_SIZE / RAM_PAGE_SIZE
   page records (a page may appear once). */
RamStaging *ram_decode(const Ram *ram, const uint8_t *buf, size_t len,
                       GError **errp);
/* Number of pages the staging object will write. */
uint64_t ram_staging_pages(const RamStaging *st);
/* Applies every staged page to `ram` (the one it was decoded against) and
   frees `st`. Cannot fail. Does not mark the dirty log: loaded pages are
   the peer's, not the guest's writes. */
void ram_commit(Ram *ram, RamStaging *st);
void ram_staging_free(RamStaging *st); /* NULL is fine */

#endif
