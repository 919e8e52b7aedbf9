/*
 * qtest's guest-memory commands (QEMU 7.2 softmmu/qtest.c) on guest RAM:
 * readb/w/l/q ("OK 0x%016x"), writeb/w/l/q, read ("OK 0x<hex>"), write
 * (hex after a 2-character prefix, missing bytes written as 0), memset,
 * b64read, b64write ("ERR invalid argument size" for data under 3
 * characters, a length mismatch logged and the shorter length written),
 * little-endian as x86. Writes go through ram_write, so the dirty log
 * sees them.
 *
 * Differences from QEMU, all where QEMU asserts or touches no RAM: a
 * missing or malformed number, a zero-length read and a non-hex digit
 * answer "FAIL <reason>"; an access outside RAM answers "FAIL" (QEMU
 * reads unassigned memory or ignores the write; lockstep maps nothing but
 * RAM); read and b64read are capped at DM_QTEST_MAX_READ bytes so a reply
 * stays within DM_QTEST_MAX_OUTPUT; and b64write writes only the bytes it
 * decoded (QEMU 7.2 writes the told length from a shorter buffer).
 */
#include <errno.h>
#include <string.h>

#include "dm/qtest-internal.h"

static bool dm_qtest_mem_u64(DmQtest *q, const char *what, const char *s,
                             uint64_t *out)
{
    char *end = NULL;

    if (s && *s && !g_ascii_isspace(*s) && *s != '-') {
        errno = 0;
        *out = g_ascii_strtoull(s, &end, 0);
        if (errno == 0 && end && *end == '\0') {
            return true;
        }
    }
    dm_qtest_emitf(q, "FAIL bad or missing %s '%s'\n", what, s ? s : "");
    return false;
}

/* [addr, addr + len) must lie inside RAM. */
static bool dm_qtest_mem_inside(DmQtest *q, uint64_t addr, uint64_t len)
{
    uint64_t size = ram_size(q->m->ram);

    if (addr > size || len > size - addr) {
        dm_qtest_emitf(q,
                       "FAIL 0x%" G_GINT64_MODIFIER "x+%" G_GUINT64_FORMAT
                       " is outside guest RAM (0x0..0x%" G_GINT64_MODIFIER
                       "x)\n",
                       addr, len, size);
        return false;
    }
    return true;
}

/* addr and len (w[1], w[2]) of an access that must lie inside RAM. */
static bool dm_qtest_mem_range(DmQtest *q, char **w, uint64_t *addr,
                               uint64_t *len)
{
    return dm_qtest_mem_u64(q, "address", w[1], addr) &&
           dm_qtest_mem_u64(q, "length", w[2], len) &&
           dm_qtest_mem_inside(q, *addr, *len);
}

static unsigned dm_qtest_mem_width(char c)
{
    return c == 'b' ? 1 : c == 'w' ? 2 : c == 'l' ? 4 : 8;
}

static void dm_qtest_mem_readn(DmQtest *q, char **w)
{
    unsigned n = dm_qtest_mem_width(w[0][4]);
    uint64_t addr, le = 0;

    if (!dm_qtest_mem_u64(q, "address", w[1], &addr) ||
        !dm_qtest_mem_inside(q, addr, n)) {
        return;
    }
    ram_read(q->m->ram, addr, &le, n);
    dm_qtest_emitf(q, "OK 0x%016" G_GINT64_MODIFIER "x\n", GUINT64_FROM_LE(le));
}

static void dm_qtest_mem_writen(DmQtest *q, char **w)
{
    unsigned n = dm_qtest_mem_width(w[0][5]);
    uint64_t addr, val;

    if (!dm_qtest_mem_u64(q, "address", w[1], &addr) ||
        !dm_qtest_mem_u64(q, "value", w[1] ? w[2] : NULL, &val) ||
        !dm_qtest_mem_inside(q, addr, n)) {
        return;
    }
    val = GUINT64_TO_LE(val); /* the low n bytes, as QEMU's cast */
    ram_write(q->m->ram, addr, &val, n);
    dm_qtest_emit(q, "OK\n");
}

static bool dm_qtest_mem_read_len(DmQtest *q, uint64_t len)
{
    if (len == 0 || len > DM_QTEST_MAX_READ) {
        dm_qtest_emitf(q, "FAIL read length must be 1..%u\n",
                       DM_QTEST_MAX_READ);
        return false;
    }
    return true;
}

