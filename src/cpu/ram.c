/*
 * Guest RAM and its dirty log (see ram.h). The stream lives in
 * ram-stream.c.
 */
#include "cpu/ram-internal.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "base/error.h"

Ram *ram_new(uint64_t size, GError **errp)
{
    if (size == 0 || size % RAM_PAGE_SIZE != 0 || size > RAM_MAX_SIZE) {
        ls_error_set(
            errp,
            "RAM size %" G_GUINT64_FORMAT
            " is not a non-zero multiple of %u of at most %" G_GUINT64_FORMAT,
            size, RAM_PAGE_SIZE, RAM_MAX_SIZE);
        return NULL;
    }
    /* Anonymous memory: page-aligned, zero, and only resident once the
       guest touches it. */
    void *host = mmap(NULL, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (host == MAP_FAILED) {
        ls_error_set(errp,
                     "cannot allocate %" G_GUINT64_FORMAT " bytes of RAM: %s",
                     size, g_strerror(errno));
        return NULL;
    }
    Ram *ram = g_new0(Ram, 1);
    ram->host = host;
    ram->size = size;
    ram->pages = size / RAM_PAGE_SIZE;
    ram->dirty = g_new0(uint64_t, RAM_BITMAP_WORDS(ram->pages));
    return ram;
}

void ram_free(Ram *ram)
{
    if (!ram) {
        return;
    }
    munmap(ram->host, ram->size);
    g_free(ram->dirty);
    g_free(ram);
}

uint64_t ram_size(const Ram *ram)
{
    return ram->size;
}

uint8_t *ram_host(Ram *ram)
{
    return ram->host;
}

bool ram_range_ok(const Ram *ram, uint64_t addr, uint64_t len)
{
    return addr <= ram->size && len <= ram->size - addr;
}

bool ram_read(const Ram *ram, uint64_t addr, void *buf, size_t len)
{
    if (!ram_range_ok(ram, addr, len)) {
        return false;
    }
    memcpy(buf, ram->host + addr, len);
    return true;
}

bool ram_write(Ram *ram, uint64_t addr, const void *buf, size_t len)
{
    if (!ram_range_ok(ram, addr, len)) {
        return false;
    }
    memcpy(ram->host + addr, buf, len);
    ram_dirty_mark(ram, addr, len);
    return true;
}

bool ram_fill(Ram *ram, uint64_t addr, uint8_t val, size_t len)
{
    if (!ram_range_ok(ram, addr, len)) {
        return false;
    }
    memset(ram->host + addr, val, len);
    ram_dirty_mark(ram, addr, len);
    return true;
}

void ram_dirty_log_enable(Ram *ram, bool on)
{
    if (on) {
        ram_dirty_clear(ram);
    }
    if (ram->log_on == on) {
        return;
    }
    ram->log_on = on;
    if (ram->log_notify) {
        ram->log_notify(ram->log_opaque, on);
    }
}

bool ram_dirty_log_enabled(const Ram *ram)
{
    return ram->log_on;
}

void ram_dirty_log_set_notify(Ram *ram, void (*fn)(void *opaque, bool on),
                              void *opaque)
{
    ram->log_notify = fn;
    ram->log_opaque = opaque;
}

void ram_dirty_mark(Ram *ram, uint64_t addr, uint64_t len)
{
    if (!ram->log_on || len == 0 || addr >= ram->size) {
        return;
    }
    uint64_t end = addr + MIN(len, ram->size - addr); /* exclusive */
    uint64_t last = (end - 1) >> RAM_PAGE_BITS;
    for (uint64_t p = addr >> RAM_PAGE_BITS; p <= last; p++) {
        ram->dirty[p / 64] |= G_GUINT64_CONSTANT(1) << (p % 64);
    }
}

bool ram_page_is_dirty(const Ram *ram, uint64_t page_index)
{
    if (page_index >= ram->pages) {
        return false;
    }
    return (ram->dirty[page_index / 64] >> (page_index % 64)) & 1;
}

uint64_t ram_dirty_count(const Ram *ram)
{
    uint64_t n = 0;
    for (uint64_t w = 0; w < RAM_BITMAP_WORDS(ram->pages); w++) {
        n += (uint64_t)__builtin_popcountll(ram->dirty[w]);
    }
    return n;
}

void ram_dirty_foreach(const Ram *ram,
                       void (*fn)(void *opaque, uint64_t page_index),
                       void *opaque)
{
    for (uint64_t w = 0; w < RAM_BITMAP_WORDS(ram->pages); w++) {
        uint64_t bits = ram->dirty[w];
        while (bits) {
            int b = __builtin_ctzll(bits);
            fn(opaque, w * 64 + (uint64_t)b);
            bits &= bits - 1;
        }
    }
}

void ram_dirty_clear(Ram *ram)
{
    memset(ram->dirty, 0, RAM_BITMAP_WORDS(ram->pages) * sizeof(uint64_t));
}

static int ram_suffix_shift(char c)
{
    switch (g_ascii_toupper(c)) {
    case 'B':
        return 0;
    case 'K':
        return 10;
    case 'M':
        return 20;
    case 'G':
        return 30;
    case 'T':
        return 40;
    default:
        return -1;
    }
}

bool ram_size_parse(const char *what, const char *s, uint64_t *out,
                    GError **errp)
{
    char *end = NULL;
    guint64 n;
    int shift = 20;

    errno = 0;
    n = g_ascii_isdigit(*s) ? g_ascii_strtoull(s, &end, 10) : 0;
    if (end && *end && !end[1]) {
        shift = ram_suffix_shift(*end++);
    }
    if (!end || *end || shift < 0 || errno || n > (RAM_MAX_SIZE >> shift)) {
        ls_error_set(errp,
                     "%s: invalid RAM size (digits with an optional suffix "
                     "B, K, M, G or T, at most %" G_GUINT64_FORMAT " MiB)",
                     what, RAM_MAX_SIZE >> 20);
        return false;
    }
    n <<= shift;
    *out = n ? (n + 8191) & ~(guint64)8191 : RAM_DEFAULT_SIZE;
    return true;
}
