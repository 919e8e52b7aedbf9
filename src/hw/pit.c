/*
 * i8254 PIT: QEMU 7.2's count/output arithmetic on the virtual clock,
 * the port 0x40-0x43 register protocol, the `i8254` state layout and its
 * validation. See pit.h.
 */
#include "hw/pit.h"

#include <assert.h>
#include <inttypes.h>

#include "base/error.h"
#include "base/log.h"

#define PIT_RW_STATE_LSB   1
#define PIT_RW_STATE_MSB   2
#define PIT_RW_STATE_WORD0 3
#define PIT_RW_STATE_WORD1 4
#define PIT_PORT_CONTROL   3
#define PIT_CMD_READ_BACK  3
#define PIT_RB_NO_COUNT    0x20
#define PIT_RB_NO_STATUS   0x10
/* Farthest a transition can lie ahead of the time it was computed at:
   65537 input ticks (count 0x10000, modes 4/5) and QEMU's 1 ns rounding. */
#define PIT_MAX_AHEAD_NS (0x10001LL * HW_NS_PER_SEC / PIT_FREQ + 1)

/* PIT input clock ticks since the count was loaded. */
static uint64_t pit_ticks(const PitChannelState *s, int64_t now)
{
    return hw_muldiv64((uint64_t)(now - s->count_load_time), PIT_FREQ,
                       HW_NS_PER_SEC);
}

static int pit_channel_out(const PitChannelState *s, int64_t now)
{
    uint64_t d = pit_ticks(s, now);
    uint64_t count = (uint64_t)s->count;

    switch (s->mode) {
    default:
    case 0:
        return d >= count;
    case 1:
        return d < count;
    case 2:
        return (d % count) == 0 && d != 0;
    case 3:
        return (d % count) < ((count + 1) >> 1);
    case 4:
    case 5:
        return d == count;
    }
}

/* Virtual time of the next output transition after `now`, or -1 (QEMU's
   pit_get_next_transition_time, rounding quirks included). */
static int64_t pit_next_transition(const PitChannelState *s, int64_t now)
{
    uint64_t d = pit_ticks(s, now);
    uint64_t count = (uint64_t)s->count, base, next, period2;

    switch (s->mode) {
    default:
    case 0:
    case 1:
        if (d >= count) {
            return -1;
        }
        next = count;
        break;
    case 2:
        base = d - d % count;
        next = (d - base) == 0 && d != 0 ? base + count : base + count + 1;
        break;
    case 3:
        base = d - d % count;
        period2 = (count + 1) >> 1;
        next = (d - base) < period2 ? base + period2 : base + count;
        break;
    case 4:
    case 5:
        if (d < count) {
            next = count;
        } else if (d == count) {
            next = count + 1;
        } else {
            return -1;
        }
        break;
    }
    next = (uint64_t)s->count_load_time +
           hw_muldiv64(next, HW_NS_PER_SEC, PIT_FREQ);
    if (next <= (uint64_t)now) {
        next = (uint64_t)now + 1;
    }
    return (int64_t)next;
}

static int pit_get_count(PitDevice *d, const PitChannelState *s)
{
    uint64_t t = pit_ticks(s, hw_clock_now(d->clock));
    uint64_t count = (uint64_t)s->count;

    switch (s->mode) {
    case 0:
    case 1:
    case 4:
    case 5:
        return (int)((count - t) & 0xffff);
    case 3:
        return (int)(count - (2 * t) % count);
    default:
        return (int)(count - t % count);
    }
}

/* Channel 0 only: drive IRQ 0 with the output at `now` and arm the timer
   for the next transition (QEMU's pit_irq_timer_update). */
static void pit_update_irq(PitDevice *d, PitChannelState *s, int64_t now)
{
    int64_t expire;

    if (s != &d->s.channels[0] || s->irq_disabled) {
        return;
    }
    expire = pit_next_transition(s, now);
    hw_irq_set(d->irq0, pit_channel_out(s, now));
    s->next_transition_time = expire;
    if (expire != -1) {
        hw_timer_mod(d->timer, expire);
    } else {
        hw_timer_del(d->timer);
    }
}

