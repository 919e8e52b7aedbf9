/*
 * A coordinator side's view of its device model: standard QMP commands
 * only (stop, cont, query-status, add-fd, remove-fd,
 * xen-save-devices-state, xen-load-devices-state), so it drives QEMU 7.2
 * as well as lockstep-dm. Every exchange is synchronous and bounded by
 * the timeout given at connect.
 *
 * Device state travels through one memfd owned here, passed once with
 * add-fd as two descriptions of it in one fd set: a write-only one for
 * saves and a read-only one for loads (QEMU picks the fd whose access mode
 * matches the open; lockstep-dm does the same), so every checkpoint costs
 * one QMP command for the state, not three.
 *
 * Guest RAM (lockstep-dm with -m; docs/ram-format.md) goes the same way
 * through a second memfd and fd set, set up at connect when
 * `x-lockstep-query-ram` answers. A dm without it (QEMU 7.2, or
 * lockstep-dm without -m) has ram size 0 and its RAM is not carried.
 */
#ifndef LS_COLO_DM_H
#define LS_COLO_DM_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ColoDm ColoDm;

/* Connects to ADDR ("unix:PATH" or "tcp:HOST:PORT"; the fd set needs a
   unix socket) and sets the fd set up. NULL + *errp on failure. */
ColoDm *colo_dm_connect(const char *addr, int timeout_ms, GError **errp);
/* Removes the fd set if the dm is still there, and disconnects. */
void colo_dm_free(ColoDm *dm);

/* False once the QMP connection failed (timeout, I/O): the dm is lost. */
bool colo_dm_usable(const ColoDm *dm);

bool colo_dm_stop(ColoDm *dm, GError **errp);
bool colo_dm_cont(ColoDm *dm, GError **errp);
/* The run state ("running", "paused", ...); newly allocated. */
char *colo_dm_status(ColoDm *dm, GError **errp);

/*
 * Saves the device state (the dm should be stopped) and returns its bytes
 * (at most `max_len`; more is an error).
 */
GBytes *colo_dm_save(ColoDm *dm, size_t max_len, GError **errp);

/* Loads `len` bytes of device state (the dm must be stopped). The dm
   loads all or nothing. */
bool colo_dm_load(ColoDm *dm, const uint8_t *state, size_t len, GError **errp);

/* The dm's guest RAM in bytes, as found at connect; 0: none. */
uint64_t colo_dm_ram_size(const ColoDm *dm);

/* xen-set-global-dirty-log {enable}. */
bool colo_dm_set_dirty_log(ColoDm *dm, bool enable, GError **errp);

/*
 * x-lockstep-save-ram into the RAM memfd: all of RAM, or (dirty) the pages
 * in the dirty log, which the dm then clears. Returns the stream (at most
 * `max_len` bytes) and the number of page records in *pages.
 */
GBytes *colo_dm_save_ram(ColoDm *dm, bool dirty, size_t max_len,
                         uint64_t *pages, GError **errp);

/* x-lockstep-load-checkpoint: device state and RAM stream, applied by the
   dm together or not at all (the dm must be stopped). */
bool colo_dm_load_checkpoint(ColoDm *dm, const uint8_t *state, size_t len,
                             const uint8_t *ram, size_t ram_len, GError **errp);

/* Discards events the dm sent (STOP, RESUME, ...), so they do not pile up. */
void colo_dm_drop_events(ColoDm *dm);

#endif
