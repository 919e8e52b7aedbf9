/*
 * Whole-machine snapshot round trip in one process: machine A (every pc
 * device, stepped clock) is driven through qtest into mid-operation
 * (tests/compat/snapshot-busy.qtest), saved with dm_machine_save, loaded
 * into a fresh machine B with dm_machine_load; then both play
 * snapshot-further.qtest and must give identical transcripts (replies and
 * IRQ lines) and identical re-saves. Also: a corrupted stream fails to
 * load and leaves B exactly as it was. tests/dm/test_snapshot.py does the
 * same through the daemon's sockets.
 */
#include <glib.h>
#include <string.h>

#include "dm/machine.h"
#include "dm/qtest.h"

typedef struct Side {
    DmMachine *m;
    DmQtest *q;
} Side;

static void side_init(Side *s)
{
    DmOptions opts;
    GError *err = NULL;
    static char *serial[] = {"null", "null"};

    memset(&opts, 0, sizeof(opts));
    opts.machine = DM_MACHINE_PC;
    opts.section_footers = true;
    opts.accel_qtest = true;
    opts.nodefaults = true;
    opts.rtc_base = (char *)"2021-06-01T12:00:00";
    opts.rtc_clock = (char *)"vm";
    opts.serial[0] = serial[0];
    opts.serial[1] = serial[1];
    opts.nserial = 2;
    s->m = dm_machine_new(&opts, &err);
    g_assert_no_error(err);
    dm_machine_set_running(s->m, true);
    s->q = dm_qtest_new(s->m);
}

static void side_free(Side *s)
{
    dm_qtest_free(s->q);
    dm_machine_free(s->m);
}

/* Plays a sequence file; returns the transcript as in lsharness.py. */
static char *play(Side *s, const char *name)
{
    g_autofree char *path = g_test_build_filename(G_TEST_DIST, name, NULL);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    GString *out = g_string_new(NULL);

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    lines = g_strsplit(text, "\n", 0);
    for (int i = 0; lines[i]; i++) {
        char *l = g_strstrip(lines[i]);
        if (!*l || l[0] == '#') {
            continue;
        }
        g_string_append_printf(out, "> %s\n", l);
        dm_qtest_process_line(s->q, l, out);
    }
    return g_string_free(out, FALSE);
}

static GByteArray *save(Side *s)
{
    GByteArray *buf = g_byte_array_new();
    GError *err = NULL;

    dm_machine_set_running(s->m, false);
    g_assert_true(dm_machine_save(s->m, "running", buf, &err));
    g_assert_no_error(err);
    dm_machine_set_running(s->m, true);
    return buf;
}

static void cmd(Side *s, const char *line, GString *out)
{
    dm_qtest_process_line(s->q, line, out);
}

static void test_round_trip(void)
{
    Side a, b;
    g_autoptr(GByteArray) snap = NULL;
    g_autoptr(GByteArray) sa = NULL;
    g_autoptr(GByteArray) sb = NULL;
    g_autofree char *ta = NULL;
    g_autofree char *tb = NULL;
    GError *err = NULL;

    side_init(&a);
    side_init(&b);
    g_free(play(&a, "snapshot-busy.qtest")); /* transcript not compared */
    snap = save(&a);
    dm_machine_set_running(b.m, false);
    g_assert_true(dm_machine_load(b.m, snap->data, snap->len, &err));
    g_assert_no_error(err);
    dm_machine_set_running(b.m, true);
    g_assert_cmpint(hw_clock_now(a.m->clock), ==, hw_clock_now(b.m->clock));
    ta = play(&a, "snapshot-further.qtest");
    tb = play(&b, "snapshot-further.qtest");
    g_assert_cmpstr(ta, ==, tb);
    sa = save(&a);
    sb = save(&b);
    g_assert_cmpmem(sa->data, sa->len, sb->data, sb->len);
    side_free(&a);
    side_free(&b);
}

static void test_bad_stream_leaves_state(void)
{
    Side a, b;
    g_autoptr(GByteArray) snap = NULL;
    g_autoptr(GByteArray) before = NULL;
    g_autoptr(GByteArray) after = NULL;
    GError *err = NULL;

    side_init(&a);
    side_init(&b);
    g_free(play(&a, "snapshot-busy.qtest")); /* transcript not compared */
    snap = save(&a);
    before = save(&b);
    /* Cut the stream short in its last section: nothing may change. */
    g_assert_false(dm_machine_load(b.m, snap->data, snap->len - 20, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    after = save(&b);
    g_assert_cmpmem(before->data, before->len, after->data, after->len);
    side_free(&a);
    side_free(&b);
}

/*
 * Known divergence, reported rather than hidden: a UART whose LCR was never
 * written times out (character timeout interrupt) at 10-bit character
 * times, as QEMU's reset sets; a machine that loaded its state derives
 * 7-bit times from LCR=0 (QEMU's post_load does the same), so the
 * interrupt comes earlier on the loaded side.
 */
static void test_uart_default_lcr(void)
{
    static const char *const busy[] = {
        "outb 0x3fa 0xc1", "outb 0x3fc 0x10",
        "outb 0x3f9 0x01", "outb 0x3f8 0x41",
        "outb 0x3f8 0x42", "outb 0x3f8 0x43",
        "inb 0x3f8",       NULL,
    };
    Side a, b;
    g_autoptr(GString) ta = g_string_new(NULL);
    g_autoptr(GString) tb = g_string_new(NULL);
    g_autoptr(GByteArray) snap = NULL;

    side_init(&a);
    side_init(&b);
    for (int i = 0; busy[i]; i++) {
        cmd(&a, busy[i], ta);
    }
    snap = save(&a);
    dm_machine_set_running(b.m, false);
    g_assert_true(dm_machine_load(b.m, snap->data, snap->len, NULL));
    dm_machine_set_running(b.m, true);
    g_string_truncate(ta, 0);
    for (int i = 0; i < 2; i++) {
        Side *s = i ? &b : &a;
        GString *t = i ? tb : ta;
        cmd(s, "irq_intercept_in ioapic", t);
        cmd(s, "inb 0x3f8", t);
        for (int step = 0; step < 8; step++) {
            cmd(s, "clock_step 500000", t);
        }
    }
    if (g_getenv("SNAP_DEBUG")) {
        g_printerr("A:\n%s\nB:\n%s\n", ta->str, tb->str);
    }
    /* The loaded UART must time out exactly when its source does, even
       though the guest never wrote LCR (QEMU 7.2 diverges here). */
    g_assert_cmpstr(ta->str, ==, tb->str);
    side_free(&a);
    side_free(&b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/machine/snapshot/round-trip", test_round_trip);
    g_test_add_func("/machine/snapshot/bad-stream",
                    test_bad_stream_leaves_state);
    g_test_add_func("/machine/snapshot/uart-default-lcr",
                    test_uart_default_lcr);
    return g_test_run();
}
