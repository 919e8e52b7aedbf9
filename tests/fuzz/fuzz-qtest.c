/*
 * Fuzz target for the qtest protocol parser: every input is a series of
 * protocol lines played by dm_qtest_process_line against a full pc machine
 * (all devices, stepped clock, running, IRQ intercept possible). Clock
 * moves are capped at 10 ms per line so a short periodic timer cannot turn
 * one input into hours of timer callbacks. A crash, an assert or a
 * sanitizer report is the failure; replies are not checked here.
 */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "dm/machine.h"
#include "dm/qtest.h"

#define FUZZ_QTEST_MAX_STEP_NS 10000000
#define FUZZ_QTEST_MAX_LINES   512

static DmMachine *fuzz_qtest_machine(void)
{
    DmOptions opts;

    memset(&opts, 0, sizeof(opts));
    opts.machine = DM_MACHINE_PC;
    opts.section_footers = true;
    opts.accel_qtest = true;
    opts.rtc_base = (char *)"2020-01-01T00:00:00";
    opts.rtc_clock = (char *)"vm";
    return dm_machine_new(&opts, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    DmMachine *m = fuzz_qtest_machine();
    g_autofree char *text = g_strndup((const char *)data, size);
    g_auto(GStrv) lines = NULL;
    DmQtest *q;

    if (!m) {
        return 0;
    }
    dm_machine_set_running(m, true);
    q = dm_qtest_new(m);
    dm_qtest_set_max_step(q, FUZZ_QTEST_MAX_STEP_NS);
    lines = g_strsplit(text, "\n", FUZZ_QTEST_MAX_LINES);
    for (int i = 0; lines[i]; i++) {
        g_autoptr(GString) reply = g_string_new(NULL);
        dm_qtest_process_line(q, lines[i], reply);
    }
    dm_qtest_free(q);
    dm_machine_free(m);
    return 0;
}