static void dm_qtest_mem_read(DmQtest *q, char **w, bool b64)
{
    uint64_t addr, len;

    if (!dm_qtest_mem_range(q, w, &addr, &len) ||
        !dm_qtest_mem_read_len(q, len)) {
        return;
    }
    g_autofree uint8_t *data = g_malloc(len);
    ram_read(q->m->ram, addr, data, len);
    if (b64) {
        g_autofree char *enc = g_base64_encode(data, len);
        dm_qtest_emitf(q, "OK %s\n", enc);
        return;
    }
    g_autoptr(GString) hex = g_string_sized_new(2 * len + 8);
    g_string_append(hex, "OK 0x");
    for (uint64_t i = 0; i < len; i++) {
        g_string_append_printf(hex, "%02x", data[i]);
    }
    g_string_append_c(hex, '\n');
    dm_qtest_emit(q, hex->str);
}

/* write ADDR LEN 0xHEX: byte i from hex digits 2i+2, 2i+3; 0 past the end
   of the digits (QEMU). */
static void dm_qtest_mem_write(DmQtest *q, char **w)
{
    uint64_t addr, len;

    if (!dm_qtest_mem_range(q, w, &addr, &len)) {
        return;
    }
    const char *hex = w[3] ? w[3] : "";
    size_t hlen = strlen(hex);
    if (hlen < 3) {
        dm_qtest_emit(q, "ERR invalid argument size\n");
        return;
    }
    g_autofree uint8_t *data = g_malloc0(len ? len : 1);
    for (uint64_t i = 0; i < len && i * 2 + 4 <= hlen; i++) {
        int hi = g_ascii_xdigit_value(hex[i * 2 + 2]);
        int lo = g_ascii_xdigit_value(hex[i * 2 + 3]);
        if (hi < 0 || lo < 0) {
            dm_qtest_emitf(
                q, "FAIL bad hex digit in byte %" G_GUINT64_FORMAT "\n", i);
            return;
        }
        data[i] = (uint8_t)(hi << 4 | lo);
    }
    ram_write(q->m->ram, addr, data, len);
    dm_qtest_emit(q, "OK\n");
}

static void dm_qtest_mem_memset(DmQtest *q, char **w)
{
    uint64_t addr, len, pattern;

    if (!dm_qtest_mem_u64(q, "address", w[1], &addr) ||
        !dm_qtest_mem_u64(q, "length", w[1] ? w[2] : NULL, &len) ||
        !dm_qtest_mem_u64(q, "pattern", w[2] ? w[3] : NULL, &pattern) ||
        !dm_qtest_mem_inside(q, addr, len)) {
        return;
    }
    ram_fill(q->m->ram, addr, (uint8_t)pattern, len);
    dm_qtest_emit(q, "OK\n");
}

static void dm_qtest_mem_b64write(DmQtest *q, char **w)
{
    uint64_t addr, len;
    gsize out_len = 0;

    if (!dm_qtest_mem_u64(q, "address", w[1], &addr) ||
        !dm_qtest_mem_u64(q, "length", w[1] ? w[2] : NULL, &len)) {
        return;
    }
    if (!w[3] || strlen(w[3]) < 3) {
        dm_qtest_emit(q, "ERR invalid argument size\n");
        return;
    }
    g_autofree char *b64 = g_strdup(w[3]);
    uint8_t *data = g_base64_decode_inplace(b64, &out_len);
    if (out_len != len) {
        g_autofree char *msg = g_strdup_printf(
            "b64write: data length mismatch (told %" G_GUINT64_FORMAT
            ", found %" G_GSIZE_FORMAT ")\n",
            len, out_len);
        dm_qtest_log(q, 'S', msg);
        out_len = MIN(out_len, len);
    }
    if (!dm_qtest_mem_inside(q, addr, out_len)) {
        return;
    }
    ram_write(q->m->ram, addr, data, out_len);
    dm_qtest_emit(q, "OK\n");
}

void dm_qtest_cmd_mem(DmQtest *q, char **w)
{
    const char *c = w[0];

    if (!q->m->ram) {
        dm_qtest_emitf(q,
                       "FAIL '%s': this machine has no guest memory "
                       "(device model only)\n",
                       c);
    } else if (g_str_has_prefix(c, "read") && c[4] && !c[5]) {
        dm_qtest_mem_readn(q, w);
    } else if (g_str_has_prefix(c, "write") && c[5] && !c[6]) {
        dm_qtest_mem_writen(q, w);
    } else if (!strcmp(c, "read") || !strcmp(c, "b64read")) {
        dm_qtest_mem_read(q, w, c[0] == 'b');
    } else if (!strcmp(c, "write")) {
        dm_qtest_mem_write(q, w);
    } else if (!strcmp(c, "memset")) {
        dm_qtest_mem_memset(q, w);
    } else {
        dm_qtest_mem_b64write(q, w);
    }
}
