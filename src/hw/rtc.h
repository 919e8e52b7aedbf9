/*
 * MC146818 real-time clock with 128 bytes of CMOS, at ports 0x70/0x71,
 * IRQ 8 — QEMU 7.2's `mc146818rtc` (hw/rtc/mc146818rtc.c) on the pc
 * machine (base_year 2000, i.e. the century byte 0x32 is kept; lost tick
 * policy "discard").
 *
 * Covers: QEMU's time model (base_rtc + rtc clock - last_update + offset,
 * so that the saved state round-trips exactly and matches QEMU's bytes),
 * binary/BCD, 12/24 hour, SET, divider reset/stop (REG_A DV 0x60/0x70),
 * UIP (the 244 us before an update), update-ended, alarm (with "don't
 * care" values 0xC0-0xFF) and periodic interrupts, REG_C read-to-clear,
 * IRQ 8 driven from REG_C.IRQF, the IBM PS/2 century alias 0x37, reset as
 * QEMU 7.2 (REG_B PIE/AIE/SQWE and REG_C flags cleared, shutdown byte 0x0f
 * zeroed unless 0xfe), and the CMOS bytes the pc machine sets up
 * (pc_cmos_init / pc_cmos_init_late / set_boot_dev in hw/i386/pc.c, for
 * a machine without IDE disks and with a drive-less floppy controller).
 *
 * Clocks, as QEMU's `-rtc clock=`: RTC_CLOCK_VM runs the RTC on the
 * virtual clock (deterministic), RTC_CLOCK_HOST on host wall time and
 * RTC_CLOCK_RT on host monotonic time: the machine's HW_CLOCK_VIRTUAL,
 * HW_CLOCK_HOST and HW_CLOCK_REALTIME (hw/clock.h), whose timers fire
 * whatever the VM run state for the two host clocks, as QEMU's.
 *
 * One deliberate difference on load: QEMU's post_load re-phases the
 * periodic timer to the load time whenever the saved next tick is ahead;
 * we keep a saved phase that is plausible (pending, at most one period
 * ahead), so a loaded copy ticks in step with the saved one (COLO).
 * post_load also rejects what would make QEMU assert or misbehave:
 * cmos_index >= 128, a period that matches neither 0 nor REG_A's rate,
 * times and deadlines outside the bounds of clock.h, offset outside one
 * second, an update pending or UIP set in divider reset; post_commit
 * re-arms a deadline farther ahead than the RTC ever arms one. The
 * periodic timer replays missed ticks only up to HW_CLOCK_MAX_CATCHUP
 * periods, then re-phases to now (QEMU replays them all).
 *
 * Leaves out: lost_tick_policy=slew (irq_coalesced is carried, never
 * used), the RTC_CHANGE QMP event (see rtc_set_change_notify), the S3
 * suspend notifier, IDE disk geometry bytes (no disks here), base_year
 * other than 2000.
 */
#ifndef LS_HW_RTC_H
#define LS_HW_RTC_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "hw/bus.h"
#include "hw/clock.h"
#include "hw/irq.h"
#include "vms/vms.h"

#define RTC_ISA_BASE  0x70
#define RTC_ISA_IRQ   8
#define RTC_CMOS_SIZE 128

/* Register indices and bits (QEMU include/hw/rtc/mc146818rtc_regs.h). */
#define RTC_SECONDS              0
#define RTC_SECONDS_ALARM        1
#define RTC_MINUTES              2
#define RTC_MINUTES_ALARM        3
#define RTC_HOURS                4
#define RTC_HOURS_ALARM          5
#define RTC_DAY_OF_WEEK          6
#define RTC_DAY_OF_MONTH         7
#define RTC_MONTH                8
#define RTC_YEAR                 9
#define RTC_REG_A                10
#define RTC_REG_B                11
#define RTC_REG_C                12
#define RTC_REG_D                13
#define RTC_CENTURY              0x32
#define RTC_IBM_PS2_CENTURY_BYTE 0x37

#define RTC_REG_A_UIP  0x80
#define RTC_REG_B_SET  0x80
#define RTC_REG_B_PIE  0x40
#define RTC_REG_B_AIE  0x20
#define RTC_REG_B_UIE  0x10
#define RTC_REG_B_SQWE 0x08
#define RTC_REG_B_DM   0x04
#define RTC_REG_B_24H  0x02
#define RTC_REG_C_UF   0x10
#define RTC_REG_C_IRQF 0x80
#define RTC_REG_C_PF   0x40
#define RTC_REG_C_AF   0x20
#define RTC_REG_C_MASK 0x70

