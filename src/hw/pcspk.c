/* PC speaker port 0x61 over the PIT's channel 2; see pcspk.h. */
#include "hw/pcspk.h"

#include "base/error.h"

static uint32_t pcspk_io_read(void *opaque, uint16_t port, unsigned size)
{
    PcspkDevice *d = opaque;
    int64_t now = hw_clock_now(d->clock);

    d->s.dummy_refresh_clock ^= PCSPK_REFRESH_BIT;
    return pit_get_gate(d->pit, 2) | d->s.data_on << 1 |
           d->s.dummy_refresh_clock | pit_get_out(d->pit, 2, now) << 5;
}

static void pcspk_io_write(void *opaque, uint16_t port, uint32_t val,
                           unsigned size)
{
    PcspkDevice *d = opaque;

    d->s.data_on = (val >> 1) & 1;
    pit_set_gate(d->pit, 2, val & 1);
}

static const HwPortOps pcspk_io_ops = {
    .read = pcspk_io_read,
    .write = pcspk_io_write,
    .access_size = 1,
};

static bool pcspk_post_load(void *state, int version_id, GError **errp)
{
    const PcspkState *s = state;

    if (s->data_on > 1) {
        ls_error_set(errp, "field 'data_on': %u out of range 0..1", s->data_on);
        return false;
    }
    if (s->dummy_refresh_clock & ~PCSPK_REFRESH_BIT) {
        ls_error_set(errp,
                     "field 'dummy_refresh_clock': 0x%02x is neither "
                     "0 nor 0x10",
                     s->dummy_refresh_clock);
        return false;
    }
    return true;
}

static const VmsField pcspk_fields[] = {
    VMS_UINT8(PcspkState, data_on),
    VMS_UINT8(PcspkState, dummy_refresh_clock),
    VMS_END_OF_LIST,
};

const VmsDesc pcspk_vmsd = {
    .name = "pcspk",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = pcspk_fields,
    .post_load = pcspk_post_load,
};

PcspkDevice *pcspk_new(HwClock *clock, PitDevice *pit)
{
    PcspkDevice *d = g_new0(PcspkDevice, 1);

    d->clock = clock;
    d->pit = pit;
    return d;
}

bool pcspk_realize(PcspkDevice *d, HwBus *bus, VmsRegistry *reg, GError **errp)
{
    return hw_bus_map(bus, "pcspk", PCSPK_IOBASE, 1, &pcspk_io_ops, d, errp) &&
           vms_register(reg, "pcspk", 0, -1, &pcspk_vmsd, &d->s, sizeof(d->s),
                        errp);
}

void pcspk_reset(PcspkDevice *d)
{
    /* QEMU 7.2 registers no reset for pcspk: state survives. */
}

void pcspk_free(PcspkDevice *d)
{
    g_free(d);
}
