/*
 * i8259A PIC pair: register behaviour of QEMU 7.2's hw/intc/i8259.c and
 * i8259_common.c (priority resolution, OCW/ICW decoding, poll reads,
 * cascade), the `i8259` state layout and its validation. See pic.h.
 */
#include "hw/pic.h"

#include <string.h>

#include "base/error.h"
#include "base/log.h"

#define PIC_ICW1_INIT         0x10
#define PIC_ICW1_LTIM         0x08
#define PIC_ICW1_SNGL         0x02
#define PIC_ICW1_IC4          0x01
#define PIC_OCW3_SEL          0x08
#define PIC_OCW3_POLL         0x04
#define PIC_OCW3_RR           0x02
#define PIC_OCW3_ESMM         0x40
#define PIC_OCW2_ROT_AEOI_CLR 0
#define PIC_OCW2_EOI          1
#define PIC_OCW2_SEOI         3
#define PIC_OCW2_ROT_AEOI_SET 4
#define PIC_OCW2_ROT_EOI      5
#define PIC_OCW2_SET_PRIO     6
#define PIC_OCW2_ROT_SEOI     7

/* Highest priority (0 = highest) among `mask`, 8 when empty. */
static int pic_get_priority(const PicState *s, int mask)
{
    int priority = 0;

    if (mask == 0) {
        return 8;
    }
    while ((mask & (1 << ((priority + s->priority_add) & 7))) == 0) {
        priority++;
    }
    return priority;
}

/* The line the chip wants to interrupt with, or -1. */
static int pic_get_irq(const PicChip *c)
{
    const PicState *s = &c->s;
    int priority = pic_get_priority(s, s->irr & ~s->imr);
    int mask;

    if (priority == 8) {
        return -1;
    }
    /* In-service priority; in special fully nested mode the master does
       not count the cascade line, so the slave can nest. */
    mask = s->isr;
    if (s->special_mask) {
        mask &= ~s->imr;
    }
    if (s->special_fully_nested_mode && c->master) {
        mask &= ~(1 << PIC_CASCADE_IRQ);
    }
    if (priority < pic_get_priority(s, mask)) {
        return (priority + s->priority_add) & 7;
    }
    return -1;
}

static void pic_chip_set_irq(PicChip *c, int irq, int level);

/* Drives the chip's INT output: the CPU for the master, master IRQ 2 for
   the slave. Called after every change that may move it. */
static void pic_update_irq(PicChip *c)
{
    int level = pic_get_irq(c) >= 0;

    if (c->master) {
        hw_irq_set(c->pair->cpu_intr, level);
    } else {
        pic_chip_set_irq(&c->pair->chip[0], PIC_CASCADE_IRQ, level);
    }
}

static void pic_chip_set_irq(PicChip *c, int irq, int level)
{
    PicState *s = &c->s;
    uint8_t mask = 1 << irq;

    if (s->elcr & mask) {
        /* level triggered: IRR follows the line */
        if (level) {
            s->irr |= mask;
            s->last_irr |= mask;
        } else {
            s->irr &= ~mask;
            s->last_irr &= ~mask;
        }
    } else if (level) {
        /* edge triggered: a rising edge latches IRR */
        if ((s->last_irr & mask) == 0) {
            s->irr |= mask;
        }
        s->last_irr |= mask;
    } else {
        s->last_irr &= ~mask;
    }
    pic_update_irq(c);
}

static void pic_intack(PicChip *c, int irq)
{
    PicState *s = &c->s;

    if (s->auto_eoi) {
        if (s->rotate_on_auto_eoi) {
            s->priority_add = (irq + 1) & 7;
        }
    } else {
        s->isr |= 1 << irq;
    }
    /* a level-triggered request stays in IRR while the line is high */
    if (!(s->elcr & (1 << irq))) {
        s->irr &= ~(1 << irq);
    }
    pic_update_irq(c);
}

