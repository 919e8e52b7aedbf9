/*
 * PC device assembly: creates, wires and registers the devices of QEMU
 * 7.2's `pc` machine that lockstep models, in QEMU's order, so that the
 * sections come out with QEMU's idstrs, instance ids, order and section
 * ids (measured on QEMU 7.2 pc, -accel qtest/TCG, -nodefaults):
 *
 *   timer 0 (machine.c) | gap 1-3 | with a vCPU: cpu_common 4, cpu 5
 *   (machine-cpu.c) | gap to 14 (apic, fw_cfg, PCI, dma, PIIX3)
 *   i8259 15, 16 | gap 17-18 (ioapic, hpet) | mc146818rtc 19 | i8254 20
 *   pcspk 21 | serial 22.. (one per UART) | gap (fdc) | ps2kbd, ps2mouse,
 *   pckbd | gap (vmmouse) | port92 | gap (ide, i2c_bus, piix4_pm, the
 *   handlers without sections, acpi_build) | globalstate (machine.c)
 *
 * With N UARTs every id from fdc on moves up by N, as in QEMU. ISA lines
 * 0-15 (m->isa_irq) go to the PIC pair; the PIC's INT output drives the
 * vCPU's INTR when there is one (machine-cpu.c). Port 92 and the i8042 reset
 * line call m->reset_request. -rtc and -boot go to the RTC; each UART transmits
 * into the sink the caller gave (the daemon's chardev for -serial).
 *
 * Leaves out every device QEMU has that lockstep does not model (their
 * section ids are skipped, their sections absent).
 */
#include "machine/machine.h"
#include "machine/machine-internal.h"

#include "base/error.h"
#include "hw/i8042.h"
#include "hw/pcspk.h"
#include "hw/pic.h"
#include "hw/pit.h"
#include "hw/port92.h"
#include "hw/rtc.h"
#include "hw/serial.h"

/* QEMU 7.2 pc section ids (with no UART; ids after pcspk shift by one per
   UART). */
#define MACHINE_PC_SID_CPU    4 /* cpu_common; cpu is 5 */
#define MACHINE_PC_SID_I8259  15
#define MACHINE_PC_SID_RTC    19
#define MACHINE_PC_SID_PIT    20
#define MACHINE_PC_SID_PCSPK  21
#define MACHINE_PC_SID_SERIAL 22
#define MACHINE_PC_SID_PS2KBD 23
#define MACHINE_PC_SID_PORT92 27
#define MACHINE_PC_SID_GLOBAL 40
#define MACHINE_PC_RAM_BYTES  (128ull * 1024 * 1024) /* QEMU's default -m */

static const uint16_t machine_pc_serial_base[MACHINE_MAX_SERIAL] = {
    0x3f8,
    0x2f8,
    0x3e8,
    0x2e8,
};
static const int machine_pc_serial_irq[MACHINE_MAX_SERIAL] = {4, 3, 4, 3};

struct MachinePc {
    PicPair *pic;
    RtcDevice *rtc;
    PitDevice *pit;
    PcspkDevice *pcspk;
    SerialDevice *serial[MACHINE_MAX_SERIAL];
    MachineSerialSink serial_sink[MACHINE_MAX_SERIAL];
    int nserial;
    I8042Device *i8042;
    Port92Device *port92;
    unsigned next_sid; /* the registry's section-id counter, mirrored */
};

/* Advances the registry's counter so the next section gets id `sid`. */
static void machine_pc_skip_to(Machine *m, unsigned sid)
{
    MachinePc *pc = m->pc;

    g_assert(sid >= pc->next_sid);
    vms_registry_skip_section_ids(m->reg, sid - pc->next_sid);
    pc->next_sid = sid;
}

static void machine_pc_reset_request(void *opaque)
{
    Machine *m = opaque;

    if (m->reset_request) {
        m->reset_request(m->reset_opaque);
    }
}

static bool machine_pc_rtc(Machine *m, const MachineOpts *opts, GError **errp)
{
    MachinePc *pc = m->pc;
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
                          MACHINE_PC_RAM_BYTES, errp)) {
        return false;
    }
    machine_pc_skip_to(m, MACHINE_PC_SID_RTC);
    pc->next_sid++;
    return rtc_realize(pc->rtc, &m->bus, m->reg, errp);
}