static void pit_timer_cb(void *opaque)
{
    PitDevice *d = opaque;
    PitChannelState *s = &d->s.channels[0];
    int64_t now = hw_clock_now(d->clock), at = s->next_transition_time;
    int64_t period = (int64_t)hw_muldiv64(s->count, HW_NS_PER_SEC, PIT_FREQ);

    /* Evaluated at the transition time itself, not the clock's now, so
       each transition is replayed in turn; but after a jump of more than
       HW_CLOCK_MAX_CATCHUP periods the missed ones are dropped and the
       output re-phases to now (see clock.h). */
    if (hw_clock_catchup_capped(now, at, period)) {
        at = now;
    }
    pit_update_irq(d, s, at);
}

static void pit_load_count(PitDevice *d, PitChannelState *s, int val)
{
    if (val == 0) {
        val = 0x10000;
    }
    s->count_load_time = hw_clock_now(d->clock);
    s->count = val;
    pit_update_irq(d, s, s->count_load_time);
}

/* Counter latch; a pending latch is not overwritten. */
static void pit_latch_count(PitDevice *d, PitChannelState *s)
{
    if (!s->count_latched) {
        s->latched_count = pit_get_count(d, s);
        s->count_latched = s->rw_mode;
    }
}

static void pit_read_back(PitDevice *d, uint8_t val)
{
    for (int i = 0; i < PIT_NUM_CHANNELS; i++) {
        PitChannelState *s = &d->s.channels[i];

        if (!(val & (2 << i))) {
            continue;
        }
        if (!(val & PIT_RB_NO_COUNT)) {
            pit_latch_count(d, s);
        }
        if (!(val & PIT_RB_NO_STATUS) && !s->status_latched) {
            /* QEMU reports no null-count bit */
            s->status = pit_channel_out(s, hw_clock_now(d->clock)) << 7 |
                        s->rw_mode << 4 | s->mode << 1 | s->bcd;
            s->status_latched = 1;
        }
    }
}

static void pit_write_control(PitDevice *d, uint8_t val)
{
    int channel = val >> 6, access = (val >> 4) & 3;
    PitChannelState *s;

    if (channel == PIT_CMD_READ_BACK) {
        pit_read_back(d, val);
        return;
    }
    s = &d->s.channels[channel];
    if (access == 0) {
        pit_latch_count(d, s);
        return;
    }
    /* QEMU neither stops the counter nor updates the IRQ here */
    s->rw_mode = access;
    s->read_state = access;
    s->write_state = access;
    s->mode = (val >> 1) & 7;
    s->bcd = val & 1;
}

static void pit_write_counter(PitDevice *d, PitChannelState *s, uint8_t val)
{
    switch (s->write_state) {
    default:
    case PIT_RW_STATE_LSB:
        pit_load_count(d, s, val);
        break;
    case PIT_RW_STATE_MSB:
        pit_load_count(d, s, val << 8);
        break;
    case PIT_RW_STATE_WORD0:
        s->write_latch = val;
        s->write_state = PIT_RW_STATE_WORD1;
        break;
    case PIT_RW_STATE_WORD1:
        pit_load_count(d, s, s->write_latch | (val << 8));
        s->write_state = PIT_RW_STATE_WORD0;
        break;
    }
}

static void pit_io_write(void *opaque, uint16_t port, uint32_t val,
                         unsigned size)
{
    PitDevice *d = opaque;
    unsigned addr = port & 3;

    if (addr == PIT_PORT_CONTROL) {
        pit_write_control(d, val);
    } else {
        pit_write_counter(d, &d->s.channels[addr], val);
    }
}

static uint32_t pit_read_latched(PitChannelState *s)
{
    switch (s->count_latched) {
    default:
    case PIT_RW_STATE_LSB:
        s->count_latched = 0;
        return s->latched_count & 0xff;
    case PIT_RW_STATE_MSB:
        s->count_latched = 0;
        return s->latched_count >> 8;
    case PIT_RW_STATE_WORD0:
        s->count_latched = PIT_RW_STATE_MSB;
        return s->latched_count & 0xff;
    }
}

static uint32_t pit_read_counter(PitDevice *d, PitChannelState *s)
{
    int count = pit_get_count(d, s);

    switch (s->read_state) {
    default:
    case PIT_RW_STATE_LSB:
        return count & 0xff;
    case PIT_RW_STATE_MSB:
        return (count >> 8) & 0xff;
    case PIT_RW_STATE_WORD0:
        s->read_state = PIT_RW_STATE_WORD1;
        return count & 0xff;
    case PIT_RW_STATE_WORD1:
        s->read_state = PIT_RW_STATE_WORD0;
        return (count >> 8) & 0xff;
    }
}

