/*
 * MC146818 RTC + CMOS: the device itself (see rtc.h for what is covered).
 * Lifecycle (rtc_new/realize/reset/free), guest register access at ports
 * 0x70/0x71, the IRQ output, direct CMOS access, and the state
 * description (QEMU vmstate_rtc) with its pre_save/post_load hooks. The
 * time-keeping behind the registers is in rtc-time.c; the pc machine's
 * CMOS contents in rtc-cmos-pc.c.
 */
#include "hw/rtc-internal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/log.h"

/* ---- IRQ ---- */

void rtc_irq_set(RtcDevice *d, int level)
{
    d->irq_level = level;
    hw_irq_set(d->irq, level);
}

/* ---- guest register access ---- */

static void rtc_write_time_reg(RtcDevice *d, uint8_t val)
{
    d->s.cmos_data[d->s.cmos_index] = val;
    if (rtc_running(&d->s)) {
        rtc_set_time(d);
        rtc_check_update_timer(d);
    }
}

static void rtc_write_reg_a(RtcDevice *d, uint8_t val)
{
    RtcState *s = &d->s;
    bool rate_change = (s->cmos_data[RTC_REG_A] ^ val) & 0x0f;
    uint32_t old_period = rtc_periodic_ticks(s);

    if ((val & 0x60) == 0x60) {
        if (rtc_running(s)) {
            rtc_update_time(d);
        }
        s->cmos_data[RTC_REG_A] &= ~RTC_REG_A_UIP;
    } else if ((s->cmos_data[RTC_REG_A] & 0x60) == 0x60 &&
               (val & 0x70) <= 0x20) {
        /* leaving divider reset: the first update comes 500 ms later */
        if (!(s->cmos_data[RTC_REG_B] & RTC_REG_B_SET)) {
            s->offset = 500000000;
            rtc_set_time(d);
        }
        s->cmos_data[RTC_REG_A] &= ~RTC_REG_A_UIP;
    }
    s->cmos_data[RTC_REG_A] =
        (val & ~RTC_REG_A_UIP) | (s->cmos_data[RTC_REG_A] & RTC_REG_A_UIP);
    if (rate_change) {
        rtc_periodic_update(d, rtc_now(d), old_period, true);
    }
    rtc_check_update_timer(d);
}

static void rtc_write_reg_b(RtcDevice *d, uint8_t val)
{
    RtcState *s = &d->s;
    bool pie_change = (s->cmos_data[RTC_REG_B] ^ val) & RTC_REG_B_PIE;
    uint32_t old_period = rtc_periodic_ticks(s);

    if (val & RTC_REG_B_SET) {
        if (rtc_running(s)) {
            rtc_update_time(d);
        }
        s->cmos_data[RTC_REG_A] &= ~RTC_REG_A_UIP;
        val &= ~RTC_REG_B_UIE;
    } else if ((s->cmos_data[RTC_REG_B] & RTC_REG_B_SET) &&
               (s->cmos_data[RTC_REG_A] & 0x70) <= 0x20) {
        /* leaving SET: the time written while stopped takes effect */
        s->offset = (int64_t)(rtc_guest_ns(d) % RTC_NS_PER_SEC);
        rtc_set_time(d);
    }
    /* a flag already pending when its enable is set interrupts at once */
    if (val & s->cmos_data[RTC_REG_C] & RTC_REG_C_MASK) {
        s->cmos_data[RTC_REG_C] |= RTC_REG_C_IRQF;
        rtc_irq_set(d, 1);
    } else {
        s->cmos_data[RTC_REG_C] &= ~RTC_REG_C_IRQF;
        rtc_irq_set(d, 0);
    }
    s->cmos_data[RTC_REG_B] = val;
    if (pie_change) {
        rtc_periodic_update(d, rtc_now(d), old_period, true);
    }
    rtc_check_update_timer(d);
}

