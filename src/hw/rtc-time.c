/*
 * MC146818 RTC: its clock and timers, and all the time-keeping (see rtc.h
 * for what the model covers). Which of the machine's clocks (hw/clock.h)
 * `-rtc clock=vm|rt|host` selects, and the RTC's two timers on it; time
 * arithmetic (QEMU's mktimegm, period helpers); BCD and the CMOS time
 * registers; the alarm, update-ended and periodic timer logic.
 *
 * Every timer computation follows QEMU 7.2's hw/rtc/mc146818rtc.c step by
 * step, because the saved bytes (base_rtc, last_update, offset, timer
 * deadlines, next_alarm_time, next_periodic_time) must match QEMU's.
 */
#include "hw/rtc-internal.h"

#include <string.h>
#include <time.h>

#define RTC_CLOCK_RATE   32768
#define RTC_UIP_HOLD_NS  (8 * RTC_NS_PER_SEC / 32768)
#define RTC_SEC_PER_MIN  60
#define RTC_MIN_PER_HOUR 60
#define RTC_HOUR_PER_DAY 24
#define RTC_SEC_PER_DAY  86400

static void rtc_periodic_fire(RtcDevice *d);
static void rtc_update_fire(RtcDevice *d);

/* ---- clocks and timers ---- */

static HwClockType rtc_clock_type(RtcClockKind kind)
{
    switch (kind) {
    case RTC_CLOCK_VM:
        return HW_CLOCK_VIRTUAL;
    case RTC_CLOCK_RT:
        return HW_CLOCK_REALTIME;
    case RTC_CLOCK_HOST:
    default:
        return HW_CLOCK_HOST;
    }
}

int64_t rtc_clock_ns(RtcClockKind kind, HwClock *clock)
{
    return hw_clock_get_ns(clock, rtc_clock_type(kind));
}

int64_t rtc_now(RtcDevice *d)
{
    return rtc_clock_ns(d->clock, d->vclock);
}

static void rtc_hw_timer_cb(void *opaque)
{
    RtcTimer *t = opaque;

    *t->deadline = -1;
    t->cb(t->dev);
}

static void rtc_timer_init(RtcDevice *d, RtcTimer *t, int64_t *deadline,
                           void (*cb)(RtcDevice *d))
{
    t->dev = d;
    t->deadline = deadline;
    t->cb = cb;
    *deadline = -1;
    t->hw = hw_timer_new_on(d->vclock, rtc_clock_type(d->clock),
                            rtc_hw_timer_cb, t);
}

void rtc_timers_init(RtcDevice *d)
{
    rtc_timer_init(d, &d->periodic, &d->s.periodic_timer, rtc_periodic_fire);
    rtc_timer_init(d, &d->update, &d->s.update_timer, rtc_update_fire);
}

void rtc_timers_cleanup(RtcDevice *d)
{
    hw_timer_free(d->periodic.hw);
    hw_timer_free(d->update.hw);
}

/* Re-arms the real timer from the deadline in the state. */
void rtc_timer_sync(RtcTimer *t)
{
    if (*t->deadline == -1) {
        hw_timer_del(t->hw);
    } else {
        hw_timer_mod(t->hw, *t->deadline);
    }
}

static void rtc_timer_mod(RtcTimer *t, int64_t deadline)
{
    /* QEMU timer_mod_ns: a negative deadline fires at once (clamp to 0) */
    *t->deadline = deadline < 0 ? 0 : deadline;
    rtc_timer_sync(t);
}

static void rtc_timer_del(RtcTimer *t)
{
    *t->deadline = -1;
    rtc_timer_sync(t);
}

/* ---- time arithmetic (QEMU's mktimegm, period helpers) ---- */

