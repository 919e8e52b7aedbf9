/*
 * PC device assembly: creates, wires and registers the devices of QEMU
 * 7.2's `pc` machine that lockstep models, in QEMU's order, so that the
 * sections come out with QEMU's idstrs, instance ids, order and section
 * ids (measured on QEMU 7.2 pc, -accel qtest/TCG, -nodefaults):
 *
 *   timer 0 (machine.c) | gap 1-14 (cpu, apic, fw_cfg, PCI, dma, PIIX3)
 *   i8259 15, 16 | gap 17-18 (ioapic, hpet) | mc146818rtc 19 | i8254 20
 *   pcspk 21 | serial 22.. (one per UART) | gap (fdc) | ps2kbd, ps2mouse,
 *   pckbd | gap (vmmouse) | port92 | gap (ide, i2c_bus, piix4_pm, the
 *   handlers without sections, acpi_build) | globalstate (machine.c)
 *
 * With N UARTs every id from fdc on moves up by N, as in QEMU. ISA lines
 * 0-15 (m->isa_irq) go to the PIC pair; the PIC's INT output goes nowhere
 * (there is no CPU). Port 92 and the i8042 reset line call
 * m->reset_request. -rtc and -boot go to the RTC; -serial specs to the
 * UARTs through their chardev backends.
 *
 * Leaves out every device QEMU has that lockstep does not model (their
 * section ids are skipped, their sections absent).
 */
#include "dm/machine.h"

#include "base/error.h"
#include "hw/i8042.h"
#include "hw/pcspk.h"
#include "hw/pic.h"
#include "hw/pit.h"
#include "hw/port92.h"
#include "hw/rtc.h"
#include "hw/serial.h"
#include "dm/chardev.h"

/* QEMU 7.2 pc section ids (with no UART; ids after pcspk shift by one per
   UART). */
#define DM_PC_SID_I8259  15
#define DM_PC_SID_RTC    19
#define DM_PC_SID_PIT    20
#define DM_PC_SID_PCSPK  21
#define DM_PC_SID_SERIAL 22
#define DM_PC_SID_PS2KBD 23
#define DM_PC_SID_PORT92 27
#define DM_PC_SID_GLOBAL 40
#define DM_PC_RAM_BYTES  (128ull * 1024 * 1024) /* QEMU's default -m */

static const uint16_t dm_pc_serial_base[DM_MAX_SERIAL] = {
    0x3f8,
    0x2f8,
    0x3e8,
    0x2e8,
};
static const int dm_pc_serial_irq[DM_MAX_SERIAL] = {4, 3, 4, 3};

struct DmPcDevices {
    PicPair *pic;
    RtcDevice *rtc;
    PitDevice *pit;
    PcspkDevice *pcspk;
    SerialDevice *serial[DM_MAX_SERIAL];
    DmCharBackend *serial_be[DM_MAX_SERIAL];
    int nserial;
    I8042Device *i8042;
    Port92Device *port92;
    unsigned next_sid; /* the registry's section-id counter, mirrored */
};

/* Advances the registry's counter so the next section gets id `sid`. */
static void dm_pc_skip_to(DmMachine *m, unsigned sid)
{
    DmPcDevices *pc = m->pc;

    g_assert(sid >= pc->next_sid);
    vms_registry_skip_section_ids(m->reg, sid - pc->next_sid);
    pc->next_sid = sid;
}

static void dm_pc_reset_request(void *opaque)
{
    DmMachine *m = opaque;

    if (m->reset_request) {
        m->reset_request(m->reset_opaque);
    }
}

static bool dm_pc_rtc(DmMachine *m, const DmOptions *opts, GError **errp)
{
    DmPcDevices *pc = m->pc;
    RtcClockKind kind = RTC_CLOCK_HOST;

    if (opts->rtc_clock && !rtc_clock_parse(opts->rtc_clock, &kind, errp)) {
        return false;
    }
    pc->rtc =
        rtc_new(m->clock, kind, opts->rtc_base, &m->isa_irq[RTC_ISA_IRQ], errp);
    if (!pc->rtc) {
        return false;
    }
    if (!rtc_cmos_init_pc(pc->rtc, opts->boot_order, !opts->no_fd_bootchk,
                          DM_PC_RAM_BYTES, errp)) {
        return false;
    }
    dm_pc_skip_to(m, DM_PC_SID_RTC);
    pc->next_sid++;
    return rtc_realize(pc->rtc, &m->bus, m->reg, errp);
}

static bool dm_pc_timers(DmMachine *m, GError **errp)
{
    DmPcDevices *pc = m->pc;

    pc->pit = pit_new(m->clock, &m->isa_irq[0]);
    dm_pc_skip_to(m, DM_PC_SID_PIT);
    pc->next_sid++;
    if (!pit_realize(pc->pit, &m->bus, m->reg, errp)) {
        return false;
    }
    pc->pcspk = pcspk_new(m->clock, pc->pit);
    dm_pc_skip_to(m, DM_PC_SID_PCSPK);
    pc->next_sid++;
    return pcspk_realize(pc->pcspk, &m->bus, m->reg, errp);
}

