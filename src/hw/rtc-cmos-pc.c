/*
 * MC146818 RTC: the pc machine's CMOS contents (QEMU 7.2 hw/i386/pc.c
 * pc_cmos_init, pc_cmos_init_late, set_boot_dev, restore_boot_order):
 * memory sizes, the equipment byte, the boot order and -boot once. See
 * rtc.h for the contracts. Leaves out IDE disk geometry (no disks here).
 */
#include "hw/rtc-internal.h"

#include <string.h>

#include "base/error.h"

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
