/*
 * MC146818 RTC + CMOS (see rtc.h for what is covered). The time model and
 * every timer computation follow QEMU 7.2's hw/rtc/mc146818rtc.c step by
 * step, because the saved bytes (base_rtc, last_update, offset, timer
 * deadlines, next_alarm_time, next_periodic_time) must match QEMU's.
 */
#include "hw/rtc.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/log.h"

#define RTC_NS_PER_SEC        1000000000LL
#define RTC_CLOCK_RATE        32768
#define RTC_UIP_HOLD_NS       (8 * RTC_NS_PER_SEC / 32768)
#define RTC_MAX_CLOCK_JUMP_NS (60 * RTC_NS_PER_SEC)
#define RTC_SEC_PER_MIN       60
#define RTC_MIN_PER_HOUR      60
#define RTC_HOUR_PER_DAY      24
#define RTC_SEC_PER_DAY       86400

typedef enum RtcBaseKind {
    RTC_BASE_UTC,
    RTC_BASE_LOCALTIME,
    RTC_BASE_DATETIME,
} RtcBaseKind;

typedef struct RtcTimer RtcTimer;

/* A timer on the RTC's clock: a HwTimer (clock=vm) or a GSource whose
   ready time tracks the deadline (host, rt). The deadline itself lives in
   the state (`*deadline`), so that it is what gets saved. */
struct RtcTimer {
    RtcDevice *dev;
    int64_t *deadline;
    void (*cb)(RtcDevice *d);
    HwTimer *hw;
    GSource *src;
};

typedef struct RtcSource {
    GSource base;
    RtcTimer *timer;
} RtcSource;

struct RtcDevice {
    RtcState s;
    HwClock *vclock;
    RtcClockKind clock;
    HwIrq *irq;
    int irq_level;
    RtcTimer periodic;
    RtcTimer update;
    RtcBaseKind base;
    int64_t ref_start;      /* QEMU rtc_ref_start_datetime (s) */
    int64_t rt_offset;      /* QEMU rtc_realtime_clock_offset (s) */
    int64_t host_dt_offset; /* QEMU rtc_host_datetime_offset (s) */
    char *restore_order;    /* boot order to restore at reset, or NULL */
    bool restore_fd_bootchk;
    void (*change_cb)(void *opaque, int64_t offset_s);
    void *change_opaque;
};

static void rtc_update_time(RtcDevice *d);
static void rtc_periodic_fire(RtcDevice *d);
static void rtc_update_fire(RtcDevice *d);

/* ---- clocks and timers ---- */

static int64_t rtc_clock_ns(RtcClockKind kind, HwClock *vclock)
{
    struct timespec ts;

    switch (kind) {
    case RTC_CLOCK_VM:
        return hw_clock_now(vclock);
    case RTC_CLOCK_RT:
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * RTC_NS_PER_SEC + ts.tv_nsec;
    case RTC_CLOCK_HOST:
    default:
        return g_get_real_time() * 1000; /* QEMU: gettimeofday */
    }
}

static int64_t rtc_now(RtcDevice *d)
{
    return rtc_clock_ns(d->clock, d->vclock);
}

static void rtc_source_arm(RtcTimer *t)
{
    int64_t left;

    if (*t->deadline == -1) {
        g_source_set_ready_time(t->src, -1);
        return;
    }
    left = *t->deadline - rtc_now(t->dev);
    if (left < 0) {
        left = 0;
    }
    g_source_set_ready_time(t->src,
                            g_get_monotonic_time() + (left + 999) / 1000);
}