static void rtc_data_write(RtcDevice *d, uint8_t val)
{
    RtcState *s = &d->s;

    switch (s->cmos_index) {
    case RTC_SECONDS_ALARM:
    case RTC_MINUTES_ALARM:
    case RTC_HOURS_ALARM:
        s->cmos_data[s->cmos_index] = val;
        rtc_check_update_timer(d);
        break;
    case RTC_IBM_PS2_CENTURY_BYTE:
        s->cmos_index = RTC_CENTURY; /* QEMU: alias of 0x32 */
        /* fall through */
    case RTC_CENTURY:
    case RTC_SECONDS:
    case RTC_MINUTES:
    case RTC_HOURS:
    case RTC_DAY_OF_WEEK:
    case RTC_DAY_OF_MONTH:
    case RTC_MONTH:
    case RTC_YEAR:
        rtc_write_time_reg(d, val);
        break;
    case RTC_REG_A:
        rtc_write_reg_a(d, val);
        break;
    case RTC_REG_B:
        rtc_write_reg_b(d, val);
        break;
    case RTC_REG_C:
    case RTC_REG_D:
        break; /* read-only */
    default:
        s->cmos_data[s->cmos_index] = val;
        break;
    }
}

static uint8_t rtc_read_reg_c(RtcDevice *d)
{
    RtcState *s = &d->s;
    uint8_t ret = s->cmos_data[RTC_REG_C];

    rtc_irq_set(d, 0);
    s->cmos_data[RTC_REG_C] = 0;
    if (ret & (RTC_REG_C_UF | RTC_REG_C_AF)) {
        rtc_check_update_timer(d);
    }
    return ret;
}

static uint8_t rtc_data_read(RtcDevice *d)
{
    RtcState *s = &d->s;

    switch (s->cmos_index) {
    case RTC_IBM_PS2_CENTURY_BYTE:
        s->cmos_index = RTC_CENTURY;
        /* fall through */
    case RTC_CENTURY:
    case RTC_SECONDS:
    case RTC_MINUTES:
    case RTC_HOURS:
    case RTC_DAY_OF_WEEK:
    case RTC_DAY_OF_MONTH:
    case RTC_MONTH:
    case RTC_YEAR:
        if (rtc_running(s)) {
            rtc_update_time(d);
        }
        return s->cmos_data[s->cmos_index];
    case RTC_REG_A:
        return s->cmos_data[RTC_REG_A] |
               (rtc_update_in_progress(d) ? RTC_REG_A_UIP : 0);
    case RTC_REG_C:
        return rtc_read_reg_c(d);
    default:
        return s->cmos_data[s->cmos_index];
    }
}

static uint32_t rtc_io_read(void *opaque, uint16_t port,
                            G_GNUC_UNUSED unsigned size)
{
    if (!(port & 1)) {
        return 0xff; /* the index register is write-only */
    }
    return rtc_data_read(opaque);
}

static void rtc_io_write(void *opaque, uint16_t port, uint32_t val,
                         G_GNUC_UNUSED unsigned size)
{
    RtcDevice *d = opaque;

    if (!(port & 1)) {
        d->s.cmos_index = val & 0x7f; /* bit 7 is the NMI mask, not ours */
        return;
    }
    rtc_data_write(d, val);
}

static const HwPortOps rtc_port_ops = {
    .read = rtc_io_read,
    .write = rtc_io_write,
    .access_size = 1,
};

/* ---- device state description (QEMU vmstate_rtc, version 3) ---- */

static bool rtc_pre_save(void *opaque, G_GNUC_UNUSED GError **errp)
{
    rtc_update_time(container_of(opaque, RtcDevice, s));
    return true;
}

/* An unsigned time field (ns on the RTC's clock). */
static bool rtc_check_u64_time(const char *name, uint64_t v, GError **errp)
{
    if (v > (uint64_t)HW_CLOCK_MAX_FIELD_NS) {
        ls_error_set(errp, "field '%s': %" PRIu64 " out of range 0..%" PRId64,
                     name, v, HW_CLOCK_MAX_FIELD_NS);
        return false;
    }
    return true;
}

/* next_alarm_time, a uint64_t that QEMU lets wrap below 0 under SET
   (RTC_MAX_ALARM_BEHIND_NS): checked as the signed time it stands for.
   Only compared with the clock, never added to. */
