/*
 * Device-state description of the 16550A (serial.c is the register
 * model): QEMU
 * 7.2's core vmsd `serial` v3 (min 2) with its seven subsections, wrapped
 * by the ISA vmsd `serial` v3 (min 2) that is the section. Hooks follow
 * QEMU's pre_save / pre_load / post_load, plus range and consistency
 * checks QEMU lacks; post_commit re-derives what the stream does not hold.
 */
#include "base/error.h"
#include "hw/serial-internal.h"

static bool serial_pre_save(void *state, GError **errp)
{
    SerialState *s = state;

    s->fcr_vmstate = s->fcr;
    return true;
}

/* Defaults for absent subsections: those say "nothing pending". (QEMU
   leaves the destination's own values there; a fresh UART has these.) */
static void serial_pre_load(void *state)
{
    SerialState *s = state;

    s->thr_ipending = -1;
    s->poll_msl = -1;
    s->tsr_retry = 0;
    s->timeout_ipending = 0;
    s->fifo_timeout_timer = -1;
    s->modem_status_poll = -1;
    fifo8_reset(&s->recv_fifo);
    fifo8_reset(&s->xmit_fifo);
}

static bool serial_check_ranges(const SerialState *s, GError **errp)
{
    if (s->thr_ipending < -1 || s->thr_ipending > 1) {
        ls_error_set(errp, "thr_ipending %d out of range -1..1",
                     s->thr_ipending);
        return false;
    }
    if (s->timeout_ipending < 0 || s->timeout_ipending > 1) {
        ls_error_set(errp, "timeout_ipending %d out of range 0..1",
                     s->timeout_ipending);
        return false;
    }
    if (s->poll_msl < -1 || s->poll_msl > 1) {
        ls_error_set(errp, "poll_msl %d out of range -1..1", s->poll_msl);
        return false;
    }
    if (s->fcr_vmstate & ~UART_FCR_STICKY) {
        ls_error_set(errp, "fcr 0x%02x has bits outside 0x%02x", s->fcr_vmstate,
                     UART_FCR_STICKY);
        return false;
    }
    if ((s->ier & 0xf0) || (s->mcr & 0xe0) || (s->iir & 0x30)) {
        ls_error_set(errp,
                     "ier 0x%02x / mcr 0x%02x / iir 0x%02x: bits no "
                     "16550A holds",
                     s->ier, s->mcr, s->iir);
        return false;
    }
    if (!fifo8_check(&s->recv_fifo, errp) ||
        !fifo8_check(&s->xmit_fifo, errp)) {
        return false;
    }
    /* deadlines within the bounds of hw/clock.h */
    return hw_clock_check_time("fifo_timeout_timer", s->fifo_timeout_timer, -1,
                               errp) &&
           hw_clock_check_time("modem_status_poll", s->modem_status_poll, -1,
                               errp);
}

/* QEMU's own rule (post_load fails the same way), and the transmitter
   invariants its serial_xmit asserts. */
static bool serial_check_tsr(const SerialState *s, GError **errp)
{
    if (s->tsr_retry > 0 && (s->lsr & UART_LSR_TEMT)) {
        ls_error_set(errp,
                     "inconsistent state in serial device "
                     "(tsr empty, tsr_retry=%u)",
                     s->tsr_retry);
        return false;
    }
    if (s->tsr_retry == 0 && !(s->lsr & UART_LSR_TEMT)) {
        ls_error_set(errp, "inconsistent state in serial device "
                           "(tsr not empty, tsr_retry=0)");
        return false;
    }
    if (s->tsr_retry == 0 && !(s->lsr & UART_LSR_THRE)) {
        ls_error_set(errp, "inconsistent state in serial device "
                           "(thr not empty, tsr_retry=0)");
        return false;
    }
    return true;
}

static bool serial_check_fifos(const SerialState *s, GError **errp)
{
    if (!(s->fcr_vmstate & UART_FCR_FE)) {
        if (s->recv_fifo.num || s->xmit_fifo.num) {
            ls_error_set(errp, "FIFOs disabled but hold %u/%u bytes",
                         s->recv_fifo.num, s->xmit_fifo.num);
            return false;
        }
        return true;
    }
    if (!(s->lsr & UART_LSR_THRE) != (s->xmit_fifo.num > 0)) {
        ls_error_set(errp,
                     "LSR.THRE %d inconsistent with %u bytes in the "
                     "transmit FIFO",
                     !!(s->lsr & UART_LSR_THRE), s->xmit_fifo.num);
        return false;
    }
    if (!!(s->lsr & UART_LSR_DR) != (s->recv_fifo.num > 0)) {
        ls_error_set(errp,
                     "LSR.DR %d inconsistent with %u bytes in the "
                     "receive FIFO",
                     !!(s->lsr & UART_LSR_DR), s->recv_fifo.num);
        return false;
    }
    return true;
}