int pic_pair_read_irq(PicPair *p)
{
    PicChip *m = &p->chip[0], *sl = &p->chip[1];
    int irq = pic_get_irq(m);
    int irq2;

    if (irq < 0) {
        return m->s.irq_base + 7; /* spurious on the master */
    }
    if (irq == PIC_CASCADE_IRQ) {
        irq2 = pic_get_irq(sl);
        if (irq2 >= 0) {
            pic_intack(sl, irq2);
        } else {
            irq2 = 7; /* spurious on the slave */
        }
        pic_intack(m, irq);
        return sl->s.irq_base + irq2;
    }
    pic_intack(m, irq);
    return m->s.irq_base + irq;
}

bool pic_pair_int_output(PicPair *p)
{
    return pic_get_irq(&p->chip[0]) >= 0;
}

void pic_pair_set_irq(PicPair *p, int isa_irq, int level)
{
    if (isa_irq < 0 || isa_irq > 15) {
        ls_log_ratelimited("i8259: ISA IRQ %d out of range", isa_irq);
        return;
    }
    pic_chip_set_irq(&p->chip[isa_irq >> 3], isa_irq & 7, level != 0);
}

/* ICW1 re-initialisation (QEMU pic_reset_common): keeps ELCR and the
   level-triggered IRR bits. */
static void pic_init_reset(PicChip *c)
{
    PicState *s = &c->s;
    uint8_t elcr = s->elcr, irr = s->irr & s->elcr;

    memset(s, 0, sizeof(*s));
    s->elcr = elcr;
    s->irr = irr;
    pic_update_irq(c);
}

static void pic_write_ocw2(PicChip *c, uint8_t val)
{
    PicState *s = &c->s;
    int cmd = val >> 5, priority, irq;

    switch (cmd) {
    case PIC_OCW2_ROT_AEOI_CLR:
    case PIC_OCW2_ROT_AEOI_SET:
        s->rotate_on_auto_eoi = cmd >> 2;
        return;
    case PIC_OCW2_EOI:
    case PIC_OCW2_ROT_EOI:
        priority = pic_get_priority(s, s->isr);
        if (priority == 8) {
            return;
        }
        irq = (priority + s->priority_add) & 7;
        s->isr &= ~(1 << irq);
        if (cmd == PIC_OCW2_ROT_EOI) {
            s->priority_add = (irq + 1) & 7;
        }
        break;
    case PIC_OCW2_SEOI:
        s->isr &= ~(1 << (val & 7));
        break;
    case PIC_OCW2_SET_PRIO:
        s->priority_add = (val + 1) & 7;
        break;
    case PIC_OCW2_ROT_SEOI:
        s->isr &= ~(1 << (val & 7));
        s->priority_add = ((val & 7) + 1) & 7;
        break;
    default: /* 2: no operation */
        return;
    }
    pic_update_irq(c);
}

static void pic_write_cmd(PicChip *c, uint8_t val)
{
    PicState *s = &c->s;

    if (val & PIC_ICW1_INIT) {
        pic_init_reset(c);
        s->init_state = 1;
        s->init4 = val & PIC_ICW1_IC4;
        s->single_mode = val & PIC_ICW1_SNGL;
        if (val & PIC_ICW1_LTIM) {
            ls_log_ratelimited("i8259: level sensitive irq not supported");
        }
    } else if (val & PIC_OCW3_SEL) {
        if (val & PIC_OCW3_POLL) {
            s->poll = 1;
        }
        if (val & PIC_OCW3_RR) {
            s->read_reg_select = val & 1;
        }
        if (val & PIC_OCW3_ESMM) {
            s->special_mask = (val >> 5) & 1;
        }
    } else {
        pic_write_ocw2(c, val);
    }
}

static void pic_write_data(PicChip *c, uint8_t val)
{
    PicState *s = &c->s;

    switch (s->init_state) {
    case 0: /* OCW1 */
        s->imr = val;
        pic_update_irq(c);
        break;
    case 1: /* ICW2 */
        s->irq_base = val & 0xf8;
        s->init_state = s->single_mode ? (s->init4 ? 3 : 0) : 2;
        break;
    case 2: /* ICW3: cascade wiring is fixed */
        s->init_state = s->init4 ? 3 : 0;
        break;
    case 3: /* ICW4 */
        s->special_fully_nested_mode = (val >> 4) & 1;
        s->auto_eoi = (val >> 1) & 1;
        s->init_state = 0;
        break;
    }
}

