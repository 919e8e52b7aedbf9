/*
 * Fuzz target for the HMP line parser (src/dm/hmp.c), reached as a client
 * reaches it: `human-monitor-command` through the QMP dispatcher, against
 * a daemon's command table and run state on a pc machine and on a none
 * machine. The input is read up to its first NUL byte (a QMP string holds
 * none); each of its lines (up to FUZZ_HMP_MAX_LINES) is one
 * command-line, passed as it is (invalid UTF-8 too); line i
 * carries no cpu-index, cpu-index 0 or cpu-index i, in turn. Checked:
 * every reply is a string, except the error for a cpu-index other than 0
 * (any cpu-index on the none machine), as QEMU answers; no line of the
 * output ends in a bare "\n" (QEMU ends them in "\r\n"). A crash,
 * an abort or a sanitizer report is the failure.
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/daemon.h"

#define FUZZ_HMP_MAX_LINES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_hmp_emit(void *opaque, const char *event, json_t *data)
{
    json_decref(data);
}

/* The only error HMP answers is a bad cpu-index; every command-line,
   even one no command matches, gets its text. */
static void fuzz_hmp_check(json_t *rsp, bool cpu_ok)
{
    json_t *ret = json_object_get(rsp, "return");
    const char *s = json_string_value(ret);

    if (!ret && json_object_get(rsp, "error") && !cpu_ok) {
        return;
    }
    if (!s) {
        fprintf(stderr, "fuzz-hmp: not a string: %s\n",
                json_dumps(rsp, JSON_ENCODE_ANY));
        abort();
    }
    for (const char *nl = strchr(s, '\n'); nl; nl = strchr(nl + 1, '\n')) {
        if (nl == s || nl[-1] != '\r') {
            fprintf(stderr, "fuzz-hmp: a line ends in a bare \\n\n");
            abort();
        }
    }
}

static void fuzz_hmp_line(DmDaemon *d, const char *line, guint i)
{
    json_t *args =
        json_pack("{s:o}", "command-line", json_string_nocheck(line));
    json_t *req;
    json_t *rsp;

    bool cpu_ok = i % 3 == 0 || (i % 3 == 1 && d->machine->pc);

    if (i % 3 == 1) {
        json_object_set_new(args, "cpu-index", json_integer(0));
    } else if (i % 3 == 2) {
        json_object_set_new(args, "cpu-index", json_integer(i));
    }
    req = json_pack("{s:s, s:o}", "execute", "human-monitor-command",
                    "arguments", args);
    rsp = qmp_dispatch(d->cmds, NULL, req);
    fuzz_hmp_check(rsp, cpu_ok);
    json_decref(rsp);
    json_decref(req);
}

static void fuzz_hmp_run(DmMachineKind kind, char **lines)
{
    DmOptions opts;
    DmDaemon d;

    memset(&opts, 0, sizeof(opts));
    memset(&d, 0, sizeof(d));
    opts.machine = kind;
    opts.name = (char *)"fuzz";
    opts.section_footers = true;
    opts.accel_qtest = true;
    opts.rtc_base = (char *)"2020-01-01T00:00:00";
    opts.rtc_clock = (char *)"vm";
    d.opts = &opts;
    d.machine = dm_machine_new(&opts, NULL);
    if (!d.machine) {
        abort();
    }
    dm_runstate_init(&d.rs, d.machine, false, fuzz_hmp_emit, &d);
    d.cmds = qmp_commands_new();
    dm_hmp_register(&d);
    for (guint i = 0; lines[i]; i++) {
        fuzz_hmp_line(&d, lines[i], i);
    }
    qmp_commands_free(d.cmds);
    dm_machine_free(d.machine);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *text = g_malloc(size + 1);
    g_auto(GStrv) lines = NULL;

    memcpy(text, data, size);
    text[size] = '\0';
    lines = g_strsplit(text, "\n", FUZZ_HMP_MAX_LINES);
    fuzz_hmp_run(DM_MACHINE_PC, lines);
    fuzz_hmp_run(DM_MACHINE_NONE, lines);
    return 0;
}