static bool serial_post_load(void *state, int version_id, GError **errp)
{
    SerialState *s = state;

    if (version_id < 3) {
        s->fcr_vmstate = 0;
    }
    if (!serial_check_ranges(s, errp) || !serial_check_tsr(s, errp) ||
        !serial_check_fifos(s, errp)) {
        return false;
    }
    if (s->thr_ipending == -1) {
        s->thr_ipending = (s->iir & UART_IIR_ID) == UART_IIR_THRI;
    }
    if (s->tsr_retry > SERIAL_MAX_XMIT_RETRY) {
        s->tsr_retry = SERIAL_MAX_XMIT_RETRY;
    }
    serial_set_fcr(s, s->fcr_vmstate);
    return true;
}

/* Deadlines bounded against the clock the load brought (hw/clock.h):
   one farther ahead than the UART ever arms (4 characters, or 1, at the
   slowest line it can be set to) is re-armed from now. */
#define SERIAL_MAX_TIMER_AHEAD_NS                                              \
    (4 * 12 * 65535LL * HW_NS_PER_SEC / SERIAL_BAUDBASE + 1)

static void serial_bound_deadlines(SerialDevice *d, int64_t now)
{
    if (d->s.fifo_timeout_timer > now + SERIAL_MAX_TIMER_AHEAD_NS) {
        serial_fifo_timer_rearm(d);
    }
    if (d->s.modem_status_poll > now + SERIAL_MAX_TIMER_AHEAD_NS) {
        serial_modem_timer_mod(d, now + d->char_transmit_time);
    }
}

/* Live state, after the whole stream is committed: wiring and derived
   state (timers, character time, break memory, the pending retry). */
static void serial_isa_post_commit(void *state, int version_id)
{
    SerialDevice *d = container_of((SerialState *)state, SerialDevice, s);
    SerialState *s = &d->s;

    d->last_break_enable = (s->lcr >> 6) & 1;
    /* The character time is not in the stream. QEMU 7.2 derives it from
       LCR and the divisor here, but reset sets 9600 baud / 10 bits, so a
       loaded copy of a UART whose guest never wrote LCR timed out earlier
       than its source. Reset's line settings (LCR 0, divisor 12) get
       reset's time back, so a COLO secondary stays in step; a guest that
       explicitly programs 5N1 at 9600 baud is the one case this reads
       differently from QEMU. */
    if (s->lcr == 0 && s->divider == SERIAL_RESET_DIVIDER) {
        d->char_transmit_time = SERIAL_RESET_CHAR_NS;
    } else {
        serial_update_parameters(d);
    }
    serial_fifo_timer_mod(d, s->fifo_timeout_timer);
    serial_modem_timer_mod(d, s->poll_msl >= 0 ? s->modem_status_poll : -1);
    serial_bound_deadlines(d, hw_clock_now(d->clock));
    serial_cancel_watch(d);
    serial_update_irq(d);
    if (s->tsr_retry > 0 && !serial_add_watch(d)) {
        /* No sink to wait for: send now (QEMU would stall for ever). */
        serial_xmit(d);
    }
}

static bool serial_thr_ipending_needed(const void *state)
{
    const SerialState *s = state;

    if (!(s->ier & UART_IER_THRI)) {
        return false; /* resampled when THRI is set again */
    }
    return s->thr_ipending != ((s->iir & UART_IIR_ID) == UART_IIR_THRI);
}

static bool serial_tsr_needed(const void *state)
{
    return ((const SerialState *)state)->tsr_retry != 0;
}

static bool serial_recv_fifo_needed(const void *state)
{
    return !fifo8_is_empty(&((const SerialState *)state)->recv_fifo);
}

static bool serial_xmit_fifo_needed(const void *state)
{
    return !fifo8_is_empty(&((const SerialState *)state)->xmit_fifo);
}

static bool serial_fifo_timeout_timer_needed(const void *state)
{
    return ((const SerialState *)state)->fifo_timeout_timer >= 0;
}

