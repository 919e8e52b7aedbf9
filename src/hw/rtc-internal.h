/*
 * Private to the MC146818 RTC files (rtc.c, rtc-time.c, rtc-cmos-pc.c):
 * the device struct and the functions shared between them. Not for use
 * outside src/hw/rtc*.c; everyone else goes through hw/rtc.h.
 */
#ifndef LS_HW_RTC_INTERNAL_H
#define LS_HW_RTC_INTERNAL_H

#include <time.h>

#include "hw/rtc.h"

#define RTC_NS_PER_SEC        1000000000LL
#define RTC_MAX_CLOCK_JUMP_NS (60 * RTC_NS_PER_SEC)
/*
 * The range of QEMU get_next_alarm (rtc-time.c) over every register
 * content. The registers decode to -1 ("don't care", 0xc0..0xff) up to
 * 191 (0xbf in binary mode); QEMU's uint8_t current hour turns -1 into
 * 255; the alarm hour ends up in 0..23. Least: now 255:191:191, alarm
 * 00:00:00, so -(255 * 3600 + 191 * 60 + 191) + 86400. Greatest: now
 * 00:-1:-1, alarm 23:191:191.
 */
#define RTC_ALARM_MIN_S (-(255 * 3600 + 191 * 60 + 191) + 86400)
#define RTC_ALARM_MAX_S (23 * 3600 + 192 * 60 + 192)
/* next_alarm_time is the next update (1 ns after now at least) plus
   (alarm - 1) s: QEMU stores it in a uint64_t, so under SET it may lie
   "before 0", that is, wrap. Its farthest lag behind 0: */
#define RTC_MAX_ALARM_BEHIND_NS ((1 - RTC_ALARM_MIN_S) * RTC_NS_PER_SEC)
/* The update timer's farthest lead: the alarm, which it waits for only
   while SET is clear, so while the time registers hold the clock's time
   (00:00:00 at the earliest); the alarm at 23:191:191. */
#define RTC_MAX_UPDATE_AHEAD_NS ((23 * 3600 + 191 * 60 + 191) * RTC_NS_PER_SEC)

typedef enum RtcBaseKind {
    RTC_BASE_UTC,
    RTC_BASE_LOCALTIME,
    RTC_BASE_DATETIME,
} RtcBaseKind;

typedef struct RtcTimer RtcTimer;

/* A timer on the RTC's clock (an HwTimer on the virtual, real-time or
   host clock). The deadline itself lives in the state (`*deadline`), so
   that it is what gets saved. */
struct RtcTimer {
    RtcDevice *dev;
    int64_t *deadline;
    void (*cb)(RtcDevice *d);
    HwTimer *hw;
};

struct RtcDevice {
    RtcState s;
    HwClock *vclock; /* the machine's clocks (all three kinds) */
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

/* ---- rtc.c ---- */

/* Sets the IRQ output and remembers its level for rtc_irq_level(). */
void rtc_irq_set(RtcDevice *d, int level);

/* ---- rtc-time.c: clocks and timers ---- */

/* Now on clock `kind` of the machine's clocks, in ns. */
int64_t rtc_clock_ns(RtcClockKind kind, HwClock *clock);
/* Now on the RTC's clock (d->clock), in ns. */
int64_t rtc_now(RtcDevice *d);
/* Creates the periodic and update timers, both disarmed (deadline -1). */
void rtc_timers_init(RtcDevice *d);
void rtc_timers_cleanup(RtcDevice *d);
/* Re-arms the real timer from the deadline in the state. */
void rtc_timer_sync(RtcTimer *t);

/* ---- rtc-time.c: time arithmetic and the guest clock ---- */

/* QEMU mktimegm: broken-down UTC time → seconds since the epoch. */
int64_t rtc_mktimegm(const struct tm *tm);
/* REG_A rate select → period in 32768 Hz ticks, 0: off. */
uint32_t rtc_period_code_to_clock(int code);
int64_t rtc_periodic_clock_to_ns(int64_t clocks);
/* The period REG_A/REG_B ask for now, 0 when PIE is clear. */
uint32_t rtc_periodic_ticks(const RtcState *s);
/* Neither SET nor the divider holds the clock. */
bool rtc_running(const RtcState *s);
/* Guest time in ns since the epoch. */
uint64_t rtc_guest_ns(RtcDevice *d);

/* ---- rtc-time.c: CMOS time registers, alarm, update, periodic ---- */

/* Broken-down time → CMOS time registers, in REG_B's BCD and 12/24h. */
void rtc_set_cmos_tm(RtcState *s, const struct tm *tm);
/* Guest wrote the time: CMOS → base_rtc/last_update (QEMU rtc_set_time). */
void rtc_set_time(RtcDevice *d);
/* Guest clock → CMOS time registers, unless SET (QEMU rtc_update_time). */
void rtc_update_time(RtcDevice *d);
/* Arms the update timer for the next second or the alarm (QEMU
   check_update_timer); deletes it in divider reset. */
void rtc_check_update_timer(RtcDevice *d);
/* QEMU update_in_progress: may latch UIP in REG_A. */
bool rtc_update_in_progress(RtcDevice *d);
/* QEMU periodic_timer_update, lost_tick_policy=discard. */
void rtc_periodic_update(RtcDevice *d, int64_t now, uint32_t old_period,
                         bool period_change);

#endif
