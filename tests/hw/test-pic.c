/* i8259 pair driven through its ports as a guest would: reset values,
   ICW/OCW decoding, priorities, rotation, cascade, poll, ELCR level
   lines, spurious vectors, and a snapshot round trip. Expected values
   were checked against QEMU 7.2 under -accel qtest. */
#include "hw/pic.h"
#include "hw-rig.h"

#include <string.h>

typedef struct Fix {
    HwRig rig;
    PicPair *pic;
} Fix;

static void fix_init(Fix *f)
{
    GError *err = NULL;

    hw_rig_init(&f->rig);
    f->pic = pic_pair_new(f->rig.clock, &f->rig.irq);
    g_assert_true(pic_pair_realize(f->pic, &f->rig.bus, f->rig.reg, &err));
    g_assert_no_error(err);
}

static void fix_free(Fix *f)
{
    pic_pair_free(f->pic);
    hw_rig_free(&f->rig);
}

static void outb(Fix *f, uint16_t port, uint8_t v)
{
    hw_rig_outb(&f->rig, port, v);
}

static uint8_t inb(Fix *f, uint16_t port)
{
    return hw_rig_inb(&f->rig, port);
}

/* The BIOS/Linux init: master base 0x08, slave base 0x70, 8086 mode. */
static void pic_init_std(Fix *f, uint8_t icw4)
{
    outb(f, 0x20, 0x11);
    outb(f, 0x21, 0x08);
    outb(f, 0x21, 0x04);
    outb(f, 0x21, icw4);
    outb(f, 0xa0, 0x11);
    outb(f, 0xa1, 0x70);
    outb(f, 0xa1, 0x02);
    outb(f, 0xa1, icw4);
}

static void test_reset_values(void)
{
    Fix f;

    fix_init(&f);
    g_assert_cmphex(inb(&f, 0x20), ==, 0);
    g_assert_cmphex(inb(&f, 0x21), ==, 0);
    g_assert_cmphex(inb(&f, 0xa0), ==, 0);
    g_assert_cmphex(inb(&f, 0xa1), ==, 0);
    g_assert_cmphex(inb(&f, 0x4d0), ==, 0);
    outb(&f, 0x4d0, 0xff);
    outb(&f, 0x4d1, 0xff);
    g_assert_cmphex(inb(&f, 0x4d0), ==, 0xf8);
    g_assert_cmphex(inb(&f, 0x4d1), ==, 0xde);
    /* ICW1 keeps the ELCR; device reset (QEMU 7.2) clears it */
    pic_init_std(&f, 0x01);
    g_assert_cmphex(inb(&f, 0x4d0), ==, 0xf8);
    pic_pair_reset(f.pic);
    g_assert_cmphex(inb(&f, 0x4d0), ==, 0);
    g_assert_cmphex(inb(&f, 0x4d1), ==, 0);
    fix_free(&f);
}

static void test_edge_inta_eoi(void)
{
    Fix f;

    fix_init(&f);
    pic_init_std(&f, 0x01);
    g_assert_cmphex(inb(&f, 0x21), ==, 0);
    pic_pair_set_irq(f.pic, 1, 1);
    g_assert_true(pic_pair_int_output(f.pic));
    g_assert_cmpint(f.rig.rec.level, ==, 1);
    g_assert_cmphex(inb(&f, 0x20), ==, 0x02); /* IRR */
    g_assert_cmpint(pic_pair_read_irq(f.pic), ==, 0x09);
    g_assert_cmpint(f.rig.rec.level, ==, 0);
    g_assert_cmphex(inb(&f, 0x20), ==, 0x00);
    outb(&f, 0x20, 0x0b); /* OCW3: read ISR */
    g_assert_cmphex(inb(&f, 0x20), ==, 0x02);
    /* the line is still high: no new edge, no new request */
    pic_pair_set_irq(f.pic, 1, 1);
    g_assert_false(pic_pair_int_output(f.pic));
    outb(&f, 0x20, 0x20); /* non-specific EOI */
    g_assert_cmphex(inb(&f, 0x20), ==, 0x00);
    pic_pair_set_irq(f.pic, 1, 0);
    pic_pair_set_irq(f.pic, 1, 1);
    g_assert_true(pic_pair_int_output(f.pic));
    /* IMR masks it */
    outb(&f, 0x21, 0x02);
    g_assert_cmphex(inb(&f, 0x21), ==, 0x02);
    g_assert_false(pic_pair_int_output(f.pic));
    /* nothing unmasked pending: spurious IRQ 7 */
    g_assert_cmpint(pic_pair_read_irq(f.pic), ==, 0x0f);
    fix_free(&f);
}

