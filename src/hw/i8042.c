/*
 * i8042 keyboard controller: ports 0x60/0x64, the output buffer and its
 * ownership, IRQ 1/12, and the `pckbd` section. Behaviour follows QEMU
 * 7.2's hw/input/pckbd.c with extended-state on and kbd-throttle off (see
 * i8042.h for what is covered and left out).
 */
#include "hw/i8042.h"

#include "base/error.h"
#include "base/log.h"

/* Controller commands */
#define I8042_CCMD_READ_MODE      0x20
#define I8042_CCMD_WRITE_MODE     0x60
#define I8042_CCMD_MOUSE_DISABLE  0xA7
#define I8042_CCMD_MOUSE_ENABLE   0xA8
#define I8042_CCMD_TEST_MOUSE     0xA9
#define I8042_CCMD_SELF_TEST      0xAA
#define I8042_CCMD_KBD_TEST       0xAB
#define I8042_CCMD_KBD_DISABLE    0xAD
#define I8042_CCMD_KBD_ENABLE     0xAE
#define I8042_CCMD_READ_INPORT    0xC0
#define I8042_CCMD_READ_OUTPORT   0xD0
#define I8042_CCMD_WRITE_OUTPORT  0xD1
#define I8042_CCMD_WRITE_OBUF     0xD2
#define I8042_CCMD_WRITE_AUX_OBUF 0xD3
#define I8042_CCMD_WRITE_MOUSE    0xD4
#define I8042_CCMD_DISABLE_A20    0xDD
#define I8042_CCMD_ENABLE_A20     0xDF
#define I8042_CCMD_PULSE_BITS_3_0 0xF0
#define I8042_CCMD_RESET          0xFE
#define I8042_CCMD_NO_OP          0xFF

/* Output port */
#define I8042_OUT_RESET     0x01 /* 0: CPU reset */
#define I8042_OUT_A20       0x02
#define I8042_OUT_OBF       0x10
#define I8042_OUT_MOUSE_OBF 0x20
#define I8042_OUT_ONES      0xcc /* QEMU's default: bits 2, 3, 6, 7 set */

/* Who has a byte for the output buffer (the `pending` bitmask) */
#define I8042_PENDING_KBD_COMPAT 0x01 /* streams without extended state */
#define I8042_PENDING_AUX_COMPAT 0x02
#define I8042_PENDING_CTRL_KBD   0x04
#define I8042_PENDING_CTRL_AUX   0x08
#define I8042_PENDING_KBD        I8042_MODE_DISABLE_KBD   /* 0x10 */
#define I8042_PENDING_AUX        I8042_MODE_DISABLE_MOUSE /* 0x20 */
#define I8042_PENDING_ALL                                                      \
    (I8042_PENDING_CTRL_KBD | I8042_PENDING_CTRL_AUX | I8042_PENDING_KBD |     \
     I8042_PENDING_AUX)

#define I8042_MIGR_TIMER_PENDING 0x1

/* Load bookkeeping bits in I8042State.loaded */
#define I8042_LOADED_OUTPORT 0x01
#define I8042_LOADED_EXT     0x02
#define I8042_LOADED_REFILL  0x04 /* post_load refilled the output buffer */

/* ---- output buffer and interrupts ---- */

/* QEMU: no IRQ 1 while the keyboard interface is disabled. */
static void i8042_update_irq_lines(I8042Device *d)
{
    I8042State *s = &d->s;
    int kbd = 0, mouse = 0;

    if (s->status & I8042_STAT_OBF) {
        if (s->status & I8042_STAT_MOUSE_OBF) {
            mouse = (s->mode & I8042_MODE_MOUSE_INT) != 0;
        } else {
            kbd = (s->mode & I8042_MODE_KBD_INT) &&
                  !(s->mode & I8042_MODE_DISABLE_KBD);
        }
    }
    hw_irq_set(d->irq1, kbd);
    hw_irq_set(d->irq12, mouse);
}

static void i8042_deassert_irq(I8042Device *d)
{
    d->s.status &= ~(I8042_STAT_OBF | I8042_STAT_MOUSE_OBF);
    d->s.outport &= ~(I8042_OUT_OBF | I8042_OUT_MOUSE_OBF);
    i8042_update_irq_lines(d);
}

/* Sources with data whose interface is enabled. */
static uint8_t i8042_pending(const I8042State *s)
{
    return s->pending & ~(s->mode & (I8042_PENDING_KBD | I8042_PENDING_AUX));
}

/* Fills the output buffer from the highest-priority source: status,
   output port and obsrc only. */
