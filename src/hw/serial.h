/*
 * 16550A UART on the ISA bus, QEMU 7.2 behaviour and device state
 * (hw/char/serial.c, hw/char/serial-isa.c).
 *
 * Covers: divisor latch (DLAB), RBR/THR, IER, IIR with QEMU's priorities
 * (RLS > char timeout > RDA > THRE > MSR) and FIFO bits, FCR (enable,
 * clears, trigger levels 1/4/8/14), LCR (break to the backend), MCR
 * (loopback: TX looped to RX, outputs to MSR inputs), LSR, MSR, SCR,
 * 16-byte FIFOs, the character-timeout interrupt (4 character times on
 * the virtual clock), QEMU's THR-empty interrupt rules, transmission
 * through a byte sink with up to SERIAL_MAX_XMIT_RETRY retries when it
 * would block (THRE/TEMT exactly as QEMU shows them meanwhile), reception
 * with flow control by FIFO space.
 * Leaves out: modem-line polling (no backend here reports modem lines, so
 * poll_msl stays -1 as in QEMU with pty/socket/file/null chardevs), DMA
 * mode, real line timing of transmission (bytes leave at once).
 *
 * Device state: section `serial` (ISA wrapper vmsd v3 min 2, one STRUCT
 * field `state` -> core vmsd `serial` v3 min 2 and its seven subsections),
 * instance 0..3 in realize order, alias = I/O base.
 */
#ifndef LS_HW_SERIAL_H
#define LS_HW_SERIAL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/bus.h"
#include "hw/clock.h"
#include "hw/fifo8.h"
#include "hw/irq.h"
#include "vms/vms.h"

#define SERIAL_MAX_XMIT_RETRY 4
#define SERIAL_BAUDBASE       115200

/* Register bits (datasheet names, as Linux's serial_reg.h). */
#define UART_LCR_DLAB      0x80
#define UART_LCR_SBC       0x40 /* set break control */
#define UART_IER_MSI       0x08
#define UART_IER_RLSI      0x04
#define UART_IER_THRI      0x02
#define UART_IER_RDI       0x01
#define UART_IIR_NO_INT    0x01
#define UART_IIR_ID        0x06
#define UART_IIR_MSI       0x00
#define UART_IIR_THRI      0x02
#define UART_IIR_RDI       0x04
#define UART_IIR_RLSI      0x06
#define UART_IIR_CTI       0x0C
#define UART_IIR_FE        0xC0
#define UART_MCR_LOOP      0x10
#define UART_MCR_OUT2      0x08
#define UART_MCR_OUT1      0x04
#define UART_MCR_RTS       0x02
#define UART_MCR_DTR       0x01
#define UART_MSR_DCD       0x80
#define UART_MSR_RI        0x40
#define UART_MSR_DSR       0x20
#define UART_MSR_CTS       0x10
#define UART_MSR_TERI      0x04
#define UART_MSR_ANY_DELTA 0x0F
#define UART_LSR_TEMT      0x40
#define UART_LSR_THRE      0x20
#define UART_LSR_BI        0x10
#define UART_LSR_FE        0x08
#define UART_LSR_PE        0x04
#define UART_LSR_OE        0x02
#define UART_LSR_DR        0x01
#define UART_LSR_INT_ANY   0x1E
#define UART_FCR_ITL_MASK  0xC0
#define UART_FCR_DMS       0x08
#define UART_FCR_XFR       0x04
#define UART_FCR_RFR       0x02
#define UART_FCR_FE        0x01
#define UART_FCR_STICKY    0xC9 /* bits FCR keeps */

/*
 * The byte sink a UART transmits into (implemented by dm/chardev.c; a
 * fake in tests). `be` is the backend's own pointer.
 */
typedef void (*HwCharWatchCb)(void *opaque);
typedef struct HwCharOps {
    /* Offers len bytes: returns how many were taken (> 0), 0 when the sink
       would block (the UART retries later), < 0 on error (bytes lost). */
    int (*write)(void *be, const uint8_t *buf, int len);
    /* Calls cb(opaque) once, later, from the main loop, when the sink can
       take bytes again (or hung up). False: cannot (the byte is dropped,
       as QEMU). At most one watch is pending per backend. */
    bool (*add_write_watch)(void *be, HwCharWatchCb cb, void *opaque);
    /* Drops a pending watch, if any; cb is then never called. */
    void (*cancel_write_watch)(void *be);
    /* LCR bit 6 changed. May be NULL. */
    void (*set_break)(void *be, bool on);
    /* The UART has room again after a guest read (QEMU's accept_input):
       the backend may offer input again. May be NULL. */
    void (*accept_input)(void *be);
} HwCharOps;

/* Serialised, memcpy-able state (wiring lives in SerialDevice). */
typedef struct SerialState {
    uint16_t divider;
    uint8_t rbr;
    uint8_t thr;
    uint8_t tsr;
    uint8_t ier;
    uint8_t iir;
    uint8_t lcr;
    uint8_t mcr;
    uint8_t lsr;
    uint8_t msr;
    uint8_t scr;
    uint8_t fcr;          /* live FCR (not on the wire) */
    uint8_t fcr_vmstate;  /* FCR as saved */
    int32_t thr_ipending; /* -1 only while loading: derive from IIR */
    int32_t timeout_ipending;
    int32_t poll_msl; /* -1: no modem-line polling */
    uint32_t tsr_retry;
    int64_t fifo_timeout_timer; /* deadline, ns; -1 not pending */
    int64_t modem_status_poll;  /* deadline, ns; -1 not pending */
    Fifo8 recv_fifo;
    Fifo8 xmit_fifo;
} SerialState;

typedef struct SerialDevice SerialDevice;

/* Core vmsd `serial` (nested) and the ISA wrapper `serial` (the section). */
extern const VmsDesc serial_vmsd;
extern const VmsDesc serial_isa_vmsd;

/*
 * A UART at `iobase` (8 ports) driving `irq` (borrowed), transmitting into
 * ops/be (both may be NULL: bytes are then dropped, as a null chardev).
 * ops and be are borrowed and must outlive the device.
 */
SerialDevice *serial_new(HwClock *clock, HwIrq *irq, uint16_t iobase,
                         const HwCharOps *ops, void *be);
/* Maps the ports and registers section `serial` (next instance id, alias
   = iobase). */
bool serial_realize(SerialDevice *d, HwBus *bus, VmsRegistry *reg,
                    GError **errp);
void serial_reset(SerialDevice *d);
void serial_free(SerialDevice *d);

/* The live state (for machine code and tests). */
SerialState *serial_state(SerialDevice *d);
uint16_t serial_iobase(const SerialDevice *d);

/* Front-end entry points for the backend (QEMU's chardev handlers). */
/* How many bytes the UART takes now (FIFO space up to the trigger level,
   1 beyond it; 0 or 1 without FIFO). */
int serial_can_receive(SerialDevice *d);
/* Bytes from the line; callers offer at most serial_can_receive(). */
void serial_receive(SerialDevice *d, const uint8_t *buf, int len);
/* A break condition on the line. */
void serial_receive_break(SerialDevice *d);

/* Guest register access (also reachable through the bus). */
uint8_t serial_read(SerialDevice *d, unsigned offset);
void serial_write(SerialDevice *d, unsigned offset, uint8_t val);

#endif
