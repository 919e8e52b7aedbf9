/*
 * Between machine.c (generic part) and machine-pc.c (PC assembly).
 */
#ifndef LS_MACHINE_MACHINE_INTERNAL_H
#define LS_MACHINE_MACHINE_INTERNAL_H

#include "machine/machine.h"

/* Create, wire and register the PC devices. Called by machine_new after
   `timer` (section id 0) is registered and before `globalstate`; it must
   leave the registry's section-id counter at the id QEMU 7.2 gives
   `globalstate` on pc/TCG (40: acpi_build's 39 is skipped too), using
   vms_registry_skip_section_ids for QEMU's gaps. */
bool machine_pc_init(Machine *m, const MachineOpts *opts, GError **errp);
void machine_pc_reset(Machine *m);
void machine_pc_free(Machine *m);
/* The PIC pair's INTA cycle (pic_read_irq), for the vCPU. */
int machine_pc_read_irq(Machine *m);
/* machine-cpu.c: the vCPU when opts->bios is set (pc only), with its
   sections registered at the registry's next section id; called by
   machine_pc_init before the PIC. */
bool machine_cpu_init(Machine *m, const MachineOpts *opts, GError **errp);

/* Called by machine.c for each ISA line change (routes to the PICs). */
void machine_pc_set_isa_irq(Machine *m, int n, int level);
/* The i-th UART and its sink, or NULL. */
SerialDevice *machine_pc_serial(Machine *m, int i);
const MachineSerialSink *machine_pc_serial_sink(Machine *m, int i);

#endif