static void i8042_update_ob(I8042State *s)
{
    uint8_t pending = i8042_pending(s);
    bool aux = false;

    s->status &= ~(I8042_STAT_OBF | I8042_STAT_MOUSE_OBF);
    s->outport &= ~(I8042_OUT_OBF | I8042_OUT_MOUSE_OBF);
    if (!pending) {
        return;
    }
    if (pending & I8042_PENDING_CTRL_KBD) {
        s->obsrc = I8042_OBSRC_CTRL;
    } else if (pending & I8042_PENDING_CTRL_AUX) {
        s->obsrc = I8042_OBSRC_CTRL;
        aux = true;
    } else if (pending & I8042_PENDING_KBD) {
        s->obsrc = I8042_OBSRC_KBD;
    } else {
        s->obsrc = I8042_OBSRC_MOUSE;
        aux = true;
    }
    s->status |= I8042_STAT_OBF | (aux ? I8042_STAT_MOUSE_OBF : 0);
    s->outport |= I8042_OUT_OBF | (aux ? I8042_OUT_MOUSE_OBF : 0);
}

static void i8042_update_irq(I8042Device *d)
{
    i8042_update_ob(&d->s);
    i8042_update_irq_lines(d);
}

/* A full output buffer is refilled by the read that empties it. */
static void i8042_safe_update_irq(I8042Device *d)
{
    if (d->s.status & I8042_STAT_OBF) {
        return;
    }
    if (i8042_pending(&d->s)) {
        i8042_update_irq(d);
    }
}

static void i8042_ps2_line(void *opaque, int n, int level)
{
    I8042Device *d = opaque;
    uint8_t bit = n ? I8042_PENDING_AUX : I8042_PENDING_KBD;

    if (level) {
        d->s.pending |= bit;
    } else {
        d->s.pending &= ~bit;
    }
    i8042_safe_update_irq(d);
}

/* The controller's own reply byte (extended state: not via the PS/2
   queues). */
static void i8042_queue(I8042Device *d, uint8_t b, bool aux)
{
    d->s.cbdata = b;
    d->s.pending &= ~(I8042_PENDING_CTRL_KBD | I8042_PENDING_CTRL_AUX);
    d->s.pending |= aux ? I8042_PENDING_CTRL_AUX : I8042_PENDING_CTRL_KBD;
    i8042_safe_update_irq(d);
}

static uint8_t i8042_dequeue(I8042Device *d)
{
    d->s.pending &= ~(I8042_PENDING_CTRL_KBD | I8042_PENDING_CTRL_AUX);
    if (i8042_pending(&d->s)) {
        i8042_update_irq(d);
    }
    return d->s.cbdata;
}

static void i8042_reset_request(I8042Device *d)
{
    if (d->reset_request) {
        d->reset_request(d->reset_opaque);
    }
}

static void i8042_outport_write(I8042Device *d, uint8_t val)
{
    d->s.outport = val;
    if (!(val & I8042_OUT_RESET)) {
        i8042_reset_request(d);
    }
}

/* ---- guest access ---- */

static uint8_t i8042_read_data(I8042Device *d)
{
    I8042State *s = &d->s;

    if (s->status & I8042_STAT_OBF) {
        i8042_deassert_irq(d);
        if (s->obsrc & I8042_OBSRC_KBD) {
            s->obdata = ps2_kbd_read_data(d->kbd);
        } else if (s->obsrc & I8042_OBSRC_MOUSE) {
            s->obdata = ps2_mouse_read_data(d->mouse);
        } else if (s->obsrc & I8042_OBSRC_CTRL) {
            s->obdata = i8042_dequeue(d);
        }
    }
    return s->obdata;
}

/* Commands that queue a reply byte; false if `val` is none of them. */
static bool i8042_reply_command(I8042Device *d, uint8_t val)
{
    switch (val) {
    case I8042_CCMD_READ_MODE:
        i8042_queue(d, d->s.mode, false);
        return true;
    case I8042_CCMD_SELF_TEST:
        d->s.status |= I8042_STAT_SELFTEST;
        i8042_queue(d, 0x55, false);
        return true;
    case I8042_CCMD_TEST_MOUSE:
    case I8042_CCMD_KBD_TEST:
        i8042_queue(d, 0x00, false);
        return true;
    case I8042_CCMD_READ_INPORT:
        i8042_queue(d, 0x80, false);
        return true;
    case I8042_CCMD_READ_OUTPORT:
        i8042_queue(d, d->s.outport, false);
        return true;
    default:
        return false;
    }
}

