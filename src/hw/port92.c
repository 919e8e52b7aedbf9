/* Port 0x92 (fast A20, fast reset); see port92.h. */
#include "hw/port92.h"

static uint32_t port92_io_read(void *opaque, uint16_t port, unsigned size)
{
    Port92Device *d = opaque;

    return d->s.outport;
}

static void port92_io_write(void *opaque, uint16_t port, uint32_t val,
                            unsigned size)
{
    Port92Device *d = opaque;
    uint8_t old = d->s.outport;

    d->s.outport = val;
    hw_irq_set(d->a20, (val & PORT92_A20) != 0);
    if ((val & PORT92_RESET) && !(old & PORT92_RESET) && d->reset_request) {
        d->reset_request(d->opaque);
    }
}

static const HwPortOps port92_io_ops = {
    .read = port92_io_read,
    .write = port92_io_write,
    .access_size = 1,
};

/* Every byte is a valid outport; only the A20 line is derived. */
static void port92_post_commit(void *state, int version_id)
{
    Port92Device *d = container_of(state, Port92Device, s);

    hw_irq_set(d->a20, (d->s.outport & PORT92_A20) != 0);
}

static const VmsField port92_fields[] = {
    VMS_UINT8(Port92State, outport),
    VMS_END_OF_LIST,
};

const VmsDesc port92_vmsd = {
    .name = "port92",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = port92_fields,
    .post_commit = port92_post_commit,
};

Port92Device *port92_new(void (*reset_request)(void *), void *opaque,
                         HwIrq *a20)
{
    Port92Device *d = g_new0(Port92Device, 1);

    d->reset_request = reset_request;
    d->opaque = opaque;
    d->a20 = a20;
    return d;
}

bool port92_realize(Port92Device *d, HwBus *bus, VmsRegistry *reg,
                    GError **errp)
{
    return hw_bus_map(bus, "port92", PORT92_IOBASE, 1, &port92_io_ops, d,
                      errp) &&
           vms_register(reg, "port92", 0, -1, &port92_vmsd, &d->s, sizeof(d->s),
                        errp);
}

void port92_reset(Port92Device *d)
{
    d->s.outport &= ~PORT92_RESET;
}

void port92_free(Port92Device *d)
{
    g_free(d);
}
