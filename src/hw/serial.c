/*
 * 16550A UART, QEMU 7.2 behaviour (hw/char/serial.c) and device state.
 * See serial.h for what it covers and leaves out; the device-state
 * description is serial-vmstate.c.
 */
#include "hw/serial-internal.h"

#include <assert.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"

static void serial_receive1(SerialDevice *d, const uint8_t *buf, int len);

/* ---- helpers ---- */

static int serial_recv_fifo_itl(const SerialState *s)
{
    static const int itl[4] = {1, 4, 8, 14};

    return itl[(s->fcr & UART_FCR_ITL_MASK) >> 6];
}

void serial_fifo_timer_mod(SerialDevice *d, int64_t deadline)
{
    d->s.fifo_timeout_timer = deadline;
    if (deadline < 0) {
        hw_timer_del(d->fifo_timer);
    } else {
        hw_timer_mod(d->fifo_timer, deadline);
    }
}

void serial_fifo_timer_rearm(SerialDevice *d)
{
    serial_fifo_timer_mod(d,
                          hw_clock_now(d->clock) + d->char_transmit_time * 4);
}

void serial_modem_timer_mod(SerialDevice *d, int64_t deadline)
{
    d->s.modem_status_poll = deadline;
    if (deadline < 0) {
        hw_timer_del(d->modem_timer);
    } else {
        hw_timer_mod(d->modem_timer, deadline);
    }
}

void serial_update_irq(SerialDevice *d)
{
    SerialState *s = &d->s;
    uint8_t id = UART_IIR_NO_INT;

    if ((s->ier & UART_IER_RLSI) && (s->lsr & UART_LSR_INT_ANY)) {
        id = UART_IIR_RLSI;
    } else if ((s->ier & UART_IER_RDI) && s->timeout_ipending) {
        /* QEMU: IER.RDI masks the timeout interrupt too (as hardware). */
        id = UART_IIR_CTI;
    } else if ((s->ier & UART_IER_RDI) && (s->lsr & UART_LSR_DR) &&
               (!(s->fcr & UART_FCR_FE) ||
                (int)s->recv_fifo.num >= serial_recv_fifo_itl(s))) {
        id = UART_IIR_RDI;
    } else if ((s->ier & UART_IER_THRI) && s->thr_ipending) {
        id = UART_IIR_THRI;
    } else if ((s->ier & UART_IER_MSI) && (s->msr & UART_MSR_ANY_DELTA)) {
        id = UART_IIR_MSI;
    }
    s->iir = id | (s->iir & 0xF0);
    hw_irq_set(d->irq, id != UART_IIR_NO_INT);
}

/*
 * Character time as QEMU 7.2 computes it, in float (so 115200 7E2 gives
 * 95486 ns, not 11 * 8680); a zero divisor counts as about 3500 baud.
 */
void serial_update_parameters(SerialDevice *d)
{
    const SerialState *s = &d->s;
    int frame = 1;
    float speed, ns;

    if (s->lcr & 0x08) {
        frame++;
    }
    frame += (s->lcr & 0x04) ? 2 : 1;
    frame += (s->lcr & 0x03) + 5;
    speed = s->divider ? (float)SERIAL_BAUDBASE / s->divider : 3500.0f;
    ns = ((float)HW_NS_PER_SEC / speed) * (float)frame;
    d->char_transmit_time = (int64_t)ns;
}

/* No backend reports modem lines: QEMU's GET_TIOCM fails with ENOTSUP and
   polling turns itself off. */
static void serial_update_msl(SerialDevice *d)
{
    serial_modem_timer_mod(d, -1);
    d->s.poll_msl = -1;
}

static void serial_modem_timer_cb(void *opaque)
{
    SerialDevice *d = opaque;

    d->s.modem_status_poll = -1;
    serial_update_msl(d);
}

/* Data waited 4 character times in the receive FIFO. */
static void serial_fifo_timer_cb(void *opaque)
{
    SerialDevice *d = opaque;

    d->s.fifo_timeout_timer = -1;
    if (d->s.recv_fifo.num) {
        d->s.timeout_ipending = 1;
        serial_update_irq(d);
    }
}

/* ---- transmit ---- */

static void serial_watch_cb(void *opaque)
{
    SerialDevice *d = opaque;

    d->watch_pending = false;
    serial_xmit(d);
}

bool serial_add_watch(SerialDevice *d)
{
    assert(!d->watch_pending);
    if (!d->ops || !d->ops->add_write_watch ||
        !d->ops->add_write_watch(d->be, serial_watch_cb, d)) {
        return false;
    }
    d->watch_pending = true;
    return true;
}

void serial_cancel_watch(SerialDevice *d)
{
    if (d->watch_pending && d->ops && d->ops->cancel_write_watch) {
        d->ops->cancel_write_watch(d->be);
    }
    d->watch_pending = false;
}

