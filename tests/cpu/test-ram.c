/* Guest RAM: allocation caps, access bounds, the dirty log (every page
   written and only those), the RAM stream (all, dirty only, QEMU's record
   layout) and its rejection of every truncation and of corrupt records
   without touching live RAM. */
#include <string.h>

#include "cpu/ram.h"

#define TEST_RAM_SIZE (64u * RAM_PAGE_SIZE)

static void test_new_caps(void)
{
    GError *err = NULL;

    g_assert_null(ram_new(0, &err));
    g_assert_nonnull(strstr(err->message, "RAM size 0 "));
    g_clear_error(&err);
    g_assert_null(ram_new(RAM_PAGE_SIZE + 1, &err));
    g_clear_error(&err);
    g_assert_null(ram_new(RAM_MAX_SIZE + RAM_PAGE_SIZE, &err));
    g_clear_error(&err);
    Ram *ram = ram_new(TEST_RAM_SIZE, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(ram_size(ram), ==, TEST_RAM_SIZE);
    g_assert_cmpuint((uintptr_t)ram_host(ram) % RAM_PAGE_SIZE, ==, 0);
    g_assert_cmpuint(ram_host(ram)[TEST_RAM_SIZE - 1], ==, 0);
    ram_free(ram);
}

static void test_size_parse(void)
{
    static const struct {
        const char *in;
        uint64_t want; /* 0: rejected */
    } cases[] = {
        {"16", 16u << 20},
        {"16M", 16u << 20},
        {"16m", 16u << 20},
        {"1G", 1u << 30},
        {"2g", 2u << 30},
        {"64k", 64u << 10},
        {"8192B", 8192},
        {"1b", 8192},
        {"8193b", 16384},
        {"0", RAM_DEFAULT_SIZE},
        {"3G", 0},
        {"2049", 0},
        {"", 0},
        {"M", 0},
        {"16MB", 0},
        {"-1", 0},
        {" 1", 0},
        {"1x", 0},
        {"99999999999999999999", 0},
        {"1T", 0},
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        uint64_t got = 1;
        GError *err = NULL;
        bool ok = ram_size_parse("-m", cases[i].in, &got, &err);
        g_assert_cmpint(ok, ==, cases[i].want != 0);
        if (ok) {
            g_assert_cmpuint(got, ==, cases[i].want);
        } else {
            g_assert_true(g_str_has_prefix(err->message, "-m: invalid RAM"));
            g_assert_cmpuint(got, ==, 1);
            g_clear_error(&err);
        }
    }
}

static void test_bounds(void)
{
    Ram *ram = ram_new(TEST_RAM_SIZE, NULL);
    uint8_t b[8] = {1, 2, 3, 4, 5, 6, 7, 8};

    g_assert_true(ram_write(ram, TEST_RAM_SIZE - 8, b, 8));
    g_assert_false(ram_write(ram, TEST_RAM_SIZE - 7, b, 8));
    g_assert_false(ram_write(ram, UINT64_MAX - 2, b, 8));
    g_assert_false(ram_fill(ram, TEST_RAM_SIZE, 0xff, 1));
    g_assert_true(ram_fill(ram, TEST_RAM_SIZE, 0xff, 0));
    memset(b, 0, sizeof(b));
    g_assert_false(ram_read(ram, TEST_RAM_SIZE - 4, b, 8));
    g_assert_cmpuint(b[0], ==, 0); /* nothing read */
    g_assert_true(ram_read(ram, TEST_RAM_SIZE - 8, b, 8));
    g_assert_cmpuint(b[7], ==, 8);
    ram_free(ram);
}

static void test_collect(void *opaque, uint64_t page)
{
    g_array_append_val((GArray *)opaque, page);
}

static GArray *test_dirty_pages(const Ram *ram)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    ram_dirty_foreach(ram, test_collect, a);
    g_assert_cmpuint(a->len, ==, ram_dirty_count(ram));
    return a;
}

static void test_notify(void *opaque, bool on)
{
    *(int *)opaque = on ? 1 : 2;
}