static gboolean rtc_source_dispatch(GSource *src, G_GNUC_UNUSED GSourceFunc cb,
                                    G_GNUC_UNUSED gpointer data)
{
    RtcTimer *t = ((RtcSource *)src)->timer;

    if (*t->deadline != -1 && rtc_now(t->dev) >= *t->deadline) {
        *t->deadline = -1;
        g_source_set_ready_time(src, -1);
        t->cb(t->dev);
    } else {
        rtc_source_arm(t);
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs rtc_source_funcs = {
    .dispatch = rtc_source_dispatch,
};

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
    if (d->clock == RTC_CLOCK_VM) {
        t->hw = hw_timer_new(d->vclock, rtc_hw_timer_cb, t);
        return;
    }
    t->src = g_source_new(&rtc_source_funcs, sizeof(RtcSource));
    ((RtcSource *)t->src)->timer = t;
    g_source_set_ready_time(t->src, -1);
    g_source_attach(t->src, g_main_context_get_thread_default());
}

static void rtc_timer_cleanup(RtcTimer *t)
{
    if (t->hw) {
        hw_timer_free(t->hw);
    }
    if (t->src) {
        g_source_destroy(t->src);
        g_source_unref(t->src);
    }
}

/* Re-arms the real timer from the deadline in the state. */
static void rtc_timer_sync(RtcTimer *t)
{
    if (t->hw) {
        if (*t->deadline == -1) {
            hw_timer_del(t->hw);
        } else {
            hw_timer_mod(t->hw, *t->deadline);
        }
    } else {
        rtc_source_arm(t);
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

/* ---- IRQ ---- */

static void rtc_irq_set(RtcDevice *d, int level)
{
    d->irq_level = level;
    hw_irq_set(d->irq, level);
}

/* ---- time arithmetic (QEMU's mktimegm, muldiv64, period helpers) ---- */

static int64_t rtc_mktimegm(const struct tm *tm)
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

static uint64_t rtc_muldiv64(uint64_t a, uint32_t b, uint32_t c)
{
    return (uint64_t)(((unsigned __int128)a * b) / c);
}

static uint32_t rtc_period_code_to_clock(int code)
{
    if (!code) {
        return 0;
    }
    if (code <= 2) {
        code += 7;
    }
    return 1u << (code - 1);
}

static int64_t rtc_periodic_clock_to_ns(int64_t clocks)
{
    return (int64_t)rtc_muldiv64(clocks, RTC_NS_PER_SEC, RTC_CLOCK_RATE);
}

static uint32_t rtc_periodic_ticks(const RtcState *s)
{
    if (!(s->cmos_data[RTC_REG_B] & RTC_REG_B_PIE)) {
        return 0;
    }
    return rtc_period_code_to_clock(s->cmos_data[RTC_REG_A] & 0x0f);
}

static bool rtc_running(const RtcState *s)
{
    return !(s->cmos_data[RTC_REG_B] & RTC_REG_B_SET) &&
           (s->cmos_data[RTC_REG_A] & 0x70) <= 0x20;
}

static uint64_t rtc_guest_ns(RtcDevice *d)
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

static void rtc_set_cmos_tm(RtcState *s, const struct tm *tm)
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
    int64_t v = g_get_real_time() / 1000 / 1000;

    if (d->base == RTC_BASE_DATETIME) {
        v -= d->host_dt_offset;
    }
    return v;
}

/* Guest sets the time: CMOS → base_rtc/last_update (QEMU rtc_set_time). */
static void rtc_set_time(RtcDevice *d)
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
static void rtc_update_time(RtcDevice *d)
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

/* ---- alarm and update-ended timer ---- */

static int rtc_convert_hour(const RtcState *s, int hour)
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

/* Seconds from now to the next alarm, 1..86400 (QEMU get_next_alarm). */
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
    ch = rtc_convert_hour(s, rtc_from_bcd(s, c[RTC_HOURS]));

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
static void rtc_check_update_timer(RtcDevice *d)
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
static bool rtc_update_in_progress(RtcDevice *d)
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
static void rtc_periodic_update(RtcDevice *d, int64_t now, uint32_t old_period,
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
    cur_clock = (int64_t)rtc_muldiv64(now, RTC_CLOCK_RATE, RTC_NS_PER_SEC);
    if (old_period && period_change) {
        last_clock = (int64_t)rtc_muldiv64(s->next_periodic_time,
                                           RTC_CLOCK_RATE, RTC_NS_PER_SEC) -
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

    rtc_periodic_update(d, s->next_periodic_time, s->period, false);
    s->cmos_data[RTC_REG_C] |= RTC_REG_C_PF;
    if (s->cmos_data[RTC_REG_B] & RTC_REG_B_PIE) {
        s->cmos_data[RTC_REG_C] |= RTC_REG_C_IRQF;
        rtc_irq_set(d, 1);
    }
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

static bool rtc_check_timer(int64_t deadline, const char *name, GError **errp)
{
    if (deadline < -1) {
        ls_error_set(errp, "field '%s': deadline %" PRId64 " is negative", name,
                     deadline);
        return false;
    }
    return true;
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
    if (!rtc_check_timer(s->periodic_timer, "periodic_timer", errp) ||
        !rtc_check_timer(s->update_timer, "update_timer", errp)) {
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

/* QEMU configure_rtc: the reference start time for `base`. */
static bool rtc_parse_base(RtcDevice *d, const char *base, GError **errp)
{
    struct tm tm = {0};
    int64_t start;

    d->ref_start = g_get_real_time() / 1000 / 1000;
    d->rt_offset = (int32_t)(rtc_clock_ns(RTC_CLOCK_RT, NULL) / 1000000 / 1000);
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
    rtc_timer_init(d, &d->periodic, &d->s.periodic_timer, rtc_periodic_fire);
    rtc_timer_init(d, &d->update, &d->s.update_timer, rtc_update_fire);
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
    rtc_timer_cleanup(&d->periodic);
    rtc_timer_cleanup(&d->update);
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

/* ---- the pc machine's CMOS contents (QEMU 7.2 hw/i386/pc.c) ---- */

#define RTC_PC_MAX_BOOT_DEVICES 3
#define RTC_PC_EQUIPMENT        0x14
#define RTC_KIB                 1024ULL
#define RTC_MIB                 (1024ULL * 1024)

/* vl.c validate_bootdevices, then pc.c set_boot_dev's checks. */
static bool rtc_boot_parse(const char *order, int nibbles[3], GError **errp)
{
    uint32_t seen = 0;
    size_t i, n = strlen(order);

    for (i = 0; i < n; i++) {
        if (order[i] < 'a' || order[i] > 'p') {
            ls_error_set(errp, "Invalid boot device '%c'", order[i]);
            return false;
        }
        if (seen & (1u << (order[i] - 'a'))) {
            ls_error_set(errp, "Boot device '%c' was given twice", order[i]);
            return false;
        }
        seen |= 1u << (order[i] - 'a');
    }
    if (n > RTC_PC_MAX_BOOT_DEVICES) {
        ls_error_set(errp, "Too many boot devices for PC");
        return false;
    }
    for (i = 0; i < n; i++) {
        /* a, b: floppy; c: disk; d: CD-ROM; n: network */
        nibbles[i] = order[i] <= 'b'   ? 1
                     : order[i] == 'c' ? 2
                     : order[i] == 'd' ? 3
                     : order[i] == 'n' ? 4
                                       : 0;
        if (!nibbles[i]) {
            ls_error_set(errp, "Invalid boot device for PC: '%c'", order[i]);
            return false;
        }
    }
    return true;
}

bool rtc_cmos_set_boot_order(RtcDevice *d, const char *order, bool fd_bootchk,
                             GError **errp)
{
    int nb[3] = {0, 0, 0};

    if (!rtc_boot_parse(order, nb, errp)) {
        return false;
    }
    d->s.cmos_data[0x3d] = (nb[1] << 4) | nb[0];
    d->s.cmos_data[0x38] = (nb[2] << 4) | (fd_bootchk ? 0 : 1);
    return true;
}

bool rtc_cmos_boot_once(RtcDevice *d, const char *once, bool fd_bootchk,
                        GError **errp)
{
    uint8_t old3d = d->s.cmos_data[0x3d], old38 = d->s.cmos_data[0x38];
    static const char letters[] = {0, 'a', 'c', 'd', 'n'};
    char normal[4] = {0};
    int i, nib;

    /* the order to come back to, rebuilt from what CMOS holds now */
    for (i = 0; i < 3; i++) {
        nib = i < 2 ? (old3d >> (4 * i)) & 0x0f : old38 >> 4;
        if (nib < 1 || nib > 4) {
            break;
        }
        normal[i] = letters[nib];
    }
    if (!rtc_cmos_set_boot_order(d, once, fd_bootchk, errp)) {
        return false;
    }
    g_free(d->restore_order);
    d->restore_order = g_strdup(normal);
    d->restore_fd_bootchk = !(old38 & 1);
    return true;
}

static void rtc_cmos_set16(RtcState *s, unsigned at, uint64_t val)
{
    val = MIN(val, 65535);
    s->cmos_data[at] = val & 0xff;
    s->cmos_data[at + 1] = (val >> 8) & 0xff;
}

bool rtc_cmos_init_pc(RtcDevice *d, const char *boot_order, bool fd_bootchk,
                      uint64_t ram_bytes, GError **errp)
{
    RtcState *s = &d->s;
    uint64_t below = ram_bytes, above = 0, high;

    if (!rtc_cmos_set_boot_order(d, boot_order ? boot_order : "cad", fd_bootchk,
                                 errp)) {
        return false;
    }
    /* pc_init1's split: at 3.5 GiB, or 3 GiB when it has to split */
    if (ram_bytes >= 0xe0000000ULL) {
        below = ram_bytes > 0xe0000000ULL ? 0xc0000000ULL : 0xe0000000ULL;
        above = ram_bytes - below;
    }
    rtc_cmos_set16(s, 0x15, MIN(below / RTC_KIB, 640));
    rtc_cmos_set16(s, 0x17, below > RTC_MIB ? (below - RTC_MIB) / RTC_KIB : 0);
    rtc_cmos_set16(s, 0x30, below > RTC_MIB ? (below - RTC_MIB) / RTC_KIB : 0);
    rtc_cmos_set16(
        s, 0x34,
        below > 16 * RTC_MIB ? (below - 16 * RTC_MIB) / (64 * RTC_KIB) : 0);
    high = above / 65536;
    s->cmos_data[0x5b] = high & 0xff;
    s->cmos_data[0x5c] = (high >> 8) & 0xff;
    s->cmos_data[0x5d] = (high >> 16) & 0xff;
    s->cmos_data[0x5f] = 0;                /* CPUs - 1 */
    s->cmos_data[RTC_PC_EQUIPMENT] = 0x06; /* FPU, PS/2 mouse, no floppy */
    s->cmos_data[0x10] = 0;                /* floppy drive types: none */
    s->cmos_data[0x12] = 0;                /* IDE disk types: none */
    s->cmos_data[0x39] = 0;                /* IDE translation */
    return true;
}