static uint32_t pit_io_read(void *opaque, uint16_t port, unsigned size)
{
    PitDevice *d = opaque;
    unsigned addr = port & 3;
    PitChannelState *s;

    if (addr == PIT_PORT_CONTROL) {
        return 0; /* write-only; QEMU reads 0 */
    }
    s = &d->s.channels[addr];
    if (s->status_latched) {
        s->status_latched = 0;
        return s->status;
    }
    if (s->count_latched) {
        return pit_read_latched(s);
    }
    return pit_read_counter(d, s);
}

static const HwPortOps pit_io_ops = {
    .read = pit_io_read,
    .write = pit_io_write,
    .access_size = 1,
};

int pit_get_out(PitDevice *d, int channel, int64_t now)
{
    assert(channel >= 0 && channel < PIT_NUM_CHANNELS);
    return pit_channel_out(&d->s.channels[channel], now);
}

int pit_get_gate(PitDevice *d, int channel)
{
    assert(channel >= 0 && channel < PIT_NUM_CHANNELS);
    return d->s.channels[channel].gate;
}

void pit_set_gate(PitDevice *d, int channel, int level)
{
    PitChannelState *s;

    assert(channel >= 0 && channel < PIT_NUM_CHANNELS);
    s = &d->s.channels[channel];
    level = level != 0;
    switch (s->mode) {
    case 1:
    case 2:
    case 3:
    case 5:
        if (s->gate < level) {
            /* a rising edge restarts counting */
            s->count_load_time = hw_clock_now(d->clock);
            pit_update_irq(d, s, s->count_load_time);
        }
        break;
    default: /* 0, 4: QEMU does not stop counting */
        break;
    }
    s->gate = level;
}

/* ---- state description ---- */

typedef struct PitLimit {
    const char *name;
    size_t offset;
    uint8_t max;
} PitLimit;

#define PIT_LIMIT(_m, _max)                                                    \
    {                                                                          \
#_m, offsetof(PitChannelState, _m), (_max)                             \
    }

/* The u8 fields' domains: what QEMU's register paths can store. */
static const PitLimit pit_limits[] = {
    PIT_LIMIT(count_latched, PIT_RW_STATE_WORD0),
    PIT_LIMIT(status_latched, 1),
    PIT_LIMIT(read_state, PIT_RW_STATE_WORD1),
    PIT_LIMIT(write_state, PIT_RW_STATE_WORD1),
    PIT_LIMIT(rw_mode, 3),
    PIT_LIMIT(mode, 7),
    PIT_LIMIT(bcd, 1),
    PIT_LIMIT(gate, 1),
};

static bool pit_channel_post_load(void *state, int version_id, GError **errp)
{
    const PitChannelState *s = state;

    for (size_t i = 0; i < G_N_ELEMENTS(pit_limits); i++) {
        uint8_t v = *((const uint8_t *)s + pit_limits[i].offset);

        if (v > pit_limits[i].max) {
            ls_error_set(errp, "field '%s': %u out of range 0..%u",
                         pit_limits[i].name, v, pit_limits[i].max);
            return false;
        }
    }
    if (!hw_clock_check_time("count_load_time", s->count_load_time, 0, errp) ||
        !hw_clock_check_time("next_transition_time", s->next_transition_time,
                             -1, errp)) {
        return false;
    }
    /* a zero count would divide by zero; QEMU never stores one */
    if (s->count < 1 || s->count > 0x10000) {
        ls_error_set(errp, "field 'count': %" PRId32 " out of range 1..65536",
                     s->count);
        return false;
    }
    return true;
}

static bool pit_post_load(void *state, int version_id, GError **errp)
{
    const PitState *s = state;

    if (s->channels[0].irq_disabled > 1) {
        ls_error_set(errp,
                     "field 'channels[0].irq_disabled': %" PRIu32
                     " out of range 0..1",
                     s->channels[0].irq_disabled);
        return false;
    }
    return hw_clock_check_time("channels[0].next_transition_time",
                               s->channels[0].next_transition_time, -1, errp);
}

/* Times the register paths can only set from the clock, bounded against
   the clock the load brought: a count loaded in the future is loaded now;
   a transition due farther ahead than any count reaches is recomputed. */
