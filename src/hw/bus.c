/* x86 port-I/O bus: range lookup and access splitting. */
#include "hw/bus.h"

#include "base/error.h"

void hw_bus_init(HwBus *bus)
{
    bus->n = 0;
}

bool hw_bus_map(HwBus *bus, const char *name, uint16_t base, uint16_t len,
                const HwPortOps *ops, void *opaque, GError **errp)
{
    uint32_t end = (uint32_t)base + len;

    if (len == 0 || end > 0x10000) {
        ls_error_set(errp, "port range 0x%x+%u of '%s' is invalid", base, len,
                     name);
        return false;
    }
    for (unsigned i = 0; i < bus->n; i++) {
        const HwPortRegion *r = &bus->regions[i];
        if (base < (uint32_t)r->base + r->len && r->base < end) {
            ls_error_set(errp, "ports 0x%x-0x%x of '%s' overlap '%s'", base,
                         end - 1, name, r->name);
            return false;
        }
    }
    if (bus->n == HW_BUS_MAX_REGIONS) {
        ls_error_set(errp, "port bus full, cannot map '%s'", name);
        return false;
    }
    bus->regions[bus->n++] = (HwPortRegion){base, len, ops, opaque, name};
    return true;
}

static const HwPortRegion *bus_find(const HwBus *bus, uint16_t port)
{
    for (unsigned i = 0; i < bus->n; i++) {
        const HwPortRegion *r = &bus->regions[i];
        if (port >= r->base && port - r->base < r->len) {
            return r;
        }
    }
    return NULL;
}

/*
 * QEMU's memory core delivers a guest access to the region holding its
 * first port, split into pieces no wider than the device takes, at
 * consecutive ports: so `outw 0x70` reaches the RTC at 0x70 and 0x71, and
 * `inw 0x60` reads the i8042 data port twice (port 0x61 handed to the
 * i8042, not the speaker), as QEMU does. Devices decode `port` against
 * their own range.
 */
uint32_t hw_bus_in(HwBus *bus, uint16_t port, unsigned size)
{
    const HwPortRegion *r = bus_find(bus, port);
    uint32_t val = 0;
    unsigned w;

    if (!r || !r->ops->read) {
        return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    }
    w = r->ops->access_size ? r->ops->access_size : 1;
    while (w > size) {
        w >>= 1;
    }
    for (unsigned done = 0; done < size; done += w) {
        uint32_t part = r->ops->read(r->opaque, (uint16_t)(port + done), w);
        part &= w == 4 ? 0xffffffffu : ((1u << (8 * w)) - 1);
        val |= part << (8 * done);
    }
    return val;
}

void hw_bus_out(HwBus *bus, uint16_t port, uint32_t val, unsigned size)
{
    const HwPortRegion *r = bus_find(bus, port);
    unsigned w;

    if (!r || !r->ops->write) {
        return;
    }
    w = r->ops->access_size ? r->ops->access_size : 1;
    while (w > size) {
        w >>= 1;
    }
    for (unsigned done = 0; done < size; done += w) {
        uint32_t part = val >> (8 * done);
        if (w < 4) {
            part &= (1u << (8 * w)) - 1;
        }
        r->ops->write(r->opaque, (uint16_t)(port + done), part, w);
    }
}
