/* Port bus: routing, access splitting, unmapped ports, overlap. */
#include "hw/bus.h"

#include <string.h>

typedef struct {
    uint8_t regs[4];
    unsigned writes;
} ByteDev;

static uint32_t bd_read(void *opaque, uint16_t port, unsigned size)
{
    ByteDev *d = opaque;
    g_assert_cmpuint(size, ==, 1);
    return d->regs[port & 3];
}

static void bd_write(void *opaque, uint16_t port, uint32_t val, unsigned size)
{
    ByteDev *d = opaque;
    g_assert_cmpuint(size, ==, 1);
    d->regs[port & 3] = val;
    d->writes++;
}

static const HwPortOps bd_ops = {bd_read, bd_write, 1};

static void test_split_and_unmapped(void)
{
    HwBus bus;
    ByteDev d = {{0}, 0};
    g_autoptr(GError) err = NULL;

    hw_bus_init(&bus);
    g_assert_true(hw_bus_map(&bus, "dev", 0x70, 2, &bd_ops, &d, NULL));
    hw_bus_out(&bus, 0x70, 0x0a0b, 2);
    g_assert_cmpuint(d.regs[0], ==, 0x0b);
    g_assert_cmpuint(d.regs[1], ==, 0x0a);
    g_assert_cmpuint(d.writes, ==, 2);
    g_assert_cmphex(hw_bus_in(&bus, 0x70, 2), ==, 0x0a0b);
    /* A word at 0x71 stays with the region of its first port (QEMU). */
    g_assert_cmphex(hw_bus_in(&bus, 0x71, 2), ==, 0x000a); /* regs[2] */
    g_assert_cmphex(hw_bus_in(&bus, 0x1234, 4), ==, 0xffffffff);
    g_assert_false(hw_bus_map(&bus, "other", 0x71, 4, &bd_ops, &d, &err));
    g_assert_nonnull(strstr(err->message, "overlap"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hw/bus/split-and-unmapped", test_split_and_unmapped);
    return g_test_run();
}