int64_t rtc_mktimegm(const struct tm *tm)
{
    int y = tm->tm_year + 1900, m = tm->tm_mon + 1, day = tm->tm_mday;
    int64_t days;

    if (m < 3) {
        m += 12;
        y--;
    }
    days = day + (153 * m - 457) / 5 + 365 * y + y / 4 - y / 100 + y / 400 -
           719469;
    return (int64_t)(86400ULL * (uint64_t)days) + 3600 * tm->tm_hour +
           60 * tm->tm_min + tm->tm_sec;
}

uint32_t rtc_period_code_to_clock(int code)
{
    if (!code) {
        return 0;
    }
    if (code <= 2) {
        code += 7;
    }
    return 1u << (code - 1);
}

int64_t rtc_periodic_clock_to_ns(int64_t clocks)
{
    return (int64_t)hw_muldiv64(clocks, RTC_NS_PER_SEC, RTC_CLOCK_RATE);
}

uint32_t rtc_periodic_ticks(const RtcState *s)
{
    if (!(s->cmos_data[RTC_REG_B] & RTC_REG_B_PIE)) {
        return 0;
    }
    return rtc_period_code_to_clock(s->cmos_data[RTC_REG_A] & 0x0f);
}

bool rtc_running(const RtcState *s)
{
    return !(s->cmos_data[RTC_REG_B] & RTC_REG_B_SET) &&
           (s->cmos_data[RTC_REG_A] & 0x70) <= 0x20;
}

uint64_t rtc_guest_ns(RtcDevice *d)
{
    RtcState *s = &d->s;

    return s->base_rtc * RTC_NS_PER_SEC + (uint64_t)rtc_now(d) -
           s->last_update + (uint64_t)s->offset;
}

/* ---- BCD and the CMOS time registers ---- */

static int rtc_to_bcd(const RtcState *s, int a)
{
    if (s->cmos_data[RTC_REG_B] & RTC_REG_B_DM) {
        return a;
    }
    return ((a / 10) << 4) | (a % 10);
}

static int rtc_from_bcd(const RtcState *s, int a)
{
    if ((a & 0xc0) == 0xc0) {
        return -1; /* "don't care" */
    }
    if (s->cmos_data[RTC_REG_B] & RTC_REG_B_DM) {
        return a;
    }
    return ((a >> 4) * 10) + (a & 0x0f);
}

static void rtc_get_tm(const RtcState *s, struct tm *tm)
{
    const uint8_t *c = s->cmos_data;

    memset(tm, 0, sizeof(*tm));
    tm->tm_sec = rtc_from_bcd(s, c[RTC_SECONDS]);
    tm->tm_min = rtc_from_bcd(s, c[RTC_MINUTES]);
    tm->tm_hour = rtc_from_bcd(s, c[RTC_HOURS] & 0x7f);
    if (!(c[RTC_REG_B] & RTC_REG_B_24H)) {
        tm->tm_hour %= 12;
        if (c[RTC_HOURS] & 0x80) {
            tm->tm_hour += 12;
        }
    }
    tm->tm_wday = rtc_from_bcd(s, c[RTC_DAY_OF_WEEK]) - 1;
    tm->tm_mday = rtc_from_bcd(s, c[RTC_DAY_OF_MONTH]);
    tm->tm_mon = rtc_from_bcd(s, c[RTC_MONTH]) - 1;
    tm->tm_year = rtc_from_bcd(s, c[RTC_YEAR]) +
                  rtc_from_bcd(s, c[RTC_CENTURY]) * 100 - 1900;
}