typedef enum RtcClockKind {
    RTC_CLOCK_HOST, /* QEMU's default: host wall time */
    RTC_CLOCK_RT,   /* host monotonic time */
    RTC_CLOCK_VM,   /* the virtual clock */
} RtcClockKind;

/* Serialised state: QEMU's MC146818RtcState fields, memcpy-able. */
typedef struct RtcState {
    uint8_t cmos_data[RTC_CMOS_SIZE];
    uint8_t cmos_index;
    int64_t periodic_timer; /* deadline on the rtc clock, -1: none */
    int64_t next_periodic_time;
    uint32_t irq_coalesced;
    uint32_t period;      /* in 32768 Hz ticks, 0: off */
    uint64_t base_rtc;    /* guest seconds at last_update */
    uint64_t last_update; /* rtc clock ns */
    int64_t offset;       /* ns within the second */
    int64_t update_timer; /* deadline on the rtc clock, -1: none */
    uint64_t next_alarm_time;
    uint16_t irq_reinject_on_ack_count;
} RtcState;

typedef struct RtcDevice RtcDevice;

extern const VmsDesc rtc_vmsd;

/* "host" | "rt" | "vm" → kind; QEMU's "invalid option value '%s'". */
bool rtc_clock_parse(const char *s, RtcClockKind *kind, GError **errp);

/*
 * Creates the RTC with QEMU's power-on registers and the date from `base`
 * (NULL or "utc": host UTC time; "localtime": host local time; or
 * "YYYY-MM-DDTHH:MM:SS" / "YYYY-MM-DD", UTC). A malformed date fails with
 * QEMU's text "invalid datetime format" plus the valid forms. `vclock`,
 * the machine's clocks, is always needed: the RTC reads the one `clock`
 * names and its timers run there. `irq8` is borrowed and may be NULL.
 */
RtcDevice *rtc_new(HwClock *vclock, RtcClockKind clock, const char *base,
                   HwIrq *irq8, GError **errp);
/* Maps ports 0x70-0x71; registers `mc146818rtc`, instance 0, alias 0x70. */
bool rtc_realize(RtcDevice *d, HwBus *bus, VmsRegistry *reg, GError **errp);
/* QEMU's system_reset of the RTC; also ends an active boot-once order. */
void rtc_reset(RtcDevice *d);
void rtc_free(RtcDevice *d);

RtcState *rtc_state(RtcDevice *d);
/* QEMU's `date` property (rtc_get_date): the time registers brought up
   to date (unless SET), then read back as a struct tm (tm_year from 1900,
   tm_mon from 0; tm_wday from the register). */
void rtc_get_date(RtcDevice *d, struct tm *tm);
/* Current level of the IRQ output. */
int rtc_irq_level(RtcDevice *d);
/* Direct CMOS access for machine code (QEMU mc146818rtc_set_cmos_data). */
void rtc_cmos_set(RtcDevice *d, unsigned addr, uint8_t val);
uint8_t rtc_cmos_get(RtcDevice *d, unsigned addr);

/*
 * The pc machine's CMOS set-up (QEMU 7.2 pc_cmos_init + the first reset's
 * pc_cmos_init_late): memory sizes for `ram_bytes` of RAM (pc split at
 * 3.5 GiB / 3 GiB as pc_init1), equipment byte (FPU, PS/2 mouse), no
 * floppy drives, no IDE disks, and the boot order. `boot_order` NULL means
 * "cad". Errors are QEMU's: "Invalid boot device '%c'", "Boot device '%c'
 * was given twice", "Too many boot devices for PC", "Invalid boot device
 * for PC: '%c'"; the CMOS is untouched on failure.
 */
bool rtc_cmos_init_pc(RtcDevice *d, const char *boot_order, bool fd_bootchk,
                      uint64_t ram_bytes, GError **errp);
/* QEMU's set_boot_dev: CMOS 0x3d/0x38 for `order` (same errors). */
bool rtc_cmos_set_boot_order(RtcDevice *d, const char *order, bool fd_bootchk,
                             GError **errp);
/*
 * -boot once=ORDER: writes ORDER now and restores the current order
 * (the one rtc_cmos_init_pc wrote) at the next rtc_reset(), as QEMU's
 * restore_boot_order does at the first system_reset after start. Call it
 * after the machine's start-up reset, not before.
 */
bool rtc_cmos_boot_once(RtcDevice *d, const char *once, bool fd_bootchk,
                        GError **errp);

/* Called whenever the guest sets the time (QEMU emits RTC_CHANGE then),
   with the new guest time minus host time, in seconds. */
void rtc_set_change_notify(RtcDevice *d,
                           void (*cb)(void *opaque, int64_t offset_s),
                           void *opaque);

#endif
