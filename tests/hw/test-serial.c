/*
 * 16550A UART driven through the port bus as a guest driver would (the
 * device-state tests are test-serial-vmstate.c), with a fake byte sink that can
 * refuse bytes (would block) and fire its write watch on demand. Expected
 * values come from QEMU 7.2 (hw/char/serial.c) and were checked against the
 * real binary under -accel qtest.
 */
#include "serial-rig.h"

/* ---- registers ---- */

static void test_reset_values(void)
{
    Rig *r = rig_new();
    static const uint8_t expect[8] = {0, 0, 0x01, 0, 0x08, 0x60, 0xb0, 0};

    for (int i = 0; i < 8; i++) {
        g_assert_cmphex(in(r, i), ==, expect[i]);
    }
    g_assert_cmpint(r->level, ==, 0);
    rig_free(r);
}

static void test_dlab_scr_lcr(void)
{
    Rig *r = rig_new();

    out(r, 3, 0x83);
    g_assert_cmphex(in(r, 0), ==, 0x0c);
    g_assert_cmphex(in(r, 1), ==, 0x00);
    out(r, 0, 0x01);
    out(r, 1, 0x02);
    g_assert_cmphex(in(r, 0), ==, 0x01);
    g_assert_cmphex(in(r, 1), ==, 0x02);
    g_assert_cmphex(serial_state(r->d)->divider, ==, 0x0201);
    out(r, 3, 0x03);
    g_assert_cmphex(in(r, 3), ==, 0x03);
    /* With DLAB clear, offset 1 is IER again (4 bits). */
    out(r, 1, 0xf0);
    g_assert_cmphex(in(r, 1), ==, 0x00);
    out(r, 7, 0x5a);
    g_assert_cmphex(in(r, 7), ==, 0x5a);
    /* LSR/MSR writes are ignored. */
    out(r, 5, 0x00);
    out(r, 6, 0x00);
    g_assert_cmphex(in(r, 5), ==, 0x60);
    g_assert_cmphex(in(r, 6), ==, 0xb0);
    out(r, 4, 0xff);
    g_assert_cmphex(in(r, 4), ==, 0x1f);
    rig_free(r);
}

static void test_thre_rules(void)
{
    Rig *r = rig_new();

    out(r, 1, UART_IER_THRI); /* THR empty: THRE at once */
    g_assert_cmpint(r->level, ==, 1);
    g_assert_cmphex(in(r, 2), ==, 0x02); /* IIR read acknowledges */
    g_assert_cmpint(r->level, ==, 0);
    g_assert_cmphex(in(r, 2), ==, 0x01);
    out(r, 1, UART_IER_THRI); /* unchanged IER: nothing */
    g_assert_cmpint(r->level, ==, 0);
    out(r, 1, 0); /* QEMU: toggling THRI re-arms */
    out(r, 1, UART_IER_THRI);
    g_assert_cmpint(r->level, ==, 1);
    out(r, 0, 'A'); /* sent at once, THRE again */
    g_assert_cmpuint(r->be.out->len, ==, 1);
    g_assert_cmpuint(r->be.out->data[0], ==, 'A');
    g_assert_cmphex(in(r, 5), ==, 0x60);
    g_assert_cmphex(in(r, 2), ==, 0x02);
    g_assert_cmpint(r->level, ==, 0);
    /* Edges: up, down (IIR), up (toggle), down (THR write), up, down. */
    g_assert_cmpuint(r->edges->len, ==, 6);
    rig_free(r);
}

static void test_loopback(void)
{
    Rig *r = rig_new();

    out(r, 4, UART_MCR_LOOP | 0x0f);
    g_assert_cmphex(in(r, 6), ==, 0xf0);
    out(r, 4, UART_MCR_LOOP | UART_MCR_RTS);
    g_assert_cmphex(in(r, 6), ==, UART_MSR_CTS);
    out(r, 1, UART_IER_RDI);
    out(r, 0, 0x42);
    g_assert_cmpuint(r->be.out->len, ==, 0); /* nothing on the line */
    g_assert_cmphex(in(r, 5), ==, 0x61);
    g_assert_cmpint(r->level, ==, 1);
    g_assert_cmphex(in(r, 2), ==, 0x04);
    g_assert_cmphex(in(r, 0), ==, 0x42);
    g_assert_cmpint(r->level, ==, 0);
    g_assert_cmpint(r->be.accepts, ==, 0); /* loopback: no input wanted */
    rig_free(r);
}

static void test_overrun_rls(void)
{
    Rig *r = rig_new();

    out(r, 1, UART_IER_RLSI | UART_IER_RDI);
    g_assert_cmpint(serial_can_receive(r->d), ==, 1);
    feed(r, "a");
    g_assert_cmpint(serial_can_receive(r->d), ==, 0);
    g_assert_cmphex(in(r, 2), ==, 0x04);
    feed(r, "b");                        /* overrun: RBR replaced */
    g_assert_cmphex(in(r, 2), ==, 0x06); /* RLS beats RDA */
    g_assert_cmphex(in(r, 5), ==, 0x63); /* read clears OE */
    g_assert_cmphex(in(r, 5), ==, 0x61);
    g_assert_cmphex(in(r, 2), ==, 0x04);
    g_assert_cmphex(in(r, 0), ==, 'b');
    g_assert_cmpint(r->be.accepts, ==, 1);
    g_assert_cmpint(r->level, ==, 0);
    rig_free(r);
}