static bool rtc_check_alarm_time(uint64_t v, GError **errp)
{
    return hw_clock_check_time("next_alarm_time", (int64_t)v,
                               -RTC_MAX_ALARM_BEHIND_NS, errp);
}

/* Every time field against the bounds of clock.h ("Time bounds"). */
static bool rtc_check_times(const RtcState *s, GError **errp)
{
    if (s->offset < 0 || s->offset >= RTC_NS_PER_SEC) {
        ls_error_set(errp, "field 'offset': %" PRId64 " out of range 0..%lld",
                     s->offset, RTC_NS_PER_SEC - 1);
        return false;
    }
    return hw_clock_check_time("periodic_timer", s->periodic_timer, -1, errp) &&
           hw_clock_check_time("next_periodic_time", s->next_periodic_time, 0,
                               errp) &&
           hw_clock_check_time("update_timer", s->update_timer, -1, errp) &&
           rtc_check_u64_time("last_update", s->last_update, errp) &&
           rtc_check_alarm_time(s->next_alarm_time, errp);
}

static bool rtc_post_load(void *opaque, int version_id, GError **errp)
{
    RtcState *s = opaque;
    uint8_t a = s->cmos_data[RTC_REG_A];
    uint32_t rate = rtc_period_code_to_clock(a & 0x0f);

    if (s->cmos_index >= RTC_CMOS_SIZE) {
        ls_error_set(errp, "field 'cmos_index': %u out of range 0..127",
                     s->cmos_index);
        return false;
    }
    if (version_id >= 2 && s->period != 0 && s->period != rate) {
        ls_error_set(errp,
                     "field 'period': %" PRIu32 " does not match "
                     "REG_A rate 0x%x (%" PRIu32 " ticks)",
                     s->period, a & 0x0f, rate);
        return false;
    }
    if (!rtc_check_times(s, errp)) {
        return false;
    }
    if ((a & 0x60) == 0x60 && (s->update_timer != -1 || (a & RTC_REG_A_UIP))) {
        ls_error_set(errp,
                     "field 'update_timer': update pending or UIP set "
                     "while REG_A (0x%02x) holds the divider in reset",
                     a);
        return false;
    }
    return true;
}

/* Deadlines bounded against the clock the load brought: one farther
   ahead than the RTC ever arms (a period; the alarm,
   RTC_MAX_UPDATE_AHEAD_NS) is re-armed from now. */
static void rtc_bound_deadlines(RtcDevice *d, int64_t now)
{
    RtcState *s = &d->s;
    int64_t period_ns = rtc_periodic_clock_to_ns(s->period);

    if (s->periodic_timer > now + period_ns + 1) {
        rtc_periodic_update(d, now, s->period, false);
    }
    if (s->update_timer > now + RTC_MAX_UPDATE_AHEAD_NS) {
        rtc_check_update_timer(d);
    }
}

/* QEMU rtc_post_load, on the live state once every section is in. */
static void rtc_post_commit(void *opaque, int version_id)
{
    RtcDevice *d = container_of(opaque, RtcDevice, s);
    RtcState *s = &d->s;
    uint64_t now, next;

    rtc_timer_sync(&d->periodic);
    rtc_timer_sync(&d->update);
    if (version_id <= 2 || d->clock == RTC_CLOCK_RT) {
        rtc_set_time(d);
        s->offset = 0;
        rtc_check_update_timer(d);
    }
    s->period = rtc_periodic_ticks(s);
    now = (uint64_t)rtc_now(d);
    next = (uint64_t)s->next_periodic_time;
    /*
     * QEMU re-phases the periodic timer to the load time whenever the
     * saved next tick is in the future, i.e. on nearly every load; a COLO
     * secondary would then tick out of step with its primary. We keep a
     * saved phase that is plausible (pending, at most one period ahead)
     * and otherwise do as QEMU.
     */
    if (s->period && s->periodic_timer == s->next_periodic_time && now < next &&
        next - now <= (uint64_t)rtc_periodic_clock_to_ns(s->period) + 1) {
        /* keep it */
    } else if (now < next || now > next + RTC_MAX_CLOCK_JUMP_NS) {
        rtc_periodic_update(d, (int64_t)now, s->period, false);
    }
    rtc_bound_deadlines(d, (int64_t)now);
    rtc_irq_set(d, (s->cmos_data[RTC_REG_C] & RTC_REG_C_IRQF) ? 1 : 0);
}