static void test_dirty_log(void)
{
    Ram *ram = ram_new(TEST_RAM_SIZE, NULL);
    uint8_t b[2] = {0xaa, 0xbb};
    int seen = 0;

    ram_dirty_log_set_notify(ram, test_notify, &seen);
    g_assert_true(ram_write(ram, 0, b, 1)); /* log off: not marked */
    g_assert_cmpuint(ram_dirty_count(ram), ==, 0);
    ram_dirty_log_enable(ram, true);
    g_assert_cmpint(seen, ==, 1);
    g_assert_true(ram_write(ram, 3 * RAM_PAGE_SIZE - 1, b, 2)); /* 2, 3 */
    g_assert_true(ram_fill(ram, 10 * RAM_PAGE_SIZE, 1, 1));
    g_assert_true(ram_write(ram, 63 * RAM_PAGE_SIZE + 4095, b, 1));
    g_assert_true(ram_fill(ram, 20 * RAM_PAGE_SIZE, 1, 0)); /* len 0 */
    ram_dirty_mark(ram, TEST_RAM_SIZE, 100);                /* outside */
    g_autoptr(GArray) a = test_dirty_pages(ram);
    uint64_t want[] = {2, 3, 10, 63};
    g_assert_cmpuint(a->len, ==, G_N_ELEMENTS(want));
    for (guint i = 0; i < a->len; i++) {
        g_assert_cmpuint(g_array_index(a, uint64_t, i), ==, want[i]);
    }
    g_assert_true(ram_page_is_dirty(ram, 10));
    g_assert_false(ram_page_is_dirty(ram, 11));
    g_assert_false(ram_page_is_dirty(ram, 1u << 30));
    ram_dirty_log_enable(ram, false); /* bits stay, marking stops */
    g_assert_cmpint(seen, ==, 2);
    g_assert_true(ram_write(ram, 0, b, 1));
    g_assert_cmpuint(ram_dirty_count(ram), ==, 4);
    ram_dirty_log_enable(ram, true); /* enable clears */
    g_assert_cmpuint(ram_dirty_count(ram), ==, 0);
    ram_free(ram);
}

/* A RAM whose pages 1, 5 and 40 hold a pattern; the rest zero. */
static Ram *test_patterned(void)
{
    Ram *ram = ram_new(TEST_RAM_SIZE, NULL);
    uint64_t pages[] = {1, 5, 40};
    for (guint i = 0; i < G_N_ELEMENTS(pages); i++) {
        for (uint32_t o = 0; o < RAM_PAGE_SIZE; o++) {
            ram_host(ram)[pages[i] * RAM_PAGE_SIZE + o] = (uint8_t)(o + i + 1);
        }
    }
    return ram;
}

static void test_load(Ram *dst, GByteArray *s)
{
    GError *err = NULL;
    RamStaging *st = ram_decode(dst, s->data, s->len, &err);
    g_assert_no_error(err);
    ram_commit(dst, st);
}

static void test_stream_all(void)
{
    Ram *a = test_patterned(), *b = ram_new(TEST_RAM_SIZE, NULL);
    g_autoptr(GByteArray) s = g_byte_array_new();
    RamSaveStats st;

    ram_fill(b, 0, 0x5a, TEST_RAM_SIZE); /* every page must be replaced */
    ram_encode(a, RAM_SAVE_ALL, s, &st);
    g_assert_cmpuint(st.pages, ==, 64);
    g_assert_cmpuint(st.zero_pages, ==, 61);
    g_assert_cmpuint(st.bytes, ==, s->len);
    /* header 8+7+8, first record 8+7+4096, 2 more pages, 61 zero pages
       of 8+1, EOS 8 */
    g_assert_cmpuint(s->len, ==, 23 + 15 + 3 * 4096 + 2 * 8 + 61 * 9 + 8);
    test_load(b, s);
    g_assert_cmpmem(ram_host(a), TEST_RAM_SIZE, ram_host(b), TEST_RAM_SIZE);
    ram_free(a);
    ram_free(b);
}