static void test_break(void)
{
    Rig *r = rig_new();

    out(r, 3, 0x43);
    g_assert_true(r->be.brk);
    out(r, 3, 0x43);
    g_assert_cmpint(r->be.breaks, ==, 1);
    out(r, 3, 0x03);
    g_assert_false(r->be.brk);
    out(r, 1, UART_IER_RLSI);
    serial_receive_break(r->d);
    g_assert_cmpint(r->level, ==, 1);
    g_assert_cmphex(in(r, 5), ==, 0x71);
    g_assert_cmpint(r->level, ==, 0);
    g_assert_cmphex(in(r, 0), ==, 0x00);
    g_assert_cmphex(in(r, 5), ==, 0x60);
    rig_free(r);
}

/* ---- FIFOs ---- */

static void test_fifo_trigger_levels(void)
{
    static const struct {
        uint8_t fcr;
        int itl;
    } lv[] = {
        {0x01, 1},
        {0x41, 4},
        {0x81, 8},
        {0xc1, 14},
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(lv); i++) {
        Rig *r = rig_new();

        out(r, 2, lv[i].fcr);
        g_assert_cmphex(in(r, 2), ==, 0xc1);
        out(r, 1, UART_IER_RDI);
        g_assert_cmpint(serial_can_receive(r->d), ==, lv[i].itl);
        for (int n = 0; n < lv[i].itl - 1; n++) {
            feed(r, "x");
        }
        g_assert_cmpint(r->level, ==, 0);
        g_assert_cmpint(serial_can_receive(r->d), ==, 1);
        feed(r, "y");
        g_assert_cmpint(r->level, ==, 1);
        g_assert_cmphex(in(r, 2), ==, 0xc4);
        g_assert_cmphex(in(r, 5), ==, 0x61);
        rig_free(r);
    }
}

static void test_fifo_overrun_and_clear(void)
{
    Rig *r = rig_new();
    char buf[18];

    out(r, 2, 0xc1);
    memset(buf, 'z', 17);
    buf[17] = 0;
    feed(r, buf); /* 17th byte is lost */
    g_assert_cmpint(serial_can_receive(r->d), ==, 0);
    g_assert_cmphex(in(r, 5), ==, 0x63);
    for (int i = 0; i < 16; i++) {
        g_assert_cmphex(in(r, 0), ==, 'z');
    }
    g_assert_cmphex(in(r, 5), ==, 0x60);
    g_assert_cmphex(in(r, 0), ==, 0x00); /* empty FIFO reads 0 */
    feed(r, "ab");
    out(r, 2, 0xc3); /* clear receive FIFO */
    g_assert_cmphex(in(r, 5), ==, 0x60);
    g_assert_cmpint(serial_can_receive(r->d), ==, 14);
    out(r, 2, 0x00); /* FIFOs off */
    g_assert_cmphex(in(r, 2), ==, 0x01);
    g_assert_cmpint(serial_can_receive(r->d), ==, 1);
    rig_free(r);
}

static void test_char_timeout(void)
{
    Rig *r = rig_new();
    IrqEvent *e;

    out(r, 2, 0x81); /* trigger at 8 */
    out(r, 1, UART_IER_RDI);
    hw_clock_step(r->clock, 1000);
    feed(r, "abc");
    g_assert_cmpint(r->level, ==, 0);
    hw_clock_step(r->clock, 4 * CHAR_NS_9600 - 1);
    g_assert_cmpint(r->level, ==, 0);
    hw_clock_step(r->clock, 1);
    g_assert_cmpint(r->level, ==, 1);
    e = &g_array_index(r->edges, IrqEvent, 0);
    g_assert_cmpint(e->t, ==, 1000 + 4 * CHAR_NS_9600);
    g_assert_cmphex(in(r, 2), ==, 0xcc);
    g_assert_cmphex(in(r, 0), ==, 'a'); /* clears, re-arms the timer */
    g_assert_cmpint(r->level, ==, 0);
    g_assert_cmpint(serial_state(r->d)->fifo_timeout_timer, ==,
                    hw_clock_now(r->clock) + 4 * CHAR_NS_9600);
    /* 115200 baud 7E2: frame 1+7+1+2 = 11 bits; QEMU's float math gives
       95486 ns (not 11 * 8680), as measured on QEMU 7.2. */
    out(r, 3, 0x80);
    out(r, 0, 0x01);
    out(r, 1, 0x00);
    out(r, 3, 0x1e);
    g_assert_cmphex(in(r, 0), ==, 'b');
    g_assert_cmpint(serial_state(r->d)->fifo_timeout_timer, ==,
                    hw_clock_now(r->clock) + 4 * 95486);
    hw_clock_step(r->clock, 4 * 95486);
    g_assert_cmpint(r->level, ==, 1);
    g_assert_cmphex(in(r, 0), ==, 'c');
    g_assert_cmpint(r->level, ==, 0);
    g_assert_cmpint(serial_state(r->d)->fifo_timeout_timer, ==, -1);
    rig_free(r);
}