static bool machine_pc_timers(Machine *m, GError **errp)
{
    MachinePc *pc = m->pc;

    pc->pit = pit_new(m->clock, &m->isa_irq[0]);
    machine_pc_skip_to(m, MACHINE_PC_SID_PIT);
    pc->next_sid++;
    if (!pit_realize(pc->pit, &m->bus, m->reg, errp)) {
        return false;
    }
    pc->pcspk = pcspk_new(m->clock, pc->pit);
    machine_pc_skip_to(m, MACHINE_PC_SID_PCSPK);
    pc->next_sid++;
    return pcspk_realize(pc->pcspk, &m->bus, m->reg, errp);
}

/* One UART per sink, COM1 first. */
static bool machine_pc_serials(Machine *m, const MachineOpts *opts,
                               GError **errp)
{
    MachinePc *pc = m->pc;

    machine_pc_skip_to(m, MACHINE_PC_SID_SERIAL);
    for (int i = 0; i < opts->nserial && i < MACHINE_MAX_SERIAL; i++) {
        pc->serial[i] =
            serial_new(m->clock, &m->isa_irq[machine_pc_serial_irq[i]],
                       machine_pc_serial_base[i], opts->serial[i].ops,
                       opts->serial[i].opaque);
        pc->serial_sink[i] = opts->serial[i];
        pc->nserial = i + 1;
        pc->next_sid++;
        if (!serial_realize(pc->serial[i], &m->bus, m->reg, errp)) {
            return false;
        }
    }
    return true;
}

static bool machine_pc_input(Machine *m, GError **errp)
{
    MachinePc *pc = m->pc;
    unsigned shift = (unsigned)pc->nserial;

    pc->i8042 = i8042_new(m->clock, &m->isa_irq[1], &m->isa_irq[12],
                          machine_pc_reset_request, m);
    machine_pc_skip_to(m, MACHINE_PC_SID_PS2KBD + shift);
    pc->next_sid += 3; /* ps2kbd, ps2mouse, pckbd */
    if (!i8042_realize(pc->i8042, &m->bus, m->reg, errp)) {
        return false;
    }
    pc->port92 = port92_new(machine_pc_reset_request, m, NULL);
    machine_pc_skip_to(m, MACHINE_PC_SID_PORT92 + shift);
    pc->next_sid++;
    return port92_realize(pc->port92, &m->bus, m->reg, errp);
}

bool machine_pc_init(Machine *m, const MachineOpts *opts, GError **errp)
{
    MachinePc *pc = g_new0(MachinePc, 1);

    m->pc = pc;
    pc->next_sid = 1; /* machine.c registered `timer` as 0 */
    if (opts->bios) {
        machine_pc_skip_to(m, MACHINE_PC_SID_CPU);
        pc->next_sid += 2; /* cpu_common, cpu */
    }
    if (!machine_cpu_init(m, opts, errp)) {
        return false;
    }
    pc->pic = pic_pair_new(m->clock, &m->cpu_intr);
    machine_pc_skip_to(m, MACHINE_PC_SID_I8259);
    pc->next_sid += 2;
    if (!pic_pair_realize(pc->pic, &m->bus, m->reg, errp) ||
        !machine_pc_rtc(m, opts, errp) || !machine_pc_timers(m, errp) ||
        !machine_pc_serials(m, opts, errp) || !machine_pc_input(m, errp)) {
        return false;
    }
    machine_pc_skip_to(m, MACHINE_PC_SID_GLOBAL + (unsigned)pc->nserial);
    if (opts->boot_once && !rtc_cmos_boot_once(pc->rtc, opts->boot_once,
                                               !opts->no_fd_bootchk, errp)) {
        return false;
    }
    return true;
}

void machine_pc_reset(Machine *m)
{
    MachinePc *pc = m->pc;

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

void machine_pc_free(Machine *m)
{
    MachinePc *pc = m->pc;

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
    for (int i = 0; i < pc->nserial; i++) {
        serial_free(pc->serial[i]);
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

int machine_pc_read_irq(Machine *m)
{
    return pic_pair_read_irq(m->pc->pic);
}

void machine_pc_set_isa_irq(Machine *m, int n, int level)
{
    if (m->pc && m->pc->pic) {
        pic_pair_set_irq(m->pc->pic, n, level);
    }
}

SerialDevice *machine_pc_serial(Machine *m, int i)
{
    MachinePc *pc = m->pc;

    return i >= 0 && i < pc->nserial ? pc->serial[i] : NULL;
}

const MachineSerialSink *machine_pc_serial_sink(Machine *m, int i)
{
    MachinePc *pc = m->pc;

    return i >= 0 && i < pc->nserial ? &pc->serial_sink[i] : NULL;
}

bool machine_rtc_date(Machine *m, struct tm *tm)
{
    if (!m->pc) {
        return false;
    }
    rtc_get_date(m->pc->rtc, tm);
    return true;
}