static void test_priority_nesting(void)
{
    Fix f;

    fix_init(&f);
    pic_init_std(&f, 0x01);
    pic_pair_set_irq(f.pic, 5, 1);
    pic_pair_set_irq(f.pic, 3, 1);
    g_assert_cmpint(pic_pair_read_irq(f.pic), ==, 0x0b);
    /* 5 is lower priority than 3 in service: held */
    g_assert_false(pic_pair_int_output(f.pic));
    pic_pair_set_irq(f.pic, 1, 1);
    g_assert_true(pic_pair_int_output(f.pic)); /* 1 nests over 3 */
    g_assert_cmpint(pic_pair_read_irq(f.pic), ==, 0x09);
    outb(&f, 0x20, 0x0b);
    g_assert_cmphex(inb(&f, 0x20), ==, 0x0a);
    outb(&f, 0x20, 0x63); /* specific EOI 3 */
    g_assert_cmphex(inb(&f, 0x20), ==, 0x02);
    outb(&f, 0x20, 0x20); /* EOI: clears 1 */
    g_assert_cmphex(inb(&f, 0x20), ==, 0x00);
    g_assert_cmpint(pic_pair_read_irq(f.pic), ==, 0x0d);
    fix_free(&f);
}

static void test_rotation(void)
{
    Fix f;

    fix_init(&f);
    pic_init_std(&f, 0x01);
    outb(&f, 0x20, 0xc4); /* set priority: 4 lowest, 5 highest */
    pic_pair_set_irq(f.pic, 0, 1);
    pic_pair_set_irq(f.pic, 6, 1);
    g_assert_cmpint(pic_pair_read_irq(f.pic), ==, 0x0e);
    outb(&f, 0x20, 0xa0); /* rotate on EOI: 6 becomes lowest */
    g_assert_cmpint(pic_pair_read_irq(f.pic), ==, 0x08);
    outb(&f, 0x20, 0xe0); /* rotate on specific EOI 0 */
    pic_pair_set_irq(f.pic, 0, 0);
    pic_pair_set_irq(f.pic, 0, 1);
    pic_pair_set_irq(f.pic, 2, 1);
    /* 2 now outranks 0; nothing on the slave: its spurious vector */
    g_assert_cmpint(pic_pair_read_irq(f.pic), ==, 0x77);
    fix_free(&f);
}

static void test_auto_eoi(void)
{
    Fix f;

    fix_init(&f);
    pic_init_std(&f, 0x03); /* AEOI */
    outb(&f, 0x20, 0x80);   /* rotate in auto-EOI on */
    pic_pair_set_irq(f.pic, 4, 1);
    pic_pair_set_irq(f.pic, 2, 0);
    g_assert_cmpint(pic_pair_read_irq(f.pic), ==, 0x0c);
    outb(&f, 0x20, 0x0b);
    g_assert_cmphex(inb(&f, 0x20), ==, 0); /* nothing in service */
    pic_pair_set_irq(f.pic, 3, 1);
    pic_pair_set_irq(f.pic, 5, 1);
    /* 4 was acknowledged last: 5 now has the highest priority */
    g_assert_cmpint(pic_pair_read_irq(f.pic), ==, 0x0d);
    fix_free(&f);
}

