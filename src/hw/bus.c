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
    bus->regions[bus->n++] = (HwPortRegion){ base, len, ops, opaque, name };
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

static unsigned region_width(const HwPortRegion *r, uint16_t port,
                             unsigned size)
{
    unsigned max = r->ops->access_size ? r->ops->access_size : 1;
    unsigned left = r->len - (port - r->base);

    while (max > size || max > left) {
        max >>= 1;
    }
    return max ? max : 1;
}

uint32_t hw_bus_in(HwBus *bus, uint16_t port, unsigned size)
{
    uint32_t val = 0;
    unsigned done = 0;

    while (done < size) {
        uint16_t p = (uint16_t)(port + done);
        const HwPortRegion *r = bus_find(bus, p);
        unsigned w = 1;
        uint32_t part = 0xff;

        if (r && r->ops->read) {
            w = region_width(r, p, size - done);
            part = r->ops->read(r->opaque, p, w);
        } else if (r) {
            w = region_width(r, p, size - done);
            part = 0xffffffffu;
        }
        part &= w == 4 ? 0xffffffffu : ((1u << (8 * w)) - 1);
        val |= part << (8 * done);
        done += w;
    }
    return val;
}

void hw_bus_out(HwBus *bus, uint16_t port, uint32_t val, unsigned size)
{
    unsigned done = 0;

    while (done < size) {
        uint16_t p = (uint16_t)(port + done);
        const HwPortRegion *r = bus_find(bus, p);
        unsigned w = 1;

        if (r) {
            w = region_width(r, p, size - done);
            if (r->ops->write) {
                uint32_t part = val >> (8 * done);
                if (w < 4) {
                    part &= (1u << (8 * w)) - 1;
                }
                r->ops->write(r->opaque, p, part, w);
            }
        }
        done += w;
    }
}