/* One UART per -serial; with none and no -nodefaults, COM1 (null). */
static bool dm_pc_serials(DmMachine *m, const DmOptions *opts, GError **errp)
{
    DmPcDevices *pc = m->pc;
    int n = opts->nserial;

    if (n == 0 && !opts->nodefaults) {
        n = 1;
    }
    dm_pc_skip_to(m, DM_PC_SID_SERIAL);
    for (int i = 0; i < n && i < DM_MAX_SERIAL; i++) {
        const char *spec = i < opts->nserial ? opts->serial[i] : "null";
        g_autofree char *label = g_strdup_printf("serial%d", i);
        DmCharBackend *be = dm_chardev_new(spec, label, errp);

        if (!be) {
            return false;
        }
        pc->serial_be[i] = be;
        pc->serial[i] =
            serial_new(m->clock, &m->isa_irq[dm_pc_serial_irq[i]],
                       dm_pc_serial_base[i], dm_chardev_ops(be), be);
        pc->nserial = i + 1;
        pc->next_sid++;
        if (!serial_realize(pc->serial[i], &m->bus, m->reg, errp)) {
            return false;
        }
        dm_chardev_connect_serial(be, pc->serial[i]);
    }
    return true;
}

static bool dm_pc_input(DmMachine *m, GError **errp)
{
    DmPcDevices *pc = m->pc;
    unsigned shift = (unsigned)pc->nserial;

    pc->i8042 = i8042_new(m->clock, &m->isa_irq[1], &m->isa_irq[12],
                          dm_pc_reset_request, m);
    dm_pc_skip_to(m, DM_PC_SID_PS2KBD + shift);
    pc->next_sid += 3; /* ps2kbd, ps2mouse, pckbd */
    if (!i8042_realize(pc->i8042, &m->bus, m->reg, errp)) {
        return false;
    }
    pc->port92 = port92_new(dm_pc_reset_request, m, NULL);
    dm_pc_skip_to(m, DM_PC_SID_PORT92 + shift);
    pc->next_sid++;
    return port92_realize(pc->port92, &m->bus, m->reg, errp);
}

bool dm_machine_pc_init(DmMachine *m, const DmOptions *opts, GError **errp)
{
    DmPcDevices *pc = g_new0(DmPcDevices, 1);

    m->pc = pc;
    pc->next_sid = 1; /* machine.c registered `timer` as 0 */
    pc->pic = pic_pair_new(m->clock, NULL);
    dm_pc_skip_to(m, DM_PC_SID_I8259);
    pc->next_sid += 2;
    if (!pic_pair_realize(pc->pic, &m->bus, m->reg, errp) ||
        !dm_pc_rtc(m, opts, errp) || !dm_pc_timers(m, errp) ||
        !dm_pc_serials(m, opts, errp) || !dm_pc_input(m, errp)) {
        return false;
    }
    dm_pc_skip_to(m, DM_PC_SID_GLOBAL + (unsigned)pc->nserial);
    if (opts->boot_once && !rtc_cmos_boot_once(pc->rtc, opts->boot_once,
                                               !opts->no_fd_bootchk, errp)) {
        return false;
    }
    return true;
}

void dm_machine_pc_reset(DmMachine *m)
{
    DmPcDevices *pc = m->pc;

    if (!pc) {
        return;
    }
    /* QEMU resets devices in qdev tree order; the order is not visible
       here since device resets do not interact. */
    pic_pair_reset(pc->pic);
    rtc_reset(pc->rtc);
    pit_reset(pc->pit);
    pcspk_reset(pc->pcspk);
    for (int i = 0; i < pc->nserial; i++) {
        serial_reset(pc->serial[i]);
    }
    i8042_reset(pc->i8042);
    port92_reset(pc->port92);
}

void dm_machine_pc_free(DmMachine *m)
{
    DmPcDevices *pc = m->pc;

    if (!pc) {
        return;
    }
    /* Devices a failed init did not create are NULL. */
    if (pc->port92) {
        port92_free(pc->port92);
    }
    if (pc->i8042) {
        i8042_free(pc->i8042);
    }
    /* A UART goes before its backend: the backend may hold a watch
       that calls into it. */
    for (int i = 0; i < pc->nserial; i++) {
        serial_free(pc->serial[i]);
        dm_chardev_free(pc->serial_be[i]);
    }
    if (pc->pcspk) {
        pcspk_free(pc->pcspk);
    }
    if (pc->pit) {
        pit_free(pc->pit);
    }
    if (pc->rtc) {
        rtc_free(pc->rtc);
    }
    if (pc->pic) {
        pic_pair_free(pc->pic);
    }
    g_free(pc);
    m->pc = NULL;
}

void dm_machine_pc_set_isa_irq(DmMachine *m, int n, int level)
{
    if (m->pc && m->pc->pic) {
        pic_pair_set_irq(m->pc->pic, n, level);
    }
}