void rtc_set_cmos_tm(RtcState *s, const struct tm *tm)
{
    uint8_t *c = s->cmos_data;
    int year, h;

    c[RTC_SECONDS] = rtc_to_bcd(s, tm->tm_sec);
    c[RTC_MINUTES] = rtc_to_bcd(s, tm->tm_min);
    if (c[RTC_REG_B] & RTC_REG_B_24H) {
        c[RTC_HOURS] = rtc_to_bcd(s, tm->tm_hour);
    } else {
        h = (tm->tm_hour % 12) ? tm->tm_hour % 12 : 12;
        c[RTC_HOURS] = rtc_to_bcd(s, h);
        if (tm->tm_hour >= 12) {
            c[RTC_HOURS] |= 0x80;
        }
    }
    c[RTC_DAY_OF_WEEK] = rtc_to_bcd(s, tm->tm_wday + 1);
    c[RTC_DAY_OF_MONTH] = rtc_to_bcd(s, tm->tm_mday);
    c[RTC_MONTH] = rtc_to_bcd(s, tm->tm_mon + 1);
    year = tm->tm_year + 1900;
    c[RTC_YEAR] = rtc_to_bcd(s, year % 100);
    c[RTC_CENTURY] = rtc_to_bcd(s, year / 100);
}

/* Seconds of host time as QEMU's qemu_ref_timedate(QEMU_CLOCK_HOST). */
static int64_t rtc_host_ref_s(RtcDevice *d)
{
    int64_t v = hw_clock_get_ns(d->vclock, HW_CLOCK_HOST) / RTC_NS_PER_SEC;

    if (d->base == RTC_BASE_DATETIME) {
        v -= d->host_dt_offset;
    }
    return v;
}

/* Guest sets the time: CMOS → base_rtc/last_update (QEMU rtc_set_time). */
void rtc_set_time(RtcDevice *d)
{
    struct tm tm, tmp;
    int64_t guest_s;

    rtc_get_tm(&d->s, &tm);
    d->s.base_rtc = (uint64_t)rtc_mktimegm(&tm);
    d->s.last_update = (uint64_t)rtc_now(d);
    if (d->change_cb) {
        tmp = tm;
        tmp.tm_isdst = -1;
        guest_s = d->base == RTC_BASE_LOCALTIME ? (int64_t)mktime(&tmp)
                                                : rtc_mktimegm(&tm);
        d->change_cb(d->change_opaque, guest_s - rtc_host_ref_s(d));
    }
}

/* Guest clock → CMOS time registers, unless SET (QEMU rtc_update_time). */
void rtc_update_time(RtcDevice *d)
{
    int64_t guest_ns = (int64_t)rtc_guest_ns(d);
    time_t guest_s = guest_ns / RTC_NS_PER_SEC;
    struct tm tm;

    if (!gmtime_r(&guest_s, &tm)) {
        return; /* out of the host's range: leave the registers */
    }
    if (!(d->s.cmos_data[RTC_REG_B] & RTC_REG_B_SET)) {
        rtc_set_cmos_tm(&d->s, &tm);
    }
}

void rtc_get_date(RtcDevice *d, struct tm *tm)
{
    rtc_update_time(d);
    rtc_get_tm(&d->s, tm);
}

/* ---- alarm and update-ended timer ---- */

/* QEMU convert_hour takes and returns a uint8_t: a "don't care" hour
   (-1 from rtc_from_bcd) becomes 255, in 12-hour mode 255 % 12 (+ 12). */
static int rtc_convert_hour(const RtcState *s, uint8_t hour)
{
    if (!(s->cmos_data[RTC_REG_B] & RTC_REG_B_24H)) {
        hour %= 12;
        if (s->cmos_data[RTC_HOURS] & 0x80) {
            hour += 12;
        }
    }
    return hour;
}

/* Alarm fields with hours "don't care" (QEMU get_next_alarm, first arm). */
static void rtc_alarm_any_hour(int cur_min, int cur_sec, int *ah, int *am,
                               int *as)
{
    if (*am == -1) {
        *am = cur_min;
        if (*as == -1) {
            *as = cur_sec + 1;
        } else if (cur_sec > *as) {
            (*am)++;
        }
    } else if (cur_min == *am) {
        if (*as == -1) {
            *as = cur_sec + 1;
        } else if (cur_sec > *as) {
            (*ah)++;
        }
        if (*as == RTC_SEC_PER_MIN) {
            *as = 0;
            (*ah)++;
        }
    } else if (cur_min > *am) {
        (*ah)++;
    }
}