/* Sends the TSR byte; false when it must wait for a retry. */
static bool serial_send_tsr(SerialDevice *d)
{
    SerialState *s = &d->s;
    int rc;

    if (s->mcr & UART_MCR_LOOP) {
        serial_receive1(d, &s->tsr, 1);
        return true;
    }
    rc = (d->ops && d->ops->write) ? d->ops->write(d->be, &s->tsr, 1) : 1;
    if (rc == 0 && s->tsr_retry < SERIAL_MAX_XMIT_RETRY &&
        serial_add_watch(d)) {
        s->tsr_retry++;
        return false;
    }
    return true;
}

/* Moves bytes THR/FIFO -> TSR -> sink until empty or the sink blocks. */
void serial_xmit(SerialDevice *d)
{
    SerialState *s = &d->s;

    do {
        if (s->tsr_retry == 0) {
            if (s->fcr & UART_FCR_FE) {
                s->tsr = fifo8_pop(&s->xmit_fifo);
                if (!s->xmit_fifo.num) {
                    s->lsr |= UART_LSR_THRE;
                }
            } else {
                s->tsr = s->thr;
                s->lsr |= UART_LSR_THRE;
            }
            if ((s->lsr & UART_LSR_THRE) && !s->thr_ipending) {
                s->thr_ipending = 1;
                serial_update_irq(d);
            }
        }
        if (!serial_send_tsr(d)) {
            return;
        }
        s->tsr_retry = 0;
    } while (!(s->lsr & UART_LSR_THRE));
    s->lsr |= UART_LSR_TEMT;
}

/* ---- receive ---- */

static void serial_recv_fifo_put(SerialState *s, uint8_t c)
{
    /* Receive overruns do not overwrite FIFO contents. */
    if (!fifo8_is_full(&s->recv_fifo)) {
        fifo8_push(&s->recv_fifo, c);
    } else {
        s->lsr |= UART_LSR_OE;
    }
}

static void serial_receive1(SerialDevice *d, const uint8_t *buf, int len)
{
    SerialState *s = &d->s;

    if (len <= 0) {
        return;
    }
    if (s->fcr & UART_FCR_FE) {
        for (int i = 0; i < len; i++) {
            serial_recv_fifo_put(s, buf[i]);
        }
        s->lsr |= UART_LSR_DR;
        serial_fifo_timer_rearm(d);
    } else {
        if (s->lsr & UART_LSR_DR) {
            s->lsr |= UART_LSR_OE;
        }
        s->rbr = buf[0];
        s->lsr |= UART_LSR_DR;
    }
    serial_update_irq(d);
}

int serial_can_receive(SerialDevice *d)
{
    const SerialState *s = &d->s;
    int itl = serial_recv_fifo_itl(s);

    if (!(s->fcr & UART_FCR_FE)) {
        return !(s->lsr & UART_LSR_DR);
    }
    if (s->recv_fifo.num >= FIFO8_CAPACITY) {
        return 0;
    }
    /* Offer up to the trigger level, then one at a time, so the guest gets
       its interrupt before the FIFO fills (QEMU's rule). */
    return (int)s->recv_fifo.num <= itl ? itl - (int)s->recv_fifo.num : 1;
}

void serial_receive(SerialDevice *d, const uint8_t *buf, int len)
{
    serial_receive1(d, buf, len);
}

void serial_receive_break(SerialDevice *d)
{
    SerialState *s = &d->s;

    s->rbr = 0;
    /* A NUL byte enters the FIFO with the break. */
    serial_recv_fifo_put(s, 0);
    s->lsr |= UART_LSR_BI | UART_LSR_DR;
    serial_update_irq(d);
}

/* ---- register writes ---- */

/* The FCR bits that stick, and their side effects on IIR. */
void serial_set_fcr(SerialState *s, uint8_t val)
{
    s->fcr = val;
    s->fcr_vmstate = val;
    if (val & UART_FCR_FE) {
        s->iir |= UART_IIR_FE;
    } else {
        s->iir &= ~UART_IIR_FE;
    }
}

static void serial_write_thr(SerialDevice *d, uint8_t val)
{
    SerialState *s = &d->s;

    s->thr = val;
    if (s->fcr & UART_FCR_FE) {
        /* Transmit overruns overwrite the oldest byte. */
        if (fifo8_is_full(&s->xmit_fifo)) {
            fifo8_pop(&s->xmit_fifo);
        }
        fifo8_push(&s->xmit_fifo, val);
    }
    s->thr_ipending = 0;
    s->lsr &= ~(UART_LSR_THRE | UART_LSR_TEMT);
    serial_update_irq(d);
    if (s->tsr_retry == 0) {
        serial_xmit(d);
    }
}