static bool serial_timeout_ipending_needed(const void *state)
{
    return ((const SerialState *)state)->timeout_ipending != 0;
}

static bool serial_poll_needed(const void *state)
{
    return ((const SerialState *)state)->poll_msl >= 0;
}

#define SERIAL_SUBSECTION(_id, _fields)                                        \
    static const VmsDesc serial_##_id##_vmsd = {                               \
        .name = "serial/" #_id,                                                \
        .version_id = 1,                                                       \
        .minimum_version_id = 1,                                               \
        .fields = (_fields),                                                   \
        .needed = serial_##_id##_needed,                                       \
    }

static const VmsField serial_thr_ipending_fields[] = {
    VMS_INT32(SerialState, thr_ipending), VMS_END_OF_LIST};
SERIAL_SUBSECTION(thr_ipending, serial_thr_ipending_fields);

static const VmsField serial_tsr_fields[] = {
    VMS_UINT32(SerialState, tsr_retry), VMS_UINT8(SerialState, thr),
    VMS_UINT8(SerialState, tsr), VMS_END_OF_LIST};
SERIAL_SUBSECTION(tsr, serial_tsr_fields);

static const VmsField serial_recv_fifo_fields[] = {
    VMS_STRUCT_ONE(SerialState, recv_fifo, fifo8_vmsd, Fifo8), VMS_END_OF_LIST};
SERIAL_SUBSECTION(recv_fifo, serial_recv_fifo_fields);

static const VmsField serial_xmit_fifo_fields[] = {
    VMS_STRUCT_ONE(SerialState, xmit_fifo, fifo8_vmsd, Fifo8), VMS_END_OF_LIST};
SERIAL_SUBSECTION(xmit_fifo, serial_xmit_fifo_fields);

static const VmsField serial_fifo_timeout_timer_fields[] = {
    VMS_TIMER(SerialState, fifo_timeout_timer), VMS_END_OF_LIST};
SERIAL_SUBSECTION(fifo_timeout_timer, serial_fifo_timeout_timer_fields);

static const VmsField serial_timeout_ipending_fields[] = {
    VMS_INT32(SerialState, timeout_ipending), VMS_END_OF_LIST};
SERIAL_SUBSECTION(timeout_ipending, serial_timeout_ipending_fields);

static const VmsField serial_poll_fields[] = {
    VMS_INT32(SerialState, poll_msl), VMS_TIMER(SerialState, modem_status_poll),
    VMS_END_OF_LIST};
SERIAL_SUBSECTION(poll, serial_poll_fields);

static const VmsDesc *const serial_subsections[] = {
    &serial_thr_ipending_vmsd,
    &serial_tsr_vmsd,
    &serial_recv_fifo_vmsd,
    &serial_xmit_fifo_vmsd,
    &serial_fifo_timeout_timer_vmsd,
    &serial_timeout_ipending_vmsd,
    &serial_poll_vmsd,
    NULL};

static const VmsField serial_fields[] = {
    VMS_UINT16_V(SerialState, divider, 2),
    VMS_UINT8(SerialState, rbr),
    VMS_UINT8(SerialState, ier),
    VMS_UINT8(SerialState, iir),
    VMS_UINT8(SerialState, lcr),
    VMS_UINT8(SerialState, mcr),
    VMS_UINT8(SerialState, lsr),
    VMS_UINT8(SerialState, msr),
    VMS_UINT8(SerialState, scr),
    VMS_UINT8_V(SerialState, fcr_vmstate, 3),
    VMS_END_OF_LIST};

const VmsDesc serial_vmsd = {
    .name = "serial",
    .version_id = 3,
    .minimum_version_id = 2,
    .fields = serial_fields,
    .subsections = serial_subsections,
    .pre_save = serial_pre_save,
    .pre_load = serial_pre_load,
    .post_load = serial_post_load,
};

/* serial-isa.c's wrapper: the section; its only field is the core state. */
typedef struct SerialIsaState {
    SerialState state;
} SerialIsaState;

static const VmsField serial_isa_fields[] = {
    VMS_STRUCT_ONE(SerialIsaState, state, serial_vmsd, SerialState),
    VMS_END_OF_LIST};

const VmsDesc serial_isa_vmsd = {
    .name = "serial",
    .version_id = 3,
    .minimum_version_id = 2,
    .fields = serial_isa_fields,
    .pre_save = serial_pre_save,
    .pre_load = serial_pre_load,
    .post_commit = serial_isa_post_commit,
};
