/*
 * Replays a libFuzzer target over files and directories named on the
 * command line (the committed corpus), so `make check` runs every corpus
 * entry through the target under the normal (or the sanitizer) build.
 * Exit status 0 when every input ran; a crash is the failure.
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static unsigned replay_path(const char *path)
{
    unsigned n = 0;

    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
        const char *name;
        while (dir && (name = g_dir_read_name(dir))) {
            g_autofree char *sub = g_build_filename(path, name, NULL);
            n += replay_path(sub);
        }
        return n;
    }
    g_autofree char *buf = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &buf, &len, NULL)) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        return 0;
    }
    /* Exact-size heap copy so ASan sees reads past the end. */
    uint8_t *copy = g_memdup2(buf, len ? len : 1);
    LLVMFuzzerTestOneInput(copy, len);
    g_free(copy);
    return 1;
}

int main(int argc, char **argv)
{
    unsigned n = 0;

    if (LLVMFuzzerInitialize) {
        LLVMFuzzerInitialize(&argc, &argv);
    }
    for (int i = 1; i < argc; i++) {
        n += replay_path(argv[i]);
    }
    printf("replayed %u inputs\n", n);
    return n > 0 ? 0 : 1;
}