static void pit_bound_times(PitDevice *d, int64_t now)
{
    PitChannelState *c0 = &d->s.channels[0];

    for (int i = 0; i < PIT_NUM_CHANNELS; i++) {
        if (d->s.channels[i].count_load_time > now) {
            ls_log_ratelimited("i8254: channel %d count_load_time %" PRId64
                               " is after the clock (%" PRId64 "): loaded now",
                               i, d->s.channels[i].count_load_time, now);
            d->s.channels[i].count_load_time = now;
        }
    }
    if (c0->next_transition_time > now + PIT_MAX_AHEAD_NS) {
        ls_log_ratelimited("i8254: next_transition_time %" PRId64
                           " is beyond reach of the clock (%" PRId64
                           "): recomputed",
                           c0->next_transition_time, now);
        c0->next_transition_time = pit_next_transition(c0, now);
    }
}

/* As QEMU's pit_post_load: re-arm channel 0's timer from the saved
   transition time. The IRQ level is not re-driven: the PIC's saved
   last_irr already holds it, and QEMU leaves it alone too. */
static void pit_post_commit(void *state, int version_id)
{
    PitDevice *d = container_of(state, PitDevice, s);
    int64_t t;

    pit_bound_times(d, hw_clock_now(d->clock));
    t = d->s.channels[0].next_transition_time;
    if (t != -1) {
        hw_timer_mod(d->timer, t);
    } else {
        hw_timer_del(d->timer);
    }
}

static const VmsField pit_channel_fields[] = {
    VMS_INT32(PitChannelState, count),
    VMS_UINT16(PitChannelState, latched_count),
    VMS_UINT8(PitChannelState, count_latched),
    VMS_UINT8(PitChannelState, status_latched),
    VMS_UINT8(PitChannelState, status),
    VMS_UINT8(PitChannelState, read_state),
    VMS_UINT8(PitChannelState, write_state),
    VMS_UINT8(PitChannelState, write_latch),
    VMS_UINT8(PitChannelState, rw_mode),
    VMS_UINT8(PitChannelState, mode),
    VMS_UINT8(PitChannelState, bcd),
    VMS_UINT8(PitChannelState, gate),
    VMS_INT64(PitChannelState, count_load_time),
    VMS_INT64(PitChannelState, next_transition_time),
    VMS_END_OF_LIST,
};

static const VmsDesc pit_channel_vmsd = {
    .name = "pit channel",
    .version_id = 2,
    .minimum_version_id = 2,
    .fields = pit_channel_fields,
    .post_load = pit_channel_post_load,
};

static const VmsField pit_fields[] = {
    VMS_UINT32_V(PitState, channels[0].irq_disabled, 3),
    {
        .name = "channels",
        .type = VMS_STRUCT,
        .offset = offsetof(PitState, channels),
        .size = sizeof(PitChannelState),
        .num = PIT_NUM_CHANNELS,
        .version_id = 2,
        .vmsd = &pit_channel_vmsd,
    },
    /* "formerly irq_timer": the same field again */
    VMS_INT64(PitState, channels[0].next_transition_time),
    VMS_END_OF_LIST,
};

const VmsDesc pit_vmsd = {
    .name = "i8254",
    .version_id = 3,
    .minimum_version_id = 2,
    .fields = pit_fields,
    .post_load = pit_post_load,
    .post_commit = pit_post_commit,
};

/* ---- lifecycle ---- */

PitDevice *pit_new(HwClock *clock, HwIrq *irq0)
{
    PitDevice *d = g_new0(PitDevice, 1);

    d->clock = clock;
    d->irq0 = irq0;
    d->timer = hw_timer_new(clock, pit_timer_cb, d);
    pit_reset(d);
    return d;
}

bool pit_realize(PitDevice *d, HwBus *bus, VmsRegistry *reg, GError **errp)
{
    return hw_bus_map(bus, "pit", PIT_IOBASE, 4, &pit_io_ops, d, errp) &&
           vms_register(reg, "i8254", 0, PIT_IOBASE, &pit_vmsd, &d->s,
                        sizeof(d->s), errp);
}

void pit_reset(PitDevice *d)
{
    int64_t now = hw_clock_now(d->clock);
    PitChannelState *c0 = &d->s.channels[0];

    for (int i = 0; i < PIT_NUM_CHANNELS; i++) {
        PitChannelState *s = &d->s.channels[i];

        s->mode = 3;
        s->gate = i != 2;
        s->count_load_time = now;
        s->count = 0x10000;
    }
    if (!c0->irq_disabled) {
        c0->next_transition_time = pit_next_transition(c0, now);
        hw_timer_mod(d->timer, c0->next_transition_time);
    }
}

void pit_free(PitDevice *d)
{
    if (d) {
        hw_timer_free(d->timer);
        g_free(d);
    }
}
