/*
 * stream-errors FILE|DIR...: loads every file into a fresh pc machine (as
 * the stream targets do: footers on, unknown sections rejected) and
 * prints one line per file: "ok" or the load's error message. Used to
 * compare what the stream and stream-struct corpora reach
 * (docs/fuzzing.md); not a test.
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "dm/machine.h"

static void stream_errors_one(const char *path)
{
    g_autofree char *buf = NULL;
    g_autoptr(GError) err = NULL;
    DmOptions opts;
    DmMachine *m;
    gsize len;

    if (!g_file_get_contents(path, &buf, &len, NULL)) {
        return;
    }
    memset(&opts, 0, sizeof(opts));
    opts.machine = DM_MACHINE_PC;
    opts.section_footers = true;
    opts.accel_qtest = true;
    opts.rtc_base = (char *)"2020-01-01T00:00:00";
    opts.rtc_clock = (char *)"vm";
    m = dm_machine_new(&opts, NULL);
    if (dm_machine_load(m, (const uint8_t *)buf, len, &err)) {
        printf("ok\n");
    } else {
        printf("%s\n", err->message);
    }
    dm_machine_free(m);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
            g_autoptr(GDir) dir = g_dir_open(argv[i], 0, NULL);
            const char *name;
            while (dir && (name = g_dir_read_name(dir))) {
                g_autofree char *p = g_build_filename(argv[i], name, NULL);
                stream_errors_one(p);
            }
        } else {
            stream_errors_one(argv[i]);
        }
    }
    return 0;
}
