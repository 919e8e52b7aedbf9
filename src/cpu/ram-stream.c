/*
 * The RAM stream: QEMU's RAM page encoding of the migration stream
 * (migration/ram.c), one block. docs/ram-format.md describes it.
 */
#include "cpu/ram-internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "base/error.h"

/* QEMU 7.2 migration/ram.c flag bits, in the low bits of each be64. */
#define RAM_FLAG_ZERO     0x02
#define RAM_FLAG_MEM_SIZE 0x04
#define RAM_FLAG_PAGE     0x08
#define RAM_FLAG_EOS      0x10
#define RAM_FLAG_CONTINUE 0x20
#define RAM_FLAG_MASK     ((uint64_t)RAM_PAGE_SIZE - 1)

typedef struct RamStagedPage {
    uint64_t page;
    const uint8_t *data; /* RAM_PAGE_SIZE bytes in the input, or NULL */
    uint8_t fill;        /* the page's every byte when data is NULL */
} RamStagedPage;

struct RamStaging {
    const Ram *ram;
    GArray *pages; /* RamStagedPage */
};

static void ram_put_be64(GByteArray *out, uint64_t v)
{
    uint64_t be = GUINT64_TO_BE(v);
    g_byte_array_append(out, (const uint8_t *)&be, 8);
}

static void ram_put_id(GByteArray *out)
{
    uint8_t len = sizeof(RAM_BLOCK_ID) - 1;
    g_byte_array_append(out, &len, 1);
    g_byte_array_append(out, (const uint8_t *)RAM_BLOCK_ID, len);
}

static bool ram_page_is_zero(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;
    for (size_t i = 0; i < RAM_PAGE_SIZE / 8; i++) {
        if (w[i]) {
            return false;
        }
    }
    return true;
}

typedef struct RamEncoder {
    const Ram *ram;
    GByteArray *out;
    RamSaveStats st;
} RamEncoder;

static void ram_encode_page(void *opaque, uint64_t page)
{
    RamEncoder *e = opaque;
    const uint8_t *p = e->ram->host + page * RAM_PAGE_SIZE;
    bool zero = ram_page_is_zero(p);
    uint64_t flags = zero ? RAM_FLAG_ZERO : RAM_FLAG_PAGE;
    if (e->st.pages) {
        flags |= RAM_FLAG_CONTINUE;
    }
    ram_put_be64(e->out, page * RAM_PAGE_SIZE | flags);
    if (!(flags & RAM_FLAG_CONTINUE)) {
        ram_put_id(e->out);
    }
    if (zero) {
        uint8_t fill = 0;
        g_byte_array_append(e->out, &fill, 1);
        e->st.zero_pages++;
    } else {
        g_byte_array_append(e->out, p, RAM_PAGE_SIZE);
    }
    e->st.pages++;
}

/* Grows `out` once to hold every dirty page as a full record, so a dirty
   save does not reallocate as it goes (GByteArray never shrinks). */
static void ram_encode_reserve(const Ram *ram, GByteArray *out)
{
    uint64_t need = 64 + ram_dirty_count(ram) * (RAM_PAGE_SIZE + 8);
    guint len = out->len;

    if (need < G_MAXUINT - len) {
        g_byte_array_set_size(out, len + (guint)need);
        g_byte_array_set_size(out, len);
    }
}

void ram_encode(const Ram *ram, RamSaveMode mode, GByteArray *out,
                RamSaveStats *st)
{
    RamEncoder e = {.ram = ram, .out = out};
    guint start = out->len;

    if (mode == RAM_SAVE_DIRTY) {
        ram_encode_reserve(ram, out);
    }
    ram_put_be64(out, ram->size | RAM_FLAG_MEM_SIZE);
    ram_put_id(out);
    ram_put_be64(out, ram->size);
    if (mode == RAM_SAVE_DIRTY) {
        ram_dirty_foreach(ram, ram_encode_page, &e);
    } else {
        for (uint64_t p = 0; p < ram->pages; p++) {
            ram_encode_page(&e, p);
        }
    }
    ram_put_be64(out, RAM_FLAG_EOS);
    e.st.bytes = out->len - start;
    if (st) {
        *st = e.st;
    }
}