static void test_stream_dirty(void)
{
    Ram *a = test_patterned(), *b = ram_new(TEST_RAM_SIZE, NULL);
    g_autoptr(GByteArray) full = g_byte_array_new();
    g_autoptr(GByteArray) s = g_byte_array_new();
    uint8_t v = 0x77, z[RAM_PAGE_SIZE] = {0};
    RamSaveStats st;

    ram_encode(a, RAM_SAVE_ALL, full, NULL);
    test_load(b, full);
    ram_dirty_log_enable(a, true);
    ram_write(a, 7 * RAM_PAGE_SIZE + 9, &v, 1);
    ram_write(a, 5 * RAM_PAGE_SIZE, z, sizeof(z)); /* now a zero page */
    ram_encode(a, RAM_SAVE_DIRTY, s, &st);
    g_assert_cmpuint(st.pages, ==, 2);
    g_assert_cmpuint(st.zero_pages, ==, 1);
    g_assert_cmpuint(s->len, ==, 23 + 8 + 7 + 1 + 8 + 4096 + 8);
    g_assert_cmpuint(ram_dirty_count(a), ==, 2); /* encode keeps the log */
    GError *err = NULL;
    RamStaging *stg = ram_decode(b, s->data, s->len, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(ram_staging_pages(stg), ==, 2);
    ram_commit(b, stg);
    g_assert_cmpmem(ram_host(a), TEST_RAM_SIZE, ram_host(b), TEST_RAM_SIZE);
    g_assert_cmpuint(ram_dirty_count(b), ==, 0);
    ram_free(a);
    ram_free(b);
}

static uint64_t test_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return GUINT64_FROM_BE(v);
}

/* QEMU's layout, byte by byte: MEM_SIZE, a PAGE record with the block
   name, a CONTINUE|ZERO record, EOS. */
static void test_stream_layout(void)
{
    Ram *a = test_patterned();
    g_autoptr(GByteArray) s = g_byte_array_new();
    const uint8_t *p;

    ram_dirty_log_enable(a, true);
    ram_dirty_mark(a, 1 * RAM_PAGE_SIZE, 1);
    ram_dirty_mark(a, 2 * RAM_PAGE_SIZE, 1);
    ram_encode(a, RAM_SAVE_DIRTY, s, NULL);
    p = s->data;
    g_assert_cmphex(test_be64(p), ==, TEST_RAM_SIZE | 0x04);
    g_assert_cmpmem(p + 8, 7, "\6pc.ram", 7);
    g_assert_cmphex(test_be64(p + 15), ==, TEST_RAM_SIZE);
    g_assert_cmphex(test_be64(p + 23), ==, 0x1000 | 0x08);
    g_assert_cmpmem(p + 31, 7, "\6pc.ram", 7);
    g_assert_cmpmem(p + 38, RAM_PAGE_SIZE, ram_host(a) + RAM_PAGE_SIZE,
                    RAM_PAGE_SIZE);
    p += 38 + RAM_PAGE_SIZE;
    g_assert_cmphex(test_be64(p), ==, 0x2000 | 0x20 | 0x02);
    g_assert_cmpuint(p[8], ==, 0);
    g_assert_cmphex(test_be64(p + 9), ==, 0x10);
    g_assert_cmpuint(s->len, ==, (guint)(p + 17 - s->data));
    ram_free(a);
}

static void test_stream_truncated(void)
{
    Ram *a = test_patterned(), *b = ram_new(TEST_RAM_SIZE, NULL);
    g_autoptr(GByteArray) s = g_byte_array_new();

    ram_dirty_log_enable(a, true);
    ram_dirty_mark(a, 0, 2 * RAM_PAGE_SIZE);
    ram_encode(a, RAM_SAVE_DIRTY, s, NULL);
    for (guint n = 0; n < s->len; n++) {
        GError *err = NULL;
        g_assert_null(ram_decode(b, s->data, n, &err));
        g_assert_nonnull(strstr(err->message, "truncated"));
        g_clear_error(&err);
    }
    g_byte_array_append(s, (const uint8_t *)"x", 1);
    GError *err = NULL;
    g_assert_null(ram_decode(b, s->data, s->len, &err));
    g_assert_cmpstr(err->message, ==,
                    "RAM stream offset 4151: 1 trailing bytes after the "
                    "end-of-section record");
    g_clear_error(&err);
    ram_free(a);
    ram_free(b);
}