static void serial_write_ier(SerialDevice *d, uint8_t val)
{
    SerialState *s = &d->s;
    uint8_t changed = (s->ier ^ val) & 0x0f;

    s->ier = val & 0x0f;
    if ((changed & UART_IER_MSI) && s->poll_msl >= 0) {
        if (s->ier & UART_IER_MSI) {
            s->poll_msl = 1;
            serial_update_msl(d);
        } else {
            serial_modem_timer_mod(d, -1);
            s->poll_msl = 0;
        }
    }
    /* QEMU (and Windows relies on it): setting IER.THRI while THR is empty
       raises THRE again even if an IIR read had acknowledged it. */
    if (changed & UART_IER_THRI) {
        s->thr_ipending = (s->ier & UART_IER_THRI) && (s->lsr & UART_LSR_THRE);
    }
    if (changed) {
        serial_update_irq(d);
    }
}

static void serial_write_fcr(SerialDevice *d, uint8_t val)
{
    SerialState *s = &d->s;

    /* Toggling the enable bit flushes both FIFOs. */
    if ((val ^ s->fcr) & UART_FCR_FE) {
        val |= UART_FCR_XFR | UART_FCR_RFR;
    }
    if (val & UART_FCR_RFR) {
        s->lsr &= ~(UART_LSR_DR | UART_LSR_BI);
        serial_fifo_timer_mod(d, -1);
        s->timeout_ipending = 0;
        fifo8_reset(&s->recv_fifo);
    }
    if (val & UART_FCR_XFR) {
        s->lsr |= UART_LSR_THRE;
        s->thr_ipending = 1;
        fifo8_reset(&s->xmit_fifo);
    }
    serial_set_fcr(s, val & UART_FCR_STICKY);
    serial_update_irq(d);
}

static void serial_write_lcr(SerialDevice *d, uint8_t val)
{
    int brk = (val >> 6) & 1;

    d->s.lcr = val;
    serial_update_parameters(d);
    if (brk != d->last_break_enable) {
        d->last_break_enable = brk;
        if (d->ops && d->ops->set_break) {
            d->ops->set_break(d->be, brk);
        }
    }
}

static void serial_write_mcr(SerialDevice *d, uint8_t val)
{
    SerialState *s = &d->s;
    uint8_t old = s->mcr;

    s->mcr = val & 0x1f;
    if (val & UART_MCR_LOOP) {
        return;
    }
    /* QEMU re-polls the modem lines one character time after a change. */
    if (s->poll_msl >= 0 && old != s->mcr) {
        serial_modem_timer_mod(d,
                               hw_clock_now(d->clock) + d->char_transmit_time);
    }
}

void serial_write(SerialDevice *d, unsigned offset, uint8_t val)
{
    SerialState *s = &d->s;

    switch (offset & 7) {
    case 0:
        if (s->lcr & UART_LCR_DLAB) {
            s->divider = (s->divider & 0xff00) | val;
            serial_update_parameters(d);
        } else {
            serial_write_thr(d, val);
        }
        break;
    case 1:
        if (s->lcr & UART_LCR_DLAB) {
            s->divider = (s->divider & 0x00ff) | (val << 8);
            serial_update_parameters(d);
        } else {
            serial_write_ier(d, val);
        }
        break;
    case 2:
        serial_write_fcr(d, val);
        break;
    case 3:
        serial_write_lcr(d, val);
        break;
    case 4:
        serial_write_mcr(d, val);
        break;
    case 7:
        s->scr = val;
        break;
    default: /* LSR, MSR: read-only, writes ignored as QEMU */
        ls_log_ratelimited("serial %#x: write %#x to read-only register %u",
                           d->iobase, val, offset & 7);
        break;
    }
}

/* ---- register reads ---- */

static uint8_t serial_read_rbr(SerialDevice *d)
{
    SerialState *s = &d->s;
    uint8_t ret;

    if (s->fcr & UART_FCR_FE) {
        ret = fifo8_is_empty(&s->recv_fifo) ? 0 : fifo8_pop(&s->recv_fifo);
        if (s->recv_fifo.num == 0) {
            s->lsr &= ~(UART_LSR_DR | UART_LSR_BI);
        } else {
            serial_fifo_timer_rearm(d);
        }
        s->timeout_ipending = 0;
    } else {
        ret = s->rbr;
        s->lsr &= ~(UART_LSR_DR | UART_LSR_BI);
    }
    serial_update_irq(d);
    if (!(s->mcr & UART_MCR_LOOP) && d->ops && d->ops->accept_input) {
        d->ops->accept_input(d->be);
    }
    return ret;
}