static bool rtc_reinject_needed(const void *opaque)
{
    return ((const RtcState *)opaque)->irq_reinject_on_ack_count != 0;
}

static const VmsField rtc_reinject_fields[] = {
    VMS_UINT16(RtcState, irq_reinject_on_ack_count),
    VMS_END_OF_LIST,
};

static const VmsDesc rtc_reinject_vmsd = {
    .name = "mc146818rtc/irq_reinject_on_ack_count",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = rtc_reinject_fields,
    .needed = rtc_reinject_needed,
};

static const VmsDesc *const rtc_subsections[] = {
    &rtc_reinject_vmsd,
    NULL,
};

static const VmsField rtc_fields[] = {
    VMS_BUFFER(RtcState, cmos_data),
    VMS_UINT8(RtcState, cmos_index),
    VMS_UNUSED(7 * 4),
    VMS_TIMER(RtcState, periodic_timer),
    VMS_INT64(RtcState, next_periodic_time),
    VMS_UNUSED(3 * 8),
    VMS_UINT32_V(RtcState, irq_coalesced, 2),
    VMS_UINT32_V(RtcState, period, 2),
    VMS_UINT64_V(RtcState, base_rtc, 3),
    VMS_UINT64_V(RtcState, last_update, 3),
    VMS_INT64_V(RtcState, offset, 3),
    VMS_TIMER_V(RtcState, update_timer, 3),
    VMS_UINT64_V(RtcState, next_alarm_time, 3),
    VMS_END_OF_LIST,
};

const VmsDesc rtc_vmsd = {
    .name = "mc146818rtc",
    .version_id = 3,
    .minimum_version_id = 1,
    .fields = rtc_fields,
    .subsections = rtc_subsections,
    .pre_save = rtc_pre_save,
    .post_load = rtc_post_load,
    .post_commit = rtc_post_commit,
};

/* ---- creation ---- */

bool rtc_clock_parse(const char *str, RtcClockKind *kind, GError **errp)
{
    if (!strcmp(str, "host")) {
        *kind = RTC_CLOCK_HOST;
    } else if (!strcmp(str, "rt")) {
        *kind = RTC_CLOCK_RT;
    } else if (!strcmp(str, "vm")) {
        *kind = RTC_CLOCK_VM;
    } else {
        ls_error_set(errp, "invalid option value '%s'", str);
        return false;
    }
    return true;
}

/* ---- the reference date at creation (QEMU configure_rtc) ---- */