static void pic_io_write(void *opaque, uint16_t port, uint32_t val,
                         unsigned size)
{
    PicChip *c = opaque;

    if ((port & 1) == 0) {
        pic_write_cmd(c, val);
    } else {
        pic_write_data(c, val);
    }
}

static uint32_t pic_io_read(void *opaque, uint16_t port, unsigned size)
{
    PicChip *c = opaque;
    PicState *s = &c->s;
    int ret;

    if (s->poll) {
        /* poll mode: the read is the acknowledge; one read only */
        ret = pic_get_irq(c);
        if (ret >= 0) {
            pic_intack(c, ret);
            ret |= 0x80;
        } else {
            ret = 0;
        }
        s->poll = 0;
        return ret;
    }
    if ((port & 1) == 0) {
        return s->read_reg_select ? s->isr : s->irr;
    }
    return s->imr;
}

static void pic_elcr_write(void *opaque, uint16_t port, uint32_t val,
                           unsigned size)
{
    PicChip *c = opaque;

    c->s.elcr = val & c->elcr_mask;
}

static uint32_t pic_elcr_read(void *opaque, uint16_t port, unsigned size)
{
    PicChip *c = opaque;

    return c->s.elcr;
}

static const HwPortOps pic_io_ops = {
    .read = pic_io_read,
    .write = pic_io_write,
    .access_size = 1,
};
static const HwPortOps pic_elcr_ops = {
    .read = pic_elcr_read,
    .write = pic_elcr_write,
    .access_size = 1,
};

/* ---- state description ---- */

static bool pic_check_bool(uint8_t v, const char *name, GError **errp)
{
    if (v > 1) {
        ls_error_set(errp, "field '%s': %u out of range 0..1", name, v);
        return false;
    }
    return true;
}

static bool pic_check_flags(const PicState *s, GError **errp)
{
    return pic_check_bool(s->read_reg_select, "read_reg_select", errp) &&
           pic_check_bool(s->poll, "poll", errp) &&
           pic_check_bool(s->special_mask, "special_mask", errp) &&
           pic_check_bool(s->auto_eoi, "auto_eoi", errp) &&
           pic_check_bool(s->rotate_on_auto_eoi, "rotate_on_auto_eoi", errp) &&
           pic_check_bool(s->special_fully_nested_mode,
                          "special_fully_nested_mode", errp) &&
           pic_check_bool(s->init4, "init4", errp);
}

static bool pic_post_load_common(const PicState *s, uint8_t elcr_mask,
                                 GError **errp)
{
    if (s->priority_add > 7) {
        ls_error_set(errp, "field 'priority_add': %u out of range 0..7",
                     s->priority_add);
        return false;
    }
    if (s->irq_base & 7) {
        ls_error_set(errp,
                     "field 'irq_base': 0x%02x has low bits set "
                     "(ICW2 keeps bits 7..3 only)",
                     s->irq_base);
        return false;
    }
    if (s->init_state > 3) {
        ls_error_set(errp, "field 'init_state': %u out of range 0..3",
                     s->init_state);
        return false;
    }
    if (s->single_mode != 0 && s->single_mode != PIC_ICW1_SNGL) {
        ls_error_set(errp, "field 'single_mode': %u is neither 0 nor 2",
                     s->single_mode);
        return false;
    }
    if (s->elcr & ~elcr_mask) {
        ls_error_set(errp,
                     "field 'elcr': 0x%02x sets bits outside the "
                     "writable mask 0x%02x",
                     s->elcr, elcr_mask);
        return false;
    }
    return pic_check_flags(s, errp);
}

static bool pic_master_post_load(void *state, int version_id, GError **errp)
{
    return pic_post_load_common(state, PIC_MASTER_ELCR_MASK, errp);
}