/* Alarm hour equals the current hour (QEMU get_next_alarm, second arm). */
static void rtc_alarm_this_hour(int cur_min, int cur_sec, int *am, int *as)
{
    if (*am == -1) {
        *am = cur_min;
        if (*as == -1) {
            *as = cur_sec + 1;
        } else if (cur_sec > *as) {
            (*am)++;
        }
        if (*as == RTC_SEC_PER_MIN) {
            *as = 0;
            (*am)++;
        }
        *am %= RTC_MIN_PER_HOUR;
    } else if (cur_min == *am) {
        if (*as == -1) {
            *as = cur_sec + 1;
        }
        *as %= RTC_SEC_PER_MIN;
    }
}

/* Seconds from now to the next alarm (QEMU get_next_alarm): 1..86400
   while every time and alarm register holds a time in range, and within
   RTC_ALARM_MIN_S..RTC_ALARM_MAX_S whatever they hold (SET freezes the
   time registers, so the guest may leave anything there). */
static int rtc_next_alarm_s(RtcDevice *d)
{
    const RtcState *s = &d->s;
    const uint8_t *c = s->cmos_data;
    int as, am, ah, cs, cm, ch, sec;

    rtc_update_time(d);
    as = rtc_from_bcd(s, c[RTC_SECONDS_ALARM]);
    am = rtc_from_bcd(s, c[RTC_MINUTES_ALARM]);
    ah = rtc_from_bcd(s, c[RTC_HOURS_ALARM]);
    ah = ah == -1 ? -1 : rtc_convert_hour(s, ah);
    cs = rtc_from_bcd(s, c[RTC_SECONDS]);
    cm = rtc_from_bcd(s, c[RTC_MINUTES]);
    ch = rtc_convert_hour(s, (uint8_t)rtc_from_bcd(s, c[RTC_HOURS]));

    if (ah == -1) {
        ah = ch;
        rtc_alarm_any_hour(cm, cs, &ah, &am, &as);
    } else if (ch == ah) {
        rtc_alarm_this_hour(cm, cs, &am, &as);
    }
    am = am == -1 ? 0 : am;
    as = as == -1 ? 0 : as;
    if (as == RTC_SEC_PER_MIN) {
        as = 0;
        am++;
    }
    if (am == RTC_MIN_PER_HOUR) {
        am = 0;
        ah++;
    }
    ah %= RTC_HOUR_PER_DAY;
    sec = ((ah - ch) * RTC_MIN_PER_HOUR + am - cm) * RTC_SEC_PER_MIN + as - cs;
    return sec <= 0 ? sec + RTC_SEC_PER_DAY : sec;
}

/* QEMU check_update_timer: arm the update timer for the next second, or
   for the alarm when UF is already pending. */
void rtc_check_update_timer(RtcDevice *d)
{
    RtcState *s = &d->s;
    uint64_t next, guest_frac;
    int alarm_s;

    if ((s->cmos_data[RTC_REG_A] & 0x60) == 0x60) {
        rtc_timer_del(&d->update);
        return;
    }
    guest_frac = rtc_guest_ns(d) % RTC_NS_PER_SEC;
    next = (uint64_t)rtc_now(d) + RTC_NS_PER_SEC - guest_frac;
    alarm_s = rtc_next_alarm_s(d);
    s->next_alarm_time = next + (uint64_t)(alarm_s - 1) * RTC_NS_PER_SEC;

    if (!(s->cmos_data[RTC_REG_A] & RTC_REG_A_UIP) &&
        (s->cmos_data[RTC_REG_C] & RTC_REG_C_UF)) {
        if ((s->cmos_data[RTC_REG_B] & RTC_REG_B_SET) ||
            (s->cmos_data[RTC_REG_C] & RTC_REG_C_AF)) {
            rtc_timer_del(&d->update);
            return;
        }
        next = s->next_alarm_time;
    }
    if ((int64_t)next != s->update_timer) {
        rtc_timer_mod(&d->update, (int64_t)next);
    }
}

