/*
 * The machine: clock, port bus, ISA IRQ lines, the device-state registry
 * and the devices. machine.c holds the generic part (lifecycle, the
 * `timer` and `globalstate` sections, save/load, reset, run state of the
 * clock); machine-pc.c assembles the PC devices in QEMU's order so the
 * sections come out with QEMU's idstrs, instance ids, order and section
 * ids. Only dm/ code includes this header.
 */
#ifndef LS_DM_MACHINE_H
#define LS_DM_MACHINE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "dm/options.h"
#include "hw/bus.h"
#include "hw/clock.h"
#include "hw/irq.h"
#include "vms/vms.h"

#define DM_ISA_IRQS        16
#define DM_GLOBALSTATE_LEN 100

/* The `globalstate` section (QEMU migration/global_state.c layout). */
typedef struct DmGlobalState {
    uint32_t size;                        /* strlen(runstate) + 1 */
    uint8_t runstate[DM_GLOBALSTATE_LEN]; /* NUL-padded run-state name */
} DmGlobalState;

typedef struct DmPcDevices DmPcDevices; /* machine-pc.c */

typedef struct DmMachine {
    DmMachineKind kind;
    HwClock *clock;
    HwBus bus;
    VmsRegistry *reg;
    VmsSaveOpts save_opts;
    VmsLoadOpts load_opts;
    DmGlobalState globalstate;

    /* ISA interrupt lines 0..15: devices drive isa_irq[n]; the machine
       forwards each level change to the PIC pair and, when set, to the
       observer (qtest's irq_intercept). isa_level is the current level. */
    HwIrq isa_irq[DM_ISA_IRQS];
    int isa_level[DM_ISA_IRQS];
    void (*irq_observer)(void *opaque, int n, int level);
    void *irq_observer_opaque;

    /* Set by the daemon: a device asked for a machine reset (port 92,
       i8042 pulse). Called from device code; must not free devices. */
    void (*reset_request)(void *opaque);
    void *reset_opaque;

    DmPcDevices *pc; /* NULL for -machine none */
} DmMachine;

DmMachine *dm_machine_new(const DmOptions *opts, GError **errp);
void dm_machine_free(DmMachine *m);
/* Power-on values for every device (system_reset). */
void dm_machine_reset(DmMachine *m);
/* Run state of the devices' clock: running advances virtual time. */
void dm_machine_set_running(DmMachine *m, bool running);
/* Save every section (runstate goes into `globalstate`) into `out`. */
bool dm_machine_save(DmMachine *m, const char *runstate, GByteArray *out,
                     GError **errp);
/* All-or-nothing load of a whole stream held in memory. */
bool dm_machine_load(DmMachine *m, const uint8_t *buf, size_t len,
                     GError **errp);

/* machine-pc.c: create, wire and register the PC devices. Called by
   dm_machine_new after `timer` (section id 0) is registered and before
   `globalstate`; it must leave the registry's section-id counter at the
   id QEMU 7.2 gives `globalstate` on pc/TCG (40: acpi_build's 39 is
   skipped too), using vms_registry_skip_section_ids for QEMU's gaps. */
bool dm_machine_pc_init(DmMachine *m, const DmOptions *opts, GError **errp);
void dm_machine_pc_reset(DmMachine *m);
void dm_machine_pc_free(DmMachine *m);
/* Called by machine.c for each ISA line change (routes to the PICs). */
void dm_machine_pc_set_isa_irq(DmMachine *m, int n, int level);

#endif