static void i8042_write_command(I8042Device *d, uint8_t val)
{
    I8042State *s = &d->s;

    /* F0-FF pulse output-port bits 3-0 low where val has a 0; only bit 0
       (CPU reset) does anything. */
    if ((val & I8042_CCMD_PULSE_BITS_3_0) == I8042_CCMD_PULSE_BITS_3_0) {
        val = (val & 1) ? I8042_CCMD_NO_OP : I8042_CCMD_RESET;
    }
    if (i8042_reply_command(d, val)) {
        return;
    }
    switch (val) {
    case I8042_CCMD_WRITE_MODE:
    case I8042_CCMD_WRITE_OBUF:
    case I8042_CCMD_WRITE_AUX_OBUF:
    case I8042_CCMD_WRITE_MOUSE:
    case I8042_CCMD_WRITE_OUTPORT:
        s->write_cmd = val;
        break;
    case I8042_CCMD_MOUSE_DISABLE:
        s->mode |= I8042_MODE_DISABLE_MOUSE;
        break;
    case I8042_CCMD_MOUSE_ENABLE:
        s->mode &= ~I8042_MODE_DISABLE_MOUSE;
        i8042_safe_update_irq(d);
        break;
    case I8042_CCMD_KBD_DISABLE:
        s->mode |= I8042_MODE_DISABLE_KBD;
        break;
    case I8042_CCMD_KBD_ENABLE:
        s->mode &= ~I8042_MODE_DISABLE_KBD;
        i8042_safe_update_irq(d);
        break;
    case I8042_CCMD_ENABLE_A20:
        s->outport |= I8042_OUT_A20;
        break;
    case I8042_CCMD_DISABLE_A20:
        s->outport &= ~I8042_OUT_A20;
        break;
    case I8042_CCMD_RESET:
        i8042_reset_request(d);
        break;
    case I8042_CCMD_NO_OP:
        break;
    default:
        ls_log_ratelimited("i8042: unsupported command 0x%02x", val);
        break;
    }
}

static void i8042_write_data(I8042Device *d, uint8_t val)
{
    I8042State *s = &d->s;

    switch (s->write_cmd) {
    case 0:
        ps2_write_keyboard(d->kbd, val);
        /* sending to the keyboard re-enables its interface */
        s->mode &= ~I8042_MODE_DISABLE_KBD;
        i8042_safe_update_irq(d);
        break;
    case I8042_CCMD_WRITE_MODE:
        s->mode = val;
        ps2_kbd_set_translation(d->kbd, (val & I8042_MODE_KCC) != 0);
        i8042_update_irq_lines(d); /* interrupt enables act at once */
        i8042_safe_update_irq(d);  /* enabling may expose pending data */
        break;
    case I8042_CCMD_WRITE_OBUF:
    case I8042_CCMD_WRITE_AUX_OBUF:
        i8042_queue(d, val, s->write_cmd == I8042_CCMD_WRITE_AUX_OBUF);
        break;
    case I8042_CCMD_WRITE_OUTPORT:
        i8042_outport_write(d, val);
        break;
    case I8042_CCMD_WRITE_MOUSE:
        ps2_write_mouse(d->mouse, val);
        s->mode &= ~I8042_MODE_DISABLE_MOUSE;
        i8042_safe_update_irq(d);
        break;
    default:
        break;
    }
    s->write_cmd = 0;
}

uint8_t i8042_read(I8042Device *d, uint16_t port)
{
    if (port == I8042_CMD_PORT) {
        return d->s.status;
    }
    return i8042_read_data(d);
}

void i8042_write(I8042Device *d, uint16_t port, uint8_t val)
{
    if (port == I8042_CMD_PORT) {
        i8042_write_command(d, val);
    } else {
        i8042_write_data(d, val);
    }
}

static uint32_t i8042_io_read(void *opaque, uint16_t port, unsigned size)
{
    return i8042_read(opaque, port);
}

static void i8042_io_write(void *opaque, uint16_t port, uint32_t val,
                           unsigned size)
{
    i8042_write(opaque, port, val & 0xff);
}

static const HwPortOps i8042_ops = {
    .read = i8042_io_read,
    .write = i8042_io_write,
    .access_size = 1,
};

/* ---- lifecycle ---- */

void i8042_reset(I8042Device *d)
{
    I8042State *s = &d->s;

    ps2_kbd_reset(d->kbd);
    ps2_mouse_reset(d->mouse);
    /* QEMU leaves write_cmd, obsrc, obdata and cbdata as they were. */
    s->mode = I8042_MODE_KBD_INT | I8042_MODE_MOUSE_INT;
    s->status = I8042_STAT_CMD | I8042_STAT_UNLOCKED;
    s->outport = I8042_OUT_RESET | I8042_OUT_A20 | I8042_OUT_ONES;
    s->pending = 0;
    i8042_deassert_irq(d);
}