/* ---- transmit into a sink that would block ---- */

static void test_xmit_block_fifo(void)
{
    Rig *r = rig_new();

    out(r, 2, 0x07);
    out(r, 1, UART_IER_THRI);
    in(r, 2);
    r->be.blocked = true;
    out(r, 0, '1');
    out(r, 0, '2');
    out(r, 0, '3');
    /* '1' is in the TSR waiting; '2' '3' in the FIFO. */
    g_assert_cmphex(in(r, 5), ==, 0x00);
    g_assert_cmpuint(serial_state(r->d)->tsr_retry, ==, 1);
    g_assert_cmpuint(serial_state(r->d)->xmit_fifo.num, ==, 2);
    fake_fire(&r->be); /* still blocked: retry 2 */
    g_assert_cmpuint(serial_state(r->d)->tsr_retry, ==, 2);
    g_assert_cmpint(r->level, ==, 0);
    r->be.blocked = false;
    fake_fire(&r->be);
    g_assert_cmpuint(r->be.out->len, ==, 3);
    g_assert_cmpmem(r->be.out->data, 3, "123", 3);
    g_assert_cmphex(in(r, 5), ==, 0x60);
    g_assert_cmpint(r->level, ==, 1);
    g_assert_cmphex(in(r, 2), ==, 0xc2);
    g_assert_false(r->be.watch);
    rig_free(r);
}

static void test_xmit_block_nofifo(void)
{
    Rig *r = rig_new();

    r->be.blocked = true;
    out(r, 0, 'a');
    /* THR moved to the TSR: THRE set, TEMT clear (QEMU). */
    g_assert_cmphex(in(r, 5), ==, 0x20);
    out(r, 0, 'b'); /* waits in THR */
    g_assert_cmphex(in(r, 5), ==, 0x00);
    r->be.blocked = false;
    fake_fire(&r->be);
    g_assert_cmpmem(r->be.out->data, r->be.out->len, "ab", 2);
    g_assert_cmphex(in(r, 5), ==, 0x60);
    rig_free(r);
}

static void test_xmit_retry_limit(void)
{
    Rig *r = rig_new();

    r->be.blocked = true;
    out(r, 0, 'a');
    for (int i = 1; i < SERIAL_MAX_XMIT_RETRY; i++) {
        fake_fire(&r->be);
    }
    g_assert_cmpuint(serial_state(r->d)->tsr_retry, ==, SERIAL_MAX_XMIT_RETRY);
    fake_fire(&r->be); /* gives up: byte dropped */
    g_assert_false(r->be.watch);
    g_assert_cmpuint(serial_state(r->d)->tsr_retry, ==, 0);
    g_assert_cmphex(in(r, 5), ==, 0x60);
    g_assert_cmpuint(r->be.out->len, ==, 0);
    rig_free(r);
}

static void test_reset_cancels_retry(void)
{
    Rig *r = rig_new();

    out(r, 2, 0x01);
    r->be.blocked = true;
    out(r, 0, 'a');
    g_assert_true(r->be.watch);
    serial_reset(r->d);
    g_assert_false(r->be.watch);
    g_assert_cmphex(in(r, 5), ==, 0x60);
    /* QEMU's reset leaves FCR alone: FIFO mode stays, IIR shows none. */
    g_assert_cmphex(in(r, 2), ==, 0x01);
    g_assert_cmphex(serial_state(r->d)->fcr, ==, 0x01);
    rig_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/serial/reset-values", test_reset_values);
    g_test_add_func("/serial/dlab-scr-lcr", test_dlab_scr_lcr);
    g_test_add_func("/serial/thre-rules", test_thre_rules);
    g_test_add_func("/serial/loopback", test_loopback);
    g_test_add_func("/serial/overrun-rls", test_overrun_rls);
    g_test_add_func("/serial/break", test_break);
    g_test_add_func("/serial/fifo-trigger-levels", test_fifo_trigger_levels);
    g_test_add_func("/serial/fifo-overrun-clear", test_fifo_overrun_and_clear);
    g_test_add_func("/serial/char-timeout", test_char_timeout);
    g_test_add_func("/serial/xmit-block-fifo", test_xmit_block_fifo);
    g_test_add_func("/serial/xmit-block-nofifo", test_xmit_block_nofifo);
    g_test_add_func("/serial/xmit-retry-limit", test_xmit_retry_limit);
    g_test_add_func("/serial/reset-cancels-retry", test_reset_cancels_retry);
    return g_test_run();
}