static uint8_t serial_read_msr(SerialDevice *d)
{
    SerialState *s = &d->s;
    uint8_t ret;

    if (s->mcr & UART_MCR_LOOP) {
        /* Loopback: OUT2/OUT1 -> DCD/RI, RTS -> CTS, DTR -> DSR. */
        return ((s->mcr & 0x0c) << 4) | ((s->mcr & 0x02) << 3) |
               ((s->mcr & 0x01) << 5);
    }
    if (s->poll_msl >= 0) {
        serial_update_msl(d);
    }
    ret = s->msr;
    if (s->msr & UART_MSR_ANY_DELTA) {
        s->msr &= 0xF0;
        serial_update_irq(d);
    }
    return ret;
}

uint8_t serial_read(SerialDevice *d, unsigned offset)
{
    SerialState *s = &d->s;
    uint8_t ret = 0;

    switch (offset & 7) {
    case 0:
        if (s->lcr & UART_LCR_DLAB) {
            return s->divider & 0xff;
        }
        return serial_read_rbr(d);
    case 1:
        return (s->lcr & UART_LCR_DLAB) ? s->divider >> 8 : s->ier;
    case 2:
        ret = s->iir;
        if ((ret & UART_IIR_ID) == UART_IIR_THRI) {
            s->thr_ipending = 0;
            serial_update_irq(d);
        }
        return ret;
    case 3:
        return s->lcr;
    case 4:
        return s->mcr;
    case 5:
        ret = s->lsr;
        /* Reading LSR clears break and overrun. */
        if (s->lsr & (UART_LSR_BI | UART_LSR_OE)) {
            s->lsr &= ~(UART_LSR_BI | UART_LSR_OE);
            serial_update_irq(d);
        }
        return ret;
    case 6:
        return serial_read_msr(d);
    default:
        return s->scr;
    }
}

static uint32_t serial_io_read(void *opaque, uint16_t port, unsigned size)
{
    SerialDevice *d = opaque;

    return serial_read(d, port - d->iobase);
}

static void serial_io_write(void *opaque, uint16_t port, uint32_t val,
                            unsigned size)
{
    SerialDevice *d = opaque;

    serial_write(d, port - d->iobase, val & 0xff);
}

static const HwPortOps serial_port_ops = {
    .read = serial_io_read,
    .write = serial_io_write,
    .access_size = 1,
};

/* ---- lifecycle ---- */

SerialDevice *serial_new(HwClock *clock, HwIrq *irq, uint16_t iobase,
                         const HwCharOps *ops, void *be)
{
    SerialDevice *d = g_new0(SerialDevice, 1);

    d->clock = clock;
    d->irq = irq;
    d->iobase = iobase;
    d->ops = ops;
    d->be = be;
    d->fifo_timer = hw_timer_new(clock, serial_fifo_timer_cb, d);
    d->modem_timer = hw_timer_new(clock, serial_modem_timer_cb, d);
    fifo8_init(&d->s.recv_fifo);
    fifo8_init(&d->s.xmit_fifo);
    serial_reset(d);
    return d;
}

bool serial_realize(SerialDevice *d, HwBus *bus, VmsRegistry *reg,
                    GError **errp)
{
    if (!hw_bus_map(bus, "serial", d->iobase, 8, &serial_port_ops, d, errp)) {
        return false;
    }
    return vms_register(reg, "serial", -1, d->iobase, &serial_isa_vmsd, &d->s,
                        sizeof(d->s), errp);
}

/* QEMU's serial_reset: note that FCR itself is not cleared there. */
void serial_reset(SerialDevice *d)
{
    SerialState *s = &d->s;

    serial_cancel_watch(d);
    s->rbr = 0;
    s->ier = 0;
    s->iir = UART_IIR_NO_INT;
    s->lcr = 0;
    s->lsr = UART_LSR_TEMT | UART_LSR_THRE;
    s->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
    s->divider = SERIAL_RESET_DIVIDER; /* 9600 baud, 8N1 */
    s->mcr = UART_MCR_OUT2;
    s->scr = 0;
    s->tsr_retry = 0;
    d->char_transmit_time = SERIAL_RESET_CHAR_NS;
    s->poll_msl = 0;
    s->timeout_ipending = 0;
    serial_fifo_timer_mod(d, -1);
    serial_modem_timer_mod(d, -1);
    fifo8_reset(&s->recv_fifo);
    fifo8_reset(&s->xmit_fifo);
    s->thr_ipending = 0;
    d->last_break_enable = 0;
    hw_irq_lower(d->irq);
    serial_update_msl(d);
    s->msr &= ~UART_MSR_ANY_DELTA;
}

void serial_free(SerialDevice *d)
{
    if (!d) {
        return;
    }
    serial_cancel_watch(d);
    hw_timer_free(d->fifo_timer);
    hw_timer_free(d->modem_timer);
    g_free(d);
}

SerialState *serial_state(SerialDevice *d)
{
    return &d->s;
}

uint16_t serial_iobase(const SerialDevice *d)
{
    return d->iobase;
}
