/*
 * Fuzz target for the stream parsers: the transactional loader (reject and
 * skip policies, a registry using every construct plus four real pc
 * sections) and the generic decoder (with and without a vmdesc exported
 * from the same registry). Any input must load or fail cleanly; a failed
 * load must leave the live states unchanged.
 *
 * Then the real pc machine (every device, stepped clock, rtc clock=vm)
 * loads the input under both unknown-section policies, and every load
 * that succeeds is run: `cont`, 1 ms of virtual time, a paused jump of
 * FUZZ_STREAM_JUMP_NS followed by small steps (catch-up after a jump),
 * device registers read (and the time-driven ones rewritten) between
 * steps; the state it ends in must save and load into a fresh machine.
 * A hang (the fuzzer's -timeout), a crash or a sanitizer report is the
 * failure: the class of issue 7 item 2 (a loaded time that hangs the
 * clock or overflows in it).
 *
 * Last, the pc machine with a vCPU (-accel tcg, a blank BIOS it never
 * runs) loads the input, so that the cpu_common and cpu sections reach
 * their checks; whatever loads must save and load again.
 */
#include "vms/decode.h"
#include "../vms/vms-testdev.h"

#include <stdlib.h>

#include "dm/machine.h"

#define FUZZ_STREAM_RUN_NS      1000000            /* 1 ms after cont */
#define FUZZ_STREAM_JUMP_NS     (INT64_C(1) << 40) /* ~18 min, paused */
#define FUZZ_STREAM_SMALL_NS    100000             /* 100 us */
#define FUZZ_STREAM_SMALL_STEPS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct FuzzWorld {
    TDev dev;
    TPc pc;
} FuzzWorld;

static DmMachine *fuzz_machine(VmsUnknownPolicy unknown)
{
    DmOptions opts;

    memset(&opts, 0, sizeof(opts));
    opts.machine = DM_MACHINE_PC;
    opts.section_footers = true;
    opts.unknown_sections = unknown;
    opts.accel_qtest = true;
    opts.rtc_base = (char *)"2020-01-01T00:00:00";
    opts.rtc_clock = (char *)"vm";
    return dm_machine_new(&opts, NULL);
}

static uint8_t fuzz_rtc_read(DmMachine *m, uint8_t idx)
{
    hw_bus_out(&m->bus, 0x70, idx, 1);
    return hw_bus_in(&m->bus, 0x71, 1);
}

/* Reads what a guest reads (PIC, PIT counters and latches, port 61,
   i8042, port 92, the RTC's time and status registers, COM1), and
   rewrites RTC REG_A/REG_B to themselves so their timers are recomputed
   from the loaded times. */
static void fuzz_touch(DmMachine *m)
{
    static const uint16_t ports[] = {0x20, 0x21, 0xa0, 0xa1, 0x40, 0x41,
                                     0x42, 0x61, 0x64, 0x60, 0x92};
    static const uint8_t rtc_regs[] = {0, 2, 4, 7, 8, 9, 0x0a, 0x0c, 0x0d};
    uint8_t a, b;

    for (size_t i = 0; i < G_N_ELEMENTS(ports); i++) {
        hw_bus_in(&m->bus, ports[i], 1);
    }
    hw_bus_out(&m->bus, 0x43, 0xc2, 1); /* read-back channel 0 */
    hw_bus_in(&m->bus, 0x40, 1);
    hw_bus_in(&m->bus, 0x40, 1);
    for (size_t i = 0; i < G_N_ELEMENTS(rtc_regs); i++) {
        fuzz_rtc_read(m, rtc_regs[i]);
    }
    a = fuzz_rtc_read(m, 0x0a);
    b = fuzz_rtc_read(m, 0x0b);
    hw_bus_out(&m->bus, 0x71, b ^ 0x40, 1); /* PIE flipped and back */
    hw_bus_out(&m->bus, 0x71, b, 1);
    hw_bus_out(&m->bus, 0x70, 0x0a, 1);
    hw_bus_out(&m->bus, 0x71, a, 1);
    for (uint16_t p = 0x3f8; p < 0x400; p++) {
        hw_bus_in(&m->bus, p, 1);
    }
}

