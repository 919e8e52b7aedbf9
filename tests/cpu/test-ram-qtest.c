/* qtest's memory commands on guest RAM (dm/qtest-mem.c): QEMU 7.2's reply
   texts, little-endian widths, hex and base64 forms, the FAILs where QEMU
   asserts or has no RAM, and the dirty log seeing every page written
   through qtest and only those. The replies of the widths and read-write
   tests were compared line by line with Debian's QEMU 7.2.22
   (qemu-system-x86_64 -machine pc -m 1M -nodefaults -qtest unix:...) on
   2026-12-03: identical. QEMU answers "OK 0x0..0" outside RAM where we
   answer FAIL (test_fails). */
#include <string.h>

#include "dm/qtest.h"

#define TQ_RAM_SIZE (16u * RAM_PAGE_SIZE)

typedef struct {
    Machine m;
    DmQtest *q;
} Fixture;

static void fx_setup(Fixture *f, gconstpointer data)
{
    memset(f, 0, sizeof(*f));
    f->m.clock = hw_clock_new(true);
    hw_bus_init(&f->m.bus);
    f->m.ram = ram_new(TQ_RAM_SIZE, NULL);
    f->q = dm_qtest_new(&f->m);
}

static void fx_teardown(Fixture *f, gconstpointer data)
{
    dm_qtest_free(f->q);
    ram_free(f->m.ram);
    hw_clock_free(f->m.clock);
}

static void expect(Fixture *f, const char *line, const char *want)
{
    g_autoptr(GString) reply = g_string_new(NULL);

    dm_qtest_process_line(f->q, line, reply);
    g_assert_cmpstr(reply->str, ==, want);
}

static void test_widths(Fixture *f, gconstpointer data)
{
    expect(f, "readq 0x100", "OK 0x0000000000000000\n");
    expect(f, "writel 0x100 0x11223344", "OK\n");
    expect(f, "readb 0x100", "OK 0x0000000000000044\n");
    expect(f, "readw 0x102", "OK 0x0000000000001122\n");
    expect(f, "readl 0x100", "OK 0x0000000011223344\n");
    expect(f, "writeb 0x104 0x1ff", "OK\n"); /* low byte, as QEMU */
    expect(f, "writew 0x106 0xbeef", "OK\n");
    expect(f, "readq 0x100", "OK 0xbeef00ff11223344\n");
    expect(f, "writeq 0x108 0x0102030405060708", "OK\n");
    expect(f, "readq 0x108", "OK 0x0102030405060708\n");
    g_assert_cmpuint(ram_host(f->m.ram)[0x108], ==, 0x08);
}

static void test_read_write(Fixture *f, gconstpointer data)
{
    expect(f, "write 0x2000 3 0xaabbcc", "OK\n");
    expect(f, "read 0x1fff 5", "OK 0x00aabbcc00\n");
    expect(f, "write 0x2000 3 0xdd", "OK\n"); /* missing bytes are 0 */
    expect(f, "read 0x2000 3", "OK 0xdd0000\n");
    expect(f, "write 0x2000 3 0x", "ERR invalid argument size\n");
    expect(f, "write 0x2000 1 0xzz", "FAIL bad hex digit in byte 0\n");
    expect(f, "memset 0x3000 4 0x7f", "OK\n");
    expect(f, "read 0x3000 5", "OK 0x7f7f7f7f00\n");
    expect(f, "memset 0x3000 0 1", "OK\n");
    expect(f, "b64write 0x4000 5 aGVsbG8=", "OK\n");
    expect(f, "b64read 0x4000 5", "OK aGVsbG8=\n");
    expect(f, "read 0x4000 5", "OK 0x68656c6c6f\n");
    expect(f, "b64write 0x5000 2 aGVsbG8=", "OK\n"); /* told 2: 2 written */
    expect(f, "read 0x5000 3", "OK 0x686500\n");
    expect(f, "b64write 0x5000 1 QQ", "ERR invalid argument size\n");
}

static void test_fails(Fixture *f, gconstpointer data)
{
    expect(f, "readb", "FAIL bad or missing address ''\n");
    expect(f, "readb -1", "FAIL bad or missing address '-1'\n");
    expect(f, "writeb 0x10", "FAIL bad or missing value ''\n");
    expect(f, "read 0x10", "FAIL bad or missing length ''\n");
    expect(f, "read 0x10 0", "FAIL read length must be 1..262144\n");
    expect(f, "readb 0x10000",
           "FAIL 0x10000+1 is outside guest RAM "
           "(0x0..0x10000)\n");
    expect(f, "readq 0xfffc",
           "FAIL 0xfffc+8 is outside guest RAM "
           "(0x0..0x10000)\n");
    expect(f, "memset 0xffff 2 0",
           "FAIL 0xffff+2 is outside guest RAM "
           "(0x0..0x10000)\n");
    expect(f, "write 0xffffffffffffffff 2 0x0102",
           "FAIL 0xffffffffffffffff+2 is outside guest RAM "
           "(0x0..0x10000)\n");
    expect(f, "readb 0xffff", "OK 0x0000000000000000\n");
}

static void tq_collect(void *opaque, uint64_t page)
{
    g_string_append_printf(opaque, "%" G_GUINT64_FORMAT " ", page);
}

/* Every page written through qtest is in the log, and no other. */
static void test_dirty(Fixture *f, gconstpointer data)
{
    g_autoptr(GString) pages = g_string_new(NULL);

    ram_dirty_log_enable(f->m.ram, true);
    expect(f, "writeb 0x1000 1", "OK\n");
    expect(f, "writeq 0x2ffc 1", "OK\n"); /* straddles pages 2 and 3 */
    expect(f, "write 0x5fff 2 0x0102", "OK\n");
    expect(f, "memset 0x8000 0x2001 0", "OK\n"); /* 8, 9, 10 */
    expect(f, "b64write 0xc000 1 QQ==", "OK\n");
    expect(f, "memset 0xd000 0 1", "OK\n"); /* nothing written */
    expect(f, "readq 0xe000", "OK 0x0000000000000000\n");
    expect(f, "read 0xf000 4", "OK 0x00000000\n");
    expect(f, "writeb 0x10000 1",
           "FAIL 0x10000+1 is outside guest RAM "
           "(0x0..0x10000)\n");
    ram_dirty_foreach(f->m.ram, tq_collect, pages);
    g_assert_cmpstr(pages->str, ==, "1 2 3 5 6 8 9 10 12 ");
}

static void test_no_ram(void)
{
    Machine m = {0};
    m.clock = hw_clock_new(true);
    hw_bus_init(&m.bus);
    DmQtest *q = dm_qtest_new(&m);
    g_autoptr(GString) reply = g_string_new(NULL);

    dm_qtest_process_line(q, "b64read 0 1", reply);
    g_assert_cmpstr(reply->str, ==,
                    "FAIL 'b64read': this machine has no guest memory "
                    "(device model only)\n");
    dm_qtest_free(q);
    hw_clock_free(m.clock);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/ram-qtest/widths", Fixture, NULL, fx_setup, test_widths,
               fx_teardown);
    g_test_add("/ram-qtest/read-write", Fixture, NULL, fx_setup,
               test_read_write, fx_teardown);
    g_test_add("/ram-qtest/fails", Fixture, NULL, fx_setup, test_fails,
               fx_teardown);
    g_test_add("/ram-qtest/dirty", Fixture, NULL, fx_setup, test_dirty,
               fx_teardown);
    g_test_add_func("/ram-qtest/no-ram", test_no_ram);
    return g_test_run();
}
