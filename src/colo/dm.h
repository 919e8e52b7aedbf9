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

/* Discards events the dm sent (STOP, RESUME, ...), so they do not pile up. */
void colo_dm_drop_events(ColoDm *dm);

#endif
