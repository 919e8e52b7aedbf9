/*
 * A fuzzing seam: the coordinator's view of its dm (colo/dm.h) without a
 * dm process, so the fuzz targets of the coordinator sides run the real
 * primary.c and secondary.c state machines in process, quickly and
 * without QMP. Linked before colo_lib, this file defines every symbol of
 * colo/dm.c, so the linker never takes dm.c out of the archive (a
 * function added to dm.h and used by the sides must be added here too, or
 * the link fails on duplicate symbols).
 *
 * The fake dm is always there and answers at once, and has
 * FUZZ_FAKE_DM_RAM bytes of guest RAM, so checkpoints carry RAM. A save
 * (devices or RAM) returns a few bytes that name the save. A load (with or
 * without RAM) takes anything, except that a state starting with one of
 * these words makes it answer as a real dm could, so the fuzzer reaches
 * the sides' failure paths:
 *   "REFUSE"   the load fails (an error reply; the dm is still usable)
 *   "LOST"     the load fails and the dm is gone from then on
 *   "STOPFAIL" the load succeeds, the next stop fails (error reply)
 *   "CONTFAIL" the load succeeds, the next cont fails (error reply)
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "colo/dm.h"

#define FUZZ_FAKE_DM_RAM (64 * 1024)

struct ColoDm {
    bool usable;
    bool running;
    bool fail_stop, fail_cont;
    unsigned saves;
};

ColoDm *colo_dm_connect(const char *addr, int timeout_ms, GError **errp)
{
    ColoDm *dm = g_new0(ColoDm, 1);

    dm->usable = true;
    dm->running = true;
    return dm;
}

void colo_dm_free(ColoDm *dm)
{
    g_free(dm);
}

bool colo_dm_usable(const ColoDm *dm)
{
    return dm->usable;
}

static bool colo_dm_fake_cmd(ColoDm *dm, bool *fail, const char *cmd,
                             GError **errp)
{
    if (!dm->usable) {
        ls_error_set(errp, "%s: the fake dm is gone", cmd);
        return false;
    }
    if (*fail) {
        *fail = false;
        ls_error_set(errp, "%s: the fake dm refused", cmd);
        return false;
    }
    return true;
}

bool colo_dm_stop(ColoDm *dm, GError **errp)
{
    if (!colo_dm_fake_cmd(dm, &dm->fail_stop, "stop", errp)) {
        return false;
    }
    dm->running = false;
    return true;
}

bool colo_dm_cont(ColoDm *dm, GError **errp)
{
    if (!colo_dm_fake_cmd(dm, &dm->fail_cont, "cont", errp)) {
        return false;
    }
    dm->running = true;
    return true;
}

char *colo_dm_status(ColoDm *dm, GError **errp)
{
    bool no = false;

    if (!colo_dm_fake_cmd(dm, &no, "query-status", errp)) {
        return NULL;
    }
    return g_strdup(dm->running ? "running" : "paused");
}

GBytes *colo_dm_save(ColoDm *dm, size_t max_len, GError **errp)
{
    bool no = false;
    char *text;

    if (!colo_dm_fake_cmd(dm, &no, "xen-save-devices-state", errp)) {
        return NULL;
    }
    text = g_strdup_printf("fake state %u", ++dm->saves);
    return g_bytes_new_take(text, strlen(text));
}

static bool colo_dm_fake_word(const uint8_t *state, size_t len,
                              const char *word)
{
    return len >= strlen(word) && !memcmp(state, word, strlen(word));
}

bool colo_dm_load(ColoDm *dm, const uint8_t *state, size_t len, GError **errp)
{
    bool no = false;

    if (!colo_dm_fake_cmd(dm, &no, "xen-load-devices-state", errp)) {
        return false;
    }
    if (colo_dm_fake_word(state, len, "LOST")) {
        dm->usable = false;
    }
    if (colo_dm_fake_word(state, len, "REFUSE") || !dm->usable) {
        ls_error_set(errp, "xen-load-devices-state: the fake dm refused");
        return false;
    }
    dm->fail_stop = colo_dm_fake_word(state, len, "STOPFAIL");
    dm->fail_cont = colo_dm_fake_word(state, len, "CONTFAIL");
    return true;
}

uint64_t colo_dm_ram_size(const ColoDm *dm)
{
    return FUZZ_FAKE_DM_RAM;
}

bool colo_dm_set_dirty_log(ColoDm *dm, bool enable, GError **errp)
{
    bool no = false;

    return colo_dm_fake_cmd(dm, &no, "xen-set-global-dirty-log", errp);
}

GBytes *colo_dm_save_ram(ColoDm *dm, bool dirty, size_t max_len,
                         uint64_t *pages, GError **errp)
{
    bool no = false;
    char *text;

    if (!colo_dm_fake_cmd(dm, &no, "x-lockstep-save-ram", errp)) {
        return NULL;
    }
    text = g_strdup_printf("fake %s RAM %u", dirty ? "dirty" : "full",
                           ++dm->saves);
    *pages = 1;
    return g_bytes_new_take(text, strlen(text));
}

bool colo_dm_load_checkpoint(ColoDm *dm, const uint8_t *state, size_t len,
                             const uint8_t *ram, size_t ram_len, GError **errp)
{
    return colo_dm_load(dm, state, len, errp);
}

void colo_dm_drop_events(ColoDm *dm)
{
}