I8042Device *i8042_new(HwClock *clock, HwIrq *irq1, HwIrq *irq12,
                       void (*reset_request)(void *), void *reset_opaque)
{
    I8042Device *d = g_new0(I8042Device, 1);

    d->clock = clock;
    d->irq1 = irq1;
    d->irq12 = irq12;
    d->reset_request = reset_request;
    d->reset_opaque = reset_opaque;
    hw_irq_init(&d->kbd_in, i8042_ps2_line, d, 0);
    hw_irq_init(&d->mouse_in, i8042_ps2_line, d, 1);
    d->kbd = ps2_kbd_new(&d->kbd_in);
    d->mouse = ps2_mouse_new(&d->mouse_in);
    i8042_reset(d);
    return d;
}

bool i8042_realize(I8042Device *d, HwBus *bus, VmsRegistry *reg, GError **errp)
{
    if (!hw_bus_map(bus, "i8042-data", I8042_DATA_PORT, 1, &i8042_ops, d,
                    errp) ||
        !hw_bus_map(bus, "i8042-cmd", I8042_CMD_PORT, 1, &i8042_ops, d, errp)) {
        return false;
    }
    if (!ps2_kbd_realize(d->kbd, reg, errp) ||
        !ps2_mouse_realize(d->mouse, reg, errp)) {
        return false;
    }
    return vms_register(reg, "pckbd", 0, -1, &i8042_vmsd, &d->s, sizeof(d->s),
                        errp);
}

void i8042_free(I8042Device *d)
{
    if (!d) {
        return;
    }
    ps2_kbd_free(d->kbd);
    ps2_mouse_free(d->mouse);
    g_free(d);
}

/* ---- device state: `pckbd` v3 ---- */

static uint8_t i8042_outport_default(const I8042State *s)
{
    return I8042_OUT_RESET | I8042_OUT_A20 | I8042_OUT_ONES |
           (s->status & I8042_STAT_OBF ? I8042_OUT_OBF : 0) |
           (s->status & I8042_STAT_MOUSE_OBF ? I8042_OUT_MOUSE_OBF : 0);
}

static bool i8042_check(const I8042State *s, GError **errp)
{
    switch (s->write_cmd) {
    case 0:
    case I8042_CCMD_WRITE_MODE:
    case I8042_CCMD_WRITE_OUTPORT:
    case I8042_CCMD_WRITE_OBUF:
    case I8042_CCMD_WRITE_AUX_OBUF:
    case I8042_CCMD_WRITE_MOUSE:
        break;
    default:
        ls_error_set(errp, "write_cmd 0x%02x takes no data byte", s->write_cmd);
        return false;
    }
    if (s->obsrc != 0 && s->obsrc != I8042_OBSRC_KBD &&
        s->obsrc != I8042_OBSRC_MOUSE && s->obsrc != I8042_OBSRC_CTRL) {
        ls_error_set(errp, "obsrc %u not 0, 1, 2 or 4", s->obsrc);
        return false;
    }
    if ((s->status & I8042_STAT_MOUSE_OBF) && !(s->status & I8042_STAT_OBF)) {
        ls_error_set(errp, "status 0x%02x: aux OBF without OBF", s->status);
        return false;
    }
    if ((s->status & I8042_STAT_OBF) && !s->obsrc) {
        ls_error_set(errp,
                     "status 0x%02x: output buffer full with no "
                     "source (obsrc 0)",
                     s->status);
        return false;
    }
    return true;
}

/* Streams without extended state (older QEMUs, extended-state=off). */
static void i8042_load_compat(I8042State *s)
{
    s->obsrc = 0;
    if (s->status & I8042_STAT_OBF) {
        s->obsrc = s->status & I8042_STAT_MOUSE_OBF ? I8042_OBSRC_MOUSE
                                                    : I8042_OBSRC_KBD;
    }
    if (s->pending & I8042_PENDING_KBD_COMPAT) {
        s->pending |= I8042_PENDING_KBD;
    }
    if (s->pending & I8042_PENDING_AUX_COMPAT) {
        s->pending |= I8042_PENDING_AUX;
    }
}