/* Runs a machine that has just loaded the input (see the header). */
static void fuzz_run(DmMachine *m, VmsUnknownPolicy unknown)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    DmMachine *again;
    GError *err = NULL;

    dm_machine_set_running(m, true);
    hw_clock_step(m->clock, FUZZ_STREAM_RUN_NS);
    fuzz_touch(m);
    dm_machine_set_running(m, false);
    hw_clock_step(m->clock, FUZZ_STREAM_JUMP_NS);
    dm_machine_set_running(m, true);
    for (int i = 0; i < FUZZ_STREAM_SMALL_STEPS; i++) {
        hw_clock_step(m->clock, FUZZ_STREAM_SMALL_NS);
        fuzz_touch(m);
    }
    dm_machine_set_running(m, false);
    /* whatever state the devices reached must save and load again */
    g_assert_true(dm_machine_save(m, "paused", out, &err));
    again = fuzz_machine(unknown);
    g_assert_nonnull(again);
    if (!dm_machine_load(again, out->data, out->len, &err)) {
        g_error("a state the machine reached does not load: %s", err->message);
    }
    dm_machine_free(again);
}

static void fuzz_machines(const uint8_t *data, size_t size)
{
    for (int pol = 0; pol < 2; pol++) {
        DmMachine *m = fuzz_machine(pol);
        GError *err = NULL;

        g_assert_nonnull(m);
        if (dm_machine_load(m, data, size, &err)) {
            fuzz_run(m, pol);
        } else {
            g_assert_nonnull(err);
            g_error_free(err);
        }
        dm_machine_free(m);
    }
}

static void fuzz_vcpu_machine(const uint8_t *data, size_t size)
{
    static const uint8_t blank_bios[VCPU_BIOS_ALIGN];
    MachineOpts mo = {.kind = MACHINE_PC,
                      .stepped_clock = true,
                      .save.footers = true,
                      .bios = blank_bios,
                      .bios_len = sizeof(blank_bios)};

    for (int pol = 0; pol < 2; pol++) {
        Machine *m, *again;
        GByteArray *out;
        GError *err = NULL;

        mo.load.unknown = pol;
        m = machine_new(&mo, NULL);
        g_assert_nonnull(m);
        if (!machine_load(m, data, size, &err)) {
            g_error_free(err);
            machine_free(m);
            continue;
        }
        out = g_byte_array_new();
        g_assert_true(machine_save(m, "paused", out, NULL));
        again = machine_new(&mo, NULL);
        if (!machine_load(again, out->data, out->len, &err)) {
            g_error("a state the vCPU machine loaded does not load again: %s",
                    err->message);
        }
        g_byte_array_unref(out);
        machine_free(again);
        machine_free(m);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzWorld w, before;

    memset(&w, 0, sizeof(w));
    w.dev.le = 1000;
    VmsRegistry *reg = tpc_registry(&w.pc);
    g_assert_true(vms_register(reg, "tdev", 0, -1, &tdev_vmsd, &w.dev,
                               sizeof(w.dev), NULL));
    before = w;
    for (int pol = 0; pol < 2; pol++) {
        VmsLoadOpts opts = {.unknown = pol};
        GError *err = NULL;
        if (!vms_load_all(reg, data, size, &opts, &err)) {
            g_assert_nonnull(err);
            g_assert_true(memcmp(&w, &before, sizeof(w)) == 0);
            g_error_free(err);
        }
        w = before;
    }
    char *text = vms_vmdesc_export(reg, NULL);
    json_t *vmdesc = json_loads(text, 0, NULL);
    g_free(text);
    for (int k = 0; k < 2; k++) {
        GError *err = NULL;
        VmsDecoded *d = vms_decode(data, size, k ? vmdesc : NULL, &err);
        g_assert_true((d != NULL) != (err != NULL));
        if (d) {
            json_decref(vms_decoded_to_json(d));
        }
        vms_decoded_free(d);
        g_clear_error(&err);
    }
    json_decref(vmdesc);
    vms_registry_free(reg);
    fuzz_machines(data, size);
    fuzz_vcpu_machine(data, size);
    return 0;
}
