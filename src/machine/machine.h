/*
 * The machine: clock, port bus, ISA IRQ lines, the device-state registry
 * and the devices. machine.c holds the generic part (lifecycle, the
 * `timer` and `globalstate` sections, save/load, reset, run state of the
 * clock); machine-pc.c assembles the PC devices in QEMU's order so the
 * sections come out with QEMU's idstrs, instance ids, order and section
 * ids.
 *
 * Used by the daemon (dm/, which gives each UART its chardev as a byte
 * sink) and by `lockstep check` (null sinks), so that a check runs the
 * same validation as a load. Knows no QMP, sockets or command line.
 */
#ifndef LS_MACHINE_MACHINE_H
#define LS_MACHINE_MACHINE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "cpu/ram.h"
#include "hw/bus.h"
#include "hw/clock.h"
#include "hw/irq.h"
#include "hw/serial.h"
#include "vms/vms.h"

#define MACHINE_ISA_IRQS        16
#define MACHINE_MAX_SERIAL      4
#define MACHINE_GLOBALSTATE_LEN 100

typedef enum MachineKind {
    MACHINE_PC,   /* the legacy PC devices */
    MACHINE_NONE, /* no devices: `timer` and `globalstate` only */
} MachineKind;

/* What a UART transmits into: ops and opaque as serial_new takes them
   (both NULL: bytes are dropped). Borrowed; must outlive the machine. */
typedef struct MachineSerialSink {
    const HwCharOps *ops;
    void *opaque;
} MachineSerialSink;

typedef struct MachineOpts {
    MachineKind kind;
    bool stepped_clock;     /* virtual time moves only when stepped */
    VmsSaveOpts save;       /* section footers */
    VmsLoadOpts load;       /* unknown sections */
    const char *rtc_base;   /* -rtc base=, NULL: utc */
    const char *rtc_clock;  /* -rtc clock=host|rt|vm, NULL: host */
    const char *boot_order; /* -boot order=, NULL: QEMU's default */
    const char *boot_once;  /* -boot once=, or NULL */
    bool no_fd_bootchk;
    int nserial; /* UARTs (COM1.., pc only), one per sink */
    MachineSerialSink serial[MACHINE_MAX_SERIAL];
    uint64_t ram_size; /* guest RAM bytes (see ram_new); 0: no RAM */
} MachineOpts;

/* The `globalstate` section (QEMU migration/global_state.c layout). */
typedef struct MachineGlobalState {
    uint32_t size;                             /* strlen(runstate) + 1 */
    uint8_t runstate[MACHINE_GLOBALSTATE_LEN]; /* NUL-padded name */
} MachineGlobalState;

typedef struct MachinePc MachinePc; /* machine-pc.c */

typedef struct Machine {
    MachineKind kind;
    HwClock *clock;
    HwBus bus;
    VmsRegistry *reg;
    VmsSaveOpts save_opts;
    VmsLoadOpts load_opts;
    MachineGlobalState globalstate;

    /* ISA interrupt lines 0..15: devices drive isa_irq[n]; the machine
       forwards each level change to the PIC pair and, when set, to the
       observer (qtest's irq_intercept). isa_level is the current level. */
    HwIrq isa_irq[MACHINE_ISA_IRQS];
    int isa_level[MACHINE_ISA_IRQS];
    void (*irq_observer)(void *opaque, int n, int level);
    void *irq_observer_opaque;

    /* Set by the daemon: a device asked for a machine reset (port 92,
       i8042 pulse). Called from device code; must not free devices. */
    void (*reset_request)(void *opaque);
    void *reset_opaque;

    MachinePc *pc; /* NULL for MACHINE_NONE */
    Ram *ram;      /* guest RAM, NULL when MachineOpts.ram_size was 0 */
} Machine;

/* Builds the machine; NULL with *errp (prefixed "machine: ") on a bad
   -rtc/-boot value. */
Machine *machine_new(const MachineOpts *opts, GError **errp);
/* Frees the devices, then the rest; the sinks are the caller's. */
void machine_free(Machine *m);
/* Power-on values for every device (system_reset). */
void machine_reset(Machine *m);
/* Run state of the devices' clock: running advances virtual time. */
void machine_set_running(Machine *m, bool running);
/* Save every section (runstate goes into `globalstate`) into `out`. */
bool machine_save(Machine *m, const char *runstate, GByteArray *out,
                  GError **errp);
/* All-or-nothing load of a whole stream held in memory. */
bool machine_load(Machine *m, const uint8_t *buf, size_t len, GError **errp);
/* A checkpoint: device state and RAM (a RAM stream, see cpu/ram.h)
   applied together or not at all. The RAM stream is checked whole into
   staging first, then the devices load all or nothing, and only if they
   did is the staged RAM committed (which cannot fail). Without RAM in the
   machine, a RAM stream is an error. */
bool machine_load_checkpoint(Machine *m, const uint8_t *dev, size_t dev_len,
                             const uint8_t *ram, size_t ram_len, GError **errp);
/* The i-th UART (0 = COM1), or NULL when there is none. */
SerialDevice *machine_serial(Machine *m, int i);
/* The sink the i-th UART was given, or NULL when there is no such UART. */
const MachineSerialSink *machine_serial_sink(Machine *m, int i);
/* The RTC's date as QEMU's `rtc-time` property (see rtc_get_date); false
   for MACHINE_NONE. */
bool machine_rtc_date(Machine *m, struct tm *tm);

#endif