/* QEMU configure_rtc: the reference start time for `base`. */
static bool rtc_parse_base(RtcDevice *d, const char *base, GError **errp)
{
    struct tm tm = {0};
    int64_t start;

    d->ref_start = rtc_clock_ns(RTC_CLOCK_HOST, d->vclock) / RTC_NS_PER_SEC;
    d->rt_offset =
        (int32_t)(rtc_clock_ns(RTC_CLOCK_RT, d->vclock) / 1000000 / 1000);
    d->host_dt_offset = -1;
    d->base = RTC_BASE_UTC;
    if (!base || !strcmp(base, "utc")) {
        return true;
    }
    if (!strcmp(base, "localtime")) {
        d->base = RTC_BASE_LOCALTIME;
        return true;
    }
    if (sscanf(base, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
        if (sscanf(base, "%d-%d-%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) !=
            3) {
            ls_error_set(errp, "invalid datetime format\nvalid formats: "
                               "'2006-06-17T16:01:21' or '2006-06-17'");
            return false;
        }
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    }
    tm.tm_year -= 1900;
    tm.tm_mon--;
    start = rtc_mktimegm(&tm);
    d->base = RTC_BASE_DATETIME;
    d->host_dt_offset = (int32_t)(d->ref_start - start); /* QEMU: int */
    d->ref_start = start;
    return true;
}

/* QEMU qemu_ref_timedate(rtc_clock) */
static int64_t rtc_ref_timedate(RtcDevice *d)
{
    int64_t v = rtc_now(d) / 1000000 / 1000;

    switch (d->clock) {
    case RTC_CLOCK_RT:
        v -= d->rt_offset;
        /* fall through */
    case RTC_CLOCK_VM:
        return v + d->ref_start;
    case RTC_CLOCK_HOST:
    default:
        return d->base == RTC_BASE_DATETIME ? v - d->host_dt_offset : v;
    }
}

/* QEMU rtc_set_date_from_host */
static void rtc_set_date_from_ref(RtcDevice *d)
{
    time_t t = rtc_ref_timedate(d);
    struct tm tm;

    if (d->base == RTC_BASE_LOCALTIME) {
        localtime_r(&t, &tm);
    } else {
        gmtime_r(&t, &tm);
    }
    d->s.base_rtc = (uint64_t)rtc_mktimegm(&tm);
    d->s.last_update = (uint64_t)rtc_now(d);
    d->s.offset = 0;
    rtc_set_cmos_tm(&d->s, &tm);
}

RtcDevice *rtc_new(HwClock *vclock, RtcClockKind clock, const char *base,
                   HwIrq *irq8, GError **errp)
{
    RtcDevice *d = g_new0(RtcDevice, 1);

    assert(vclock);
    d->vclock = vclock;
    d->clock = clock;
    d->irq = irq8;
    if (!rtc_parse_base(d, base, errp)) {
        g_free(d);
        return NULL;
    }
    rtc_timers_init(d);
    d->s.cmos_data[RTC_REG_A] = 0x26;
    d->s.cmos_data[RTC_REG_B] = 0x02;
    d->s.cmos_data[RTC_REG_C] = 0x00;
    d->s.cmos_data[RTC_REG_D] = 0x80;
    rtc_set_date_from_ref(d);
    rtc_check_update_timer(d);
    return d;
}

bool rtc_realize(RtcDevice *d, HwBus *bus, VmsRegistry *reg, GError **errp)
{
    if (!hw_bus_map(bus, "rtc", RTC_ISA_BASE, 2, &rtc_port_ops, d, errp)) {
        return false;
    }
    return vms_register(reg, "mc146818rtc", 0, RTC_ISA_BASE, &rtc_vmsd, &d->s,
                        sizeof(d->s), errp);
}

void rtc_reset(RtcDevice *d)
{
    RtcState *s = &d->s;

    if (s->cmos_data[0x0f] != 0xfe) { /* 0xfe: S3 resume, kept */
        s->cmos_data[0x0f] = 0x00;
    }
    s->cmos_data[RTC_REG_B] &=
        ~(RTC_REG_B_PIE | RTC_REG_B_AIE | RTC_REG_B_SQWE);
    s->cmos_data[RTC_REG_C] &=
        ~(RTC_REG_C_UF | RTC_REG_C_IRQF | RTC_REG_C_PF | RTC_REG_C_AF);
    rtc_check_update_timer(d);
    rtc_irq_set(d, 0);
    if (d->restore_order) {
        /* validated when it was recorded */
        rtc_cmos_set_boot_order(d, d->restore_order, d->restore_fd_bootchk,
                                NULL);
        g_clear_pointer(&d->restore_order, g_free);
    }
}

void rtc_free(RtcDevice *d)
{
    if (!d) {
        return;
    }
    rtc_timers_cleanup(d);
    g_free(d->restore_order);
    g_free(d);
}

RtcState *rtc_state(RtcDevice *d)
{
    return &d->s;
}

int rtc_irq_level(RtcDevice *d)
{
    return d->irq_level;
}

void rtc_cmos_set(RtcDevice *d, unsigned addr, uint8_t val)
{
    if (addr < RTC_CMOS_SIZE) {
        d->s.cmos_data[addr] = val;
    }
}

uint8_t rtc_cmos_get(RtcDevice *d, unsigned addr)
{
    assert(addr < RTC_CMOS_SIZE);
    return d->s.cmos_data[addr];
}

void rtc_set_change_notify(RtcDevice *d,
                           void (*cb)(void *opaque, int64_t offset_s),
                           void *opaque)
{
    d->change_cb = cb;
    d->change_opaque = opaque;
}