static void test_cascade_and_spurious(void)
{
    Fix f;

    fix_init(&f);
    pic_init_std(&f, 0x01);
    pic_pair_set_irq(f.pic, 10, 1);
    g_assert_true(pic_pair_int_output(f.pic));
    g_assert_cmpint(pic_pair_read_irq(f.pic), ==, 0x72);
    outb(&f, 0xa0, 0x0b);
    outb(&f, 0x20, 0x0b);
    g_assert_cmphex(inb(&f, 0xa0), ==, 0x04);
    g_assert_cmphex(inb(&f, 0x20), ==, 0x04);
    outb(&f, 0xa0, 0x20);
    outb(&f, 0x20, 0x20);
    /* level line 9 drops before INTA: the master's latched IRQ 2 finds
       nothing on the slave, so the slave's spurious vector comes out */
    outb(&f, 0x4d1, 0x02);
    pic_pair_set_irq(f.pic, 9, 1);
    pic_pair_set_irq(f.pic, 9, 0);
    g_assert_true(pic_pair_int_output(f.pic));
    g_assert_cmpint(pic_pair_read_irq(f.pic), ==, 0x77);
    fix_free(&f);
}

static void test_level_and_poll(void)
{
    Fix f;

    fix_init(&f);
    pic_init_std(&f, 0x01);
    outb(&f, 0x4d1, 0x08); /* IRQ 11 level-triggered */
    pic_pair_set_irq(f.pic, 11, 1);
    g_assert_cmpint(pic_pair_read_irq(f.pic), ==, 0x73);
    g_assert_cmphex(inb(&f, 0xa0), ==, 0x08); /* stays in IRR */
    /* the driver quiets the device, then EOIs slave and master */
    pic_pair_set_irq(f.pic, 11, 0);
    g_assert_cmphex(inb(&f, 0xa0), ==, 0x00);
    outb(&f, 0xa0, 0x20);
    outb(&f, 0x20, 0x20);
    /* poll: the read acknowledges, then poll mode ends */
    pic_pair_set_irq(f.pic, 6, 1);
    outb(&f, 0x20, 0x0c);
    g_assert_cmphex(inb(&f, 0x21), ==, 0x86);
    outb(&f, 0x20, 0x0b);
    g_assert_cmphex(inb(&f, 0x20), ==, 0x40);
    outb(&f, 0x20, 0x0c);
    g_assert_cmphex(inb(&f, 0x20), ==, 0x00); /* 6 in service: none */
    g_assert_cmphex(inb(&f, 0x21), ==, 0x00); /* IMR again */
    /* special mask: a masked in-service line no longer blocks */
    outb(&f, 0x21, 0x40);
    outb(&f, 0x20, 0x68);
    pic_pair_set_irq(f.pic, 7, 1);
    g_assert_true(pic_pair_int_output(f.pic));
    fix_free(&f);
}

/* Offset of the payload of the n-th section named idstr in a stream. */
static size_t find_payload(const GByteArray *b, const char *idstr, int nth)
{
    size_t len = strlen(idstr);

    for (size_t i = 0; i + 1 + len + 8 <= b->len; i++) {
        if (b->data[i] == len && memcmp(b->data + i + 1, idstr, len) == 0 &&
            nth-- == 0) {
            return i + 1 + len + 8;
        }
    }
    g_assert_not_reached();
}

static void drive_more(Fix *f, GArray *reads)
{
    int v; /* `reads` holds ints */
    int vec;

    pic_pair_set_irq(f->pic, 12, 1);
    vec = pic_pair_read_irq(f->pic);
    g_array_append_val(reads, vec);
    outb(f, 0x20, 0x0b);
    v = inb(f, 0x20);
    g_array_append_val(reads, v);
    outb(f, 0x20, 0x20);
    vec = pic_pair_read_irq(f->pic);
    g_array_append_val(reads, vec);
    v = inb(f, 0xa0);
    g_array_append_val(reads, v);
}