typedef struct RamReader {
    const uint8_t *buf;
    size_t len;
    size_t off;
} RamReader;

static bool ram_fail(const RamReader *r, size_t at, GError **errp,
                     const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static bool ram_fail(const RamReader *r, size_t at, GError **errp,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    ls_error_set(errp, "RAM stream offset %zu: %s", at, msg);
    return false;
}

static bool ram_take(RamReader *r, size_t n, const uint8_t **p, GError **errp)
{
    if (r->len - r->off < n) {
        /* not `return ram_fail(...)`: clang's analyzer does not follow
           variadic calls, so it could not see that *p is set on true */
        ram_fail(r, r->off, errp, "truncated (%zu bytes needed, %zu left)", n,
                 r->len - r->off);
        return false;
    }
    *p = r->buf + r->off;
    r->off += n;
    return true;
}

static bool ram_get_be64(RamReader *r, uint64_t *v, GError **errp)
{
    const uint8_t *p = NULL;
    if (!ram_take(r, 8, &p, errp)) {
        return false;
    }
    uint64_t be;
    memcpy(&be, p, 8);
    *v = GUINT64_FROM_BE(be);
    return true;
}

/* A block name: u8 length + bytes; only RAM_BLOCK_ID exists. */
static bool ram_get_id(RamReader *r, GError **errp)
{
    size_t at = r->off;
    const uint8_t *len = NULL, *id = NULL;
    if (!ram_take(r, 1, &len, errp) || !ram_take(r, *len, &id, errp)) {
        return false;
    }
    if (*len != sizeof(RAM_BLOCK_ID) - 1 ||
        memcmp(id, RAM_BLOCK_ID, *len) != 0) {
        return ram_fail(r, at, errp, "unknown RAM block '%.*s'", (int)*len,
                        (const char *)id);
    }
    return true;
}

/* The MEM_SIZE record: total size, then one (name, length) per block. */
static bool ram_get_header(RamReader *r, const Ram *ram, GError **errp)
{
    uint64_t v, blen;
    if (!ram_get_be64(r, &v, errp)) {
        return false;
    }
    if ((v & RAM_FLAG_MASK) != RAM_FLAG_MEM_SIZE) {
        return ram_fail(r, 0, errp,
                        "expected the MEM_SIZE record, found flags 0x%" PRIx64,
                        v & RAM_FLAG_MASK);
    }
    if ((v & ~RAM_FLAG_MASK) != ram->size) {
        return ram_fail(r, 0, errp,
                        "RAM size %" PRIu64
                        " does not match this RAM's %" PRIu64,
                        v & ~RAM_FLAG_MASK, ram->size);
    }
    if (!ram_get_id(r, errp)) {
        return false;
    }
    size_t at = r->off;
    if (!ram_get_be64(r, &blen, errp)) {
        return false;
    }
    if (blen != ram->size) {
        return ram_fail(r, at, errp,
                        "block '" RAM_BLOCK_ID "' length %" PRIu64
                        " does not match this RAM's %" PRIu64,
                        blen, ram->size);
    }
    return true;
}

typedef struct RamDecoder {
    RamReader r;
    const Ram *ram;
    RamStaging *st;
    uint64_t *seen; /* one bit per page: a page may come once */
} RamDecoder;

/* One ZERO or PAGE record whose be64 `v` starts at `at`. */
static bool ram_get_page(RamDecoder *d, uint64_t v, size_t at, GError **errp)
{
    uint64_t flags = v & RAM_FLAG_MASK, addr = v & ~RAM_FLAG_MASK;
    uint64_t kind = flags & ~(uint64_t)RAM_FLAG_CONTINUE;
    if (kind != RAM_FLAG_ZERO && kind != RAM_FLAG_PAGE) {
        return ram_fail(&d->r, at, errp, "bad record flags 0x%" PRIx64, flags);
    }
    bool first = d->st->pages->len == 0;
    if ((flags & RAM_FLAG_CONTINUE) && first) {
        return ram_fail(&d->r, at, errp, "CONTINUE flag on the first page");
    }
    if (!(flags & RAM_FLAG_CONTINUE) && !ram_get_id(&d->r, errp)) {
        return false;
    }
    if (addr >= d->ram->size) {
        return ram_fail(&d->r, at, errp,
                        "page address 0x%" PRIx64 " beyond RAM size 0x%" PRIx64,
                        addr, d->ram->size);
    }
    uint64_t page = addr >> RAM_PAGE_BITS;
    uint64_t bit = G_GUINT64_CONSTANT(1) << (page % 64);
    if (d->seen[page / 64] & bit) {
        return ram_fail(&d->r, at, errp,
                        "page address 0x%" PRIx64 " appears twice", addr);
    }
    d->seen[page / 64] |= bit;
    RamStagedPage sp = {.page = page};
    const uint8_t *p = NULL;
    if (!ram_take(&d->r, kind == RAM_FLAG_ZERO ? 1 : RAM_PAGE_SIZE, &p, errp)) {
        return false;
    }
    if (kind == RAM_FLAG_ZERO) {
        sp.fill = *p; /* any fill byte, as QEMU's ram_handle_compressed */
    } else {
        sp.data = p;
    }
    g_array_append_val(d->st->pages, sp);
    return true;
}

static bool ram_get_pages(RamDecoder *d, GError **errp)
{
    for (;;) {
        size_t at = d->r.off;
        uint64_t v;
        if (!ram_get_be64(&d->r, &v, errp)) {
            return false;
        }
        if (v == RAM_FLAG_EOS) {
            break;
        }
        if (!ram_get_page(d, v, at, errp)) {
            return false;
        }
    }
    if (d->r.off != d->r.len) {
        return ram_fail(&d->r, d->r.off, errp,
                        "%zu trailing bytes after the end-of-section record",
                        d->r.len - d->r.off);
    }
    return true;
}

RamStaging *ram_decode(const Ram *ram, const uint8_t *buf, size_t len,
                       GError **errp)
{
    RamDecoder d = {.r = {.buf = buf, .len = len}, .ram = ram};
    d.st = g_new0(RamStaging, 1);
    d.st->ram = ram;
    d.st->pages = g_array_new(FALSE, FALSE, sizeof(RamStagedPage));
    d.seen = g_new0(uint64_t, RAM_BITMAP_WORDS(ram->pages));
    bool ok = ram_get_header(&d.r, ram, errp) && ram_get_pages(&d, errp);
    g_free(d.seen);
    if (!ok) {
        ram_staging_free(d.st);
        return NULL;
    }
    return d.st;
}

uint64_t ram_staging_pages(const RamStaging *st)
{
    return st->pages->len;
}

void ram_commit(Ram *ram, RamStaging *st)
{
    g_assert(st->ram == ram);
    for (guint i = 0; i < st->pages->len; i++) {
        const RamStagedPage *sp = &g_array_index(st->pages, RamStagedPage, i);
        uint8_t *dst = ram->host + sp->page * RAM_PAGE_SIZE;
        if (sp->data) {
            memcpy(dst, sp->data, RAM_PAGE_SIZE);
        } else {
            memset(dst, sp->fill, RAM_PAGE_SIZE);
        }
    }
    ram_staging_free(st);
}

void ram_staging_free(RamStaging *st)
{
    if (!st) {
        return;
    }
    g_array_free(st->pages, TRUE);
    g_free(st);
}
