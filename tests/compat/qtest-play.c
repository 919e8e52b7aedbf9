/*
 * qtest-play: the daemon's machine in one process, for the compat tests
 * while (or where) the daemon cannot run. Builds the machine from QEMU-style
 * options with the daemon's own parser (-machine pc -accel qtest
 * -nodefaults come first), optionally loads a device-state file, plays a
 * qtest sequence and prints the transcript ("> cmd" then its lines, as
 * lsharness.Machine.play), saves to OUT, then plays the read-back sequence
 * after a "=== readback" line.
 *
 * Usage: qtest-play [--load FILE --clock NS] SEQ OUT READBACK [OPTIONS...]
 * Exit status 0, or 1 with a message on stderr.
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "dm/machine.h"
#include "dm/options.h"
#include "dm/qtest.h"

static bool play_file(DmQtest *q, const char *path)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        fprintf(stderr, "qtest-play: cannot read %s\n", path);
        return false;
    }
    lines = g_strsplit(text, "\n", 0);
    for (int i = 0; lines[i]; i++) {
        char *l = g_strstrip(lines[i]);
        g_autoptr(GString) reply = g_string_new(NULL);
        if (!*l || l[0] == '#') {
            continue;
        }
        dm_qtest_process_line(q, l, reply);
        printf("> %s\n%s", l, reply->str);
    }
    return true;
}

static bool load_file(DmMachine *m, const char *path, GError **errp)
{
    g_autofree char *buf = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &buf, &len, errp)) {
        return false;
    }
    dm_machine_set_running(m, false);
    if (!dm_machine_load(m, (const uint8_t *)buf, len, errp)) {
        return false;
    }
    dm_machine_set_running(m, true);
    return true;
}

static bool save_file(DmMachine *m, const char *path, GError **errp)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    bool ok;

    dm_machine_set_running(m, false);
    ok = dm_machine_save(m, "running", out, errp) &&
         g_file_set_contents(path, (const char *)out->data, out->len, errp);
    dm_machine_set_running(m, true);
    return ok;
}

static int run(int argc, char **argv, const char *load, GError **errp)
{
    g_autoptr(GPtrArray) av = g_ptr_array_new();
    DmOptions opts;
    DmMachine *m;
    DmQtest *q;
    bool ok;
    const char *pre[] = {"qtest-play", "-machine", "pc",
                         "-accel",     "qtest",    "-nodefaults"};

    for (unsigned i = 0; i < G_N_ELEMENTS(pre); i++) {
        g_ptr_array_add(av, (char *)pre[i]);
    }
    for (int i = 3; i < argc; i++) {
        g_ptr_array_add(av, argv[i]);
    }
    if (!dm_options_parse(&opts, (int)av->len, (char **)av->pdata, errp)) {
        return 1;
    }
    m = dm_machine_new(&opts, errp);
    dm_options_clear(&opts);
    if (!m) {
        return 1;
    }
    dm_machine_set_running(m, true);
    q = dm_qtest_new(m);
    ok = (!load || load_file(m, load, errp)) && play_file(q, argv[0]) &&
         save_file(m, argv[1], errp);
    if (ok) {
        printf("=== readback\n");
        ok = play_file(q, argv[2]);
    }
    dm_qtest_free(q);
    dm_machine_free(m);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *load = NULL;
    GError *err = NULL;
    int rc;

    argc--, argv++;
    if (argc >= 2 && !strcmp(argv[0], "--load")) {
        load = argv[1];
        argc -= 2, argv += 2;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: qtest-play [--load FILE] SEQ OUT READBACK "
                        "[OPTIONS...]\n");
        return 1;
    }
    rc = run(argc, argv, load, &err);
    if (rc && err) {
        fprintf(stderr, "qtest-play: %s\n", err->message);
    }
    g_clear_error(&err);
    return rc;
}
