/*
 * Shared by the UART's register model (serial.c) and its device-state
 * description (serial-vmstate.c): the device struct and the few register
 * model helpers a load needs to re-derive live state. Not for use outside
 * those two files.
 */
#ifndef LS_HW_SERIAL_INTERNAL_H
#define LS_HW_SERIAL_INTERNAL_H

#include "hw/serial.h"

/* Reset's line settings: 9600 baud, 8N1 (10 bits a character). */
#define SERIAL_RESET_DIVIDER 0x0C
#define SERIAL_RESET_CHAR_NS ((HW_NS_PER_SEC / 9600) * 10)

struct SerialDevice {
    SerialState s;
    HwClock *clock;
    HwIrq *irq;
    uint16_t iobase;
    const HwCharOps *ops;
    void *be;
    HwTimer *fifo_timer;
    HwTimer *modem_timer;
    bool watch_pending;
    int last_break_enable;
    int64_t char_transmit_time; /* ns per character at the line settings */
};

/* serial.c */
void serial_update_irq(SerialDevice *d);
void serial_update_parameters(SerialDevice *d);
void serial_set_fcr(SerialState *s, uint8_t val);
void serial_fifo_timer_mod(SerialDevice *d, int64_t deadline);
void serial_fifo_timer_rearm(SerialDevice *d);
void serial_modem_timer_mod(SerialDevice *d, int64_t deadline);
bool serial_add_watch(SerialDevice *d);
void serial_cancel_watch(SerialDevice *d);
void serial_xmit(SerialDevice *d);

#endif