static void test_snapshot(void)
{
    Fix a, b;
    GByteArray *buf = g_byte_array_new();
    VmsSaveOpts so = {.footers = true};
    VmsLoadOpts lo = {.unknown = VMS_UNKNOWN_REJECT};
    GError *err = NULL;
    GArray *ra = g_array_new(FALSE, FALSE, sizeof(int));
    GArray *rb = g_array_new(FALSE, FALSE, sizeof(int));
    PicState before[2];

    fix_init(&a);
    fix_init(&b);
    pic_init_std(&a, 0x01);
    outb(&a, 0x4d1, 0x10);
    pic_pair_set_irq(a.pic, 3, 1);
    pic_pair_set_irq(a.pic, 14, 1);
    g_assert_cmpint(pic_pair_read_irq(a.pic), ==, 0x76); /* 3 pending */
    g_assert_true(vms_save_all(a.rig.reg, &so, buf, &err));
    g_assert_no_error(err);
    g_assert_true(vms_load_all(b.rig.reg, buf->data, buf->len, &lo, &err));
    g_assert_no_error(err);
    g_assert_cmpmem(&a.pic->chip[0].s, sizeof(PicState), &b.pic->chip[0].s,
                    sizeof(PicState));
    g_assert_cmpmem(&a.pic->chip[1].s, sizeof(PicState), &b.pic->chip[1].s,
                    sizeof(PicState));
    g_assert_cmpint(b.rig.rec.level, ==, a.rig.rec.level);
    g_array_set_size(a.rig.rec.ev, 0);
    g_array_set_size(b.rig.rec.ev, 0);
    drive_more(&a, ra);
    drive_more(&b, rb);
    g_assert_cmpmem(ra->data, ra->len * sizeof(int), rb->data,
                    rb->len * sizeof(int));
    g_assert_cmpmem(a.rig.rec.ev->data, a.rig.rec.ev->len * 8,
                    b.rig.rec.ev->data, b.rig.rec.ev->len * 8);

    /* init_state 5 and a bad slave ELCR bit each fail; B is untouched */
    memcpy(before, (PicState[]){b.pic->chip[0].s, b.pic->chip[1].s},
           sizeof(before));
    buf->data[find_payload(buf, "i8259", 0) + 9] = 5;
    g_assert_false(vms_load_all(b.rig.reg, buf->data, buf->len, &lo, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "init_state"));
    g_clear_error(&err);
    buf->data[find_payload(buf, "i8259", 0) + 9] = 0;
    buf->data[find_payload(buf, "i8259", 1) + 15] = 0x01;
    g_assert_false(vms_load_all(b.rig.reg, buf->data, buf->len, &lo, &err));
    g_assert_nonnull(strstr(err->message, "elcr"));
    g_clear_error(&err);
    g_assert_cmpmem(before, sizeof(PicState), &b.pic->chip[0].s,
                    sizeof(PicState));
    g_assert_cmpmem(before + 1, sizeof(PicState), &b.pic->chip[1].s,
                    sizeof(PicState));

    g_array_free(ra, TRUE);
    g_array_free(rb, TRUE);
    g_byte_array_free(buf, TRUE);
    fix_free(&a);
    fix_free(&b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hw/pic/reset-values", test_reset_values);
    g_test_add_func("/hw/pic/edge-inta-eoi", test_edge_inta_eoi);
    g_test_add_func("/hw/pic/priority-nesting", test_priority_nesting);
    g_test_add_func("/hw/pic/rotation", test_rotation);
    g_test_add_func("/hw/pic/auto-eoi", test_auto_eoi);
    g_test_add_func("/hw/pic/cascade-spurious", test_cascade_and_spurious);
    g_test_add_func("/hw/pic/level-poll", test_level_and_poll);
    g_test_add_func("/hw/pic/snapshot", test_snapshot);
    return g_test_run();
}