static bool pic_slave_post_load(void *state, int version_id, GError **errp)
{
    return pic_post_load_common(state, PIC_SLAVE_ELCR_MASK, errp);
}

/* QEMU recomputes nothing on load (the cascade level lives in the
   master's last_irr); only the CPU line is re-driven here. */
static void pic_post_commit(void *state, int version_id)
{
    PicChip *c = container_of(state, PicChip, s);
    PicChip *m = &c->pair->chip[0];

    hw_irq_set(c->pair->cpu_intr, pic_get_irq(m) >= 0);
}

static const VmsField pic_fields[] = {
    VMS_UINT8(PicState, last_irr),
    VMS_UINT8(PicState, irr),
    VMS_UINT8(PicState, imr),
    VMS_UINT8(PicState, isr),
    VMS_UINT8(PicState, priority_add),
    VMS_UINT8(PicState, irq_base),
    VMS_UINT8(PicState, read_reg_select),
    VMS_UINT8(PicState, poll),
    VMS_UINT8(PicState, special_mask),
    VMS_UINT8(PicState, init_state),
    VMS_UINT8(PicState, auto_eoi),
    VMS_UINT8(PicState, rotate_on_auto_eoi),
    VMS_UINT8(PicState, special_fully_nested_mode),
    VMS_UINT8(PicState, init4),
    VMS_UINT8(PicState, single_mode),
    VMS_UINT8(PicState, elcr),
    VMS_END_OF_LIST,
};

/* Same wire layout; two tables because the ELCR mask differs. */
const VmsDesc pic_master_vmsd = {
    .name = "i8259",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = pic_fields,
    .post_load = pic_master_post_load,
    .post_commit = pic_post_commit,
};

const VmsDesc pic_slave_vmsd = {
    .name = "i8259",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = pic_fields,
    .post_load = pic_slave_post_load,
    .post_commit = pic_post_commit,
};

/* ---- lifecycle ---- */

PicPair *pic_pair_new(HwClock *clock, HwIrq *cpu_intr)
{
    PicPair *p = g_new0(PicPair, 1);

    p->clock = clock;
    p->cpu_intr = cpu_intr;
    for (int i = 0; i < 2; i++) {
        p->chip[i].pair = p;
        p->chip[i].master = i == 0;
        p->chip[i].elcr_mask =
            i == 0 ? PIC_MASTER_ELCR_MASK : PIC_SLAVE_ELCR_MASK;
    }
    pic_pair_reset(p);
    return p;
}

static bool pic_chip_realize(PicChip *c, HwBus *bus, VmsRegistry *reg,
                             GError **errp)
{
    uint16_t base = c->master ? PIC_MASTER_IOBASE : PIC_SLAVE_IOBASE;
    uint16_t elcr = c->master ? PIC_MASTER_ELCR : PIC_SLAVE_ELCR;

    return hw_bus_map(bus, c->master ? "pic-master" : "pic-slave", base, 2,
                      &pic_io_ops, c, errp) &&
           hw_bus_map(bus, c->master ? "elcr-master" : "elcr-slave", elcr, 1,
                      &pic_elcr_ops, c, errp) &&
           vms_register(reg, "i8259", c->master ? 0 : 1, base,
                        c->master ? &pic_master_vmsd : &pic_slave_vmsd, &c->s,
                        sizeof(c->s), errp);
}

bool pic_pair_realize(PicPair *p, HwBus *bus, VmsRegistry *reg, GError **errp)
{
    return pic_chip_realize(&p->chip[0], bus, reg, errp) &&
           pic_chip_realize(&p->chip[1], bus, reg, errp);
}

void pic_pair_reset(PicPair *p)
{
    /* QEMU 7.2 device reset: ELCR cleared, then the ICW1 reset. */
    for (int i = 0; i < 2; i++) {
        p->chip[i].s.elcr = 0;
        pic_init_reset(&p->chip[i]);
    }
}

void pic_pair_free(PicPair *p)
{
    g_free(p);
}