static void rtc_update_fire(RtcDevice *d)
{
    RtcState *s = &d->s;
    uint8_t irqs = RTC_REG_C_UF, fresh;

    if ((s->cmos_data[RTC_REG_A] & 0x60) == 0x60) {
        return; /* cannot happen: the timer is deleted in divider reset */
    }
    rtc_update_time(d);
    s->cmos_data[RTC_REG_A] &= ~RTC_REG_A_UIP;
    if ((uint64_t)rtc_now(d) >= s->next_alarm_time) {
        irqs |= RTC_REG_C_AF;
    }
    fresh = irqs & ~s->cmos_data[RTC_REG_C];
    s->cmos_data[RTC_REG_C] |= irqs;
    if (fresh & s->cmos_data[RTC_REG_B]) {
        s->cmos_data[RTC_REG_C] |= RTC_REG_C_IRQF;
        rtc_irq_set(d, 1);
    }
    rtc_check_update_timer(d);
}

/* QEMU update_in_progress: may latch UIP in REG_A. */
bool rtc_update_in_progress(RtcDevice *d)
{
    RtcState *s = &d->s;

    if (!rtc_running(s)) {
        return false;
    }
    if (s->update_timer != -1 &&
        rtc_now(d) >= s->update_timer - RTC_UIP_HOLD_NS) {
        s->cmos_data[RTC_REG_A] |= RTC_REG_A_UIP;
        return true;
    }
    /* signed, as QEMU's int64_t guest_nsec */
    return (int64_t)rtc_guest_ns(d) % RTC_NS_PER_SEC >=
           RTC_NS_PER_SEC - RTC_UIP_HOLD_NS;
}

/* ---- periodic timer ---- */

/* QEMU periodic_timer_update with lost_tick_policy=discard. */
void rtc_periodic_update(RtcDevice *d, int64_t now, uint32_t old_period,
                         bool period_change)
{
    RtcState *s = &d->s;
    uint32_t period = rtc_periodic_ticks(s);
    int64_t cur_clock, last_clock, lost = 0;

    s->period = period;
    if (!period) {
        s->irq_coalesced = 0;
        rtc_timer_del(&d->periodic);
        return;
    }
    cur_clock = (int64_t)hw_muldiv64(now, RTC_CLOCK_RATE, RTC_NS_PER_SEC);
    if (old_period && period_change) {
        last_clock = (int64_t)hw_muldiv64(s->next_periodic_time, RTC_CLOCK_RATE,
                                          RTC_NS_PER_SEC) -
                     old_period;
        lost = cur_clock - last_clock;
    }
    /* QEMU asserts 0 <= lost; a loaded stream must not make us abort */
    lost = CLAMP(lost, 0, (int64_t)period);
    s->next_periodic_time =
        rtc_periodic_clock_to_ns(cur_clock + period - lost) + 1;
    rtc_timer_mod(&d->periodic, s->next_periodic_time);
}

static void rtc_periodic_fire(RtcDevice *d)
{
    RtcState *s = &d->s;
    int64_t now = rtc_now(d), at = s->next_periodic_time;

    /* Each tick is replayed from the last (QEMU), but after a jump of more
       than HW_CLOCK_MAX_CATCHUP periods the missed ones are dropped. */
    if (hw_clock_catchup_capped(now, at, rtc_periodic_clock_to_ns(s->period))) {
        at = now;
    }
    rtc_periodic_update(d, at, s->period, false);
    s->cmos_data[RTC_REG_C] |= RTC_REG_C_PF;
    if (s->cmos_data[RTC_REG_B] & RTC_REG_B_PIE) {
        s->cmos_data[RTC_REG_C] |= RTC_REG_C_IRQF;
        rtc_irq_set(d, 1);
    }
}