static bool i8042_post_load(void *opaque, int version_id, GError **errp)
{
    I8042State *s = opaque;

    if (s->pending & ~(I8042_PENDING_ALL | I8042_PENDING_KBD_COMPAT |
                       I8042_PENDING_AUX_COMPAT)) {
        ls_error_set(errp, "pending_tmp 0x%02x has unknown bits", s->pending);
        return false;
    }
    if (s->migration_flags & ~I8042_MIGR_TIMER_PENDING) {
        ls_error_set(errp, "migration_flags 0x%x has unknown bits",
                     s->migration_flags);
        return false;
    }
    if (!(s->loaded & I8042_LOADED_OUTPORT)) {
        s->outport = i8042_outport_default(s);
    }
    if (!(s->loaded & I8042_LOADED_EXT)) {
        i8042_load_compat(s);
    }
    s->pending &= I8042_PENDING_ALL;
    s->loaded = 0;
    if (!i8042_check(s, errp)) {
        return false;
    }
    /* No throttle timer here: one that was pending has expired. */
    if ((s->migration_flags & I8042_MIGR_TIMER_PENDING) && i8042_pending(s)) {
        i8042_update_ob(s);
        s->loaded = I8042_LOADED_REFILL;
    }
    s->migration_flags = 0;
    return true;
}

static void i8042_pre_load(void *opaque)
{
    ((I8042State *)opaque)->loaded = 0;
}

static bool i8042_outport_loaded(void *opaque, int version_id, GError **errp)
{
    ((I8042State *)opaque)->loaded |= I8042_LOADED_OUTPORT;
    return true;
}

static bool i8042_ext_loaded(void *opaque, int version_id, GError **errp)
{
    ((I8042State *)opaque)->loaded |= I8042_LOADED_EXT;
    return true;
}

static bool i8042_outport_needed(const void *opaque)
{
    const I8042State *s = opaque;

    return s->outport != i8042_outport_default(s);
}

static bool i8042_ext_needed(const void *opaque)
{
    return true; /* extended-state=on, QEMU 7.2's default */
}

/* As QEMU, a load does not drive IRQ 1 and 12: the levels the PIC last
   saw are in its own loaded state (last_irr), and they need not be what
   the controller's state gives (disabling the keyboard interface leaves
   a raised IRQ 1 raised). Only a refill by the expired throttle timer
   drives them, as QEMU's kbd_throttle_timeout does. */
static void i8042_post_commit(void *opaque, int version_id)
{
    I8042State *s = opaque;

    if (s->loaded & I8042_LOADED_REFILL) {
        s->loaded = 0;
        i8042_update_irq_lines(container_of(opaque, I8042Device, s));
    }
}

static const VmsField i8042_outport_fields[] = {VMS_UINT8(I8042State, outport),
                                                VMS_END_OF_LIST};

static const VmsDesc i8042_outport_vmsd = {
    .name = "pckbd_outport",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = i8042_outport_fields,
    .needed = i8042_outport_needed,
    .post_load = i8042_outport_loaded,
};

static const VmsField i8042_ext_fields[] = {
    VMS_UINT32(I8042State, migration_flags), VMS_UINT32(I8042State, obsrc),
    VMS_UINT8(I8042State, obdata), VMS_UINT8(I8042State, cbdata),
    VMS_END_OF_LIST};

static const VmsDesc i8042_ext_vmsd = {
    .name = "pckbd/extended_state",
    .fields = i8042_ext_fields,
    .needed = i8042_ext_needed,
    .post_load = i8042_ext_loaded,
};

static const VmsDesc *const i8042_subsections[] = {&i8042_outport_vmsd,
                                                   &i8042_ext_vmsd, NULL};

static const VmsField i8042_kbd_fields[] = {
    VMS_UINT8(I8042State, write_cmd), VMS_UINT8(I8042State, status),
    VMS_UINT8(I8042State, mode),
    VMS_FIELD_T_("pending_tmp", VMS_UINT8, I8042State, pending, 0),
    VMS_END_OF_LIST};

/* QEMU's vmstate_kbd: the controller proper, nested in the ISA device. */
static const VmsDesc i8042_kbd_vmsd = {
    .name = "pckbd",
    .version_id = 3,
    .minimum_version_id = 3,
    .fields = i8042_kbd_fields,
    .subsections = i8042_subsections,
    .pre_load = i8042_pre_load,
    .post_load = i8042_post_load,
};

static const VmsField i8042_fields[] = {{.name = "kbd",
                                         .type = VMS_STRUCT,
                                         .offset = 0,
                                         .size = sizeof(I8042State),
                                         .num = 1,
                                         .vmsd = &i8042_kbd_vmsd},
                                        VMS_END_OF_LIST};

const VmsDesc i8042_vmsd = {
    .name = "pckbd",
    .version_id = 3,
    .minimum_version_id = 3,
    .fields = i8042_fields,
    .post_commit = i8042_post_commit,
};