typedef struct {
    size_t off;      /* where to write */
    uint64_t be64;   /* the value written there */
    const char *msg; /* the whole error */
} TestCorrupt;

/* Stream of the patterned RAM, dirty pages 1 and 2 (see the layout test):
   MEM_SIZE at 0, block name at 8, block length at 15, PAGE at 23, the
   CONTINUE|ZERO record at 4134, EOS at 4143. */
static const TestCorrupt test_corrupt_cases[] = {
    {0, 0x40000 | 0x01,
     "RAM stream offset 0: expected the MEM_SIZE record, "
     "found flags 0x1"},
    {0, 0x80000 | 0x04,
     "RAM stream offset 0: RAM size 524288 does not "
     "match this RAM's 262144"},
    {15, 0x1000,
     "RAM stream offset 15: block 'pc.ram' length 4096 does "
     "not match this RAM's 262144"},
    {23, 0x1000 | 0x48, "RAM stream offset 23: bad record flags 0x48"},
    {23, 0x1000 | 0x0a, "RAM stream offset 23: bad record flags 0xa"},
    {23, 0x1000 | 0x28,
     "RAM stream offset 23: CONTINUE flag on the first "
     "page"},
    {23, 0x40000 | 0x08,
     "RAM stream offset 23: page address 0x40000 "
     "beyond RAM size 0x40000"},
    {4134, 0x1000 | 0x22,
     "RAM stream offset 4134: page address 0x1000 "
     "appears twice"},
    {4143, 0x11, "RAM stream offset 4143: bad record flags 0x11"},
};

static void test_stream_corrupt(void)
{
    Ram *a = test_patterned(), *b = ram_new(TEST_RAM_SIZE, NULL);
    g_autoptr(GByteArray) s = g_byte_array_new();

    ram_dirty_log_enable(a, true);
    ram_dirty_mark(a, RAM_PAGE_SIZE, 2 * RAM_PAGE_SIZE);
    ram_encode(a, RAM_SAVE_DIRTY, s, NULL);
    g_assert_cmpuint(s->len, ==, 4151);
    for (guint i = 0; i < G_N_ELEMENTS(test_corrupt_cases); i++) {
        const TestCorrupt *c = &test_corrupt_cases[i];
        g_autoptr(GByteArray) bad = g_byte_array_new();
        uint64_t be = GUINT64_TO_BE(c->be64);
        GError *err = NULL;
        g_byte_array_append(bad, s->data, s->len);
        memcpy(bad->data + c->off, &be, 8);
        g_assert_null(ram_decode(b, bad->data, bad->len, &err));
        g_assert_cmpstr(err->message, ==, c->msg);
        g_clear_error(&err);
    }
    s->data[9] = 'P'; /* block name */
    GError *err = NULL;
    g_assert_null(ram_decode(b, s->data, s->len, &err));
    g_assert_cmpstr(err->message, ==,
                    "RAM stream offset 8: unknown RAM block 'Pc.ram'");
    g_clear_error(&err);
    ram_free(a);
    ram_free(b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ram/new-caps", test_new_caps);
    g_test_add_func("/ram/size-parse", test_size_parse);
    g_test_add_func("/ram/bounds", test_bounds);
    g_test_add_func("/ram/dirty-log", test_dirty_log);
    g_test_add_func("/ram/stream-all", test_stream_all);
    g_test_add_func("/ram/stream-dirty", test_stream_dirty);
    g_test_add_func("/ram/stream-layout", test_stream_layout);
    g_test_add_func("/ram/stream-truncated", test_stream_truncated);
    g_test_add_func("/ram/stream-corrupt", test_stream_corrupt);
    return g_test_run();
}
