/*
 * Character backends for -serial SPEC, QEMU's spelling:
 *   null | stdio | file:PATH | pty |
 *   unix:PATH[,server=on|off][,wait=on|off]   (also ,server ,nowait)
 * A backend is the byte sink a UART transmits into (HwCharOps, so hw/
 * never sees a socket) and the source of its input, delivered through
 * front-end callbacks under the front end's flow control (can_receive is
 * asked before every read, as QEMU's chardev layer does).
 *
 * Nothing blocks the GLib loop: fds are non-blocking; a sink that cannot
 * take a byte answers "would block" and wakes the UART through a write
 * watch when it can (the UART keeps THR/TSR and retries, per QEMU).
 * Bytes written while nothing is connected (server socket without client,
 * pty without reader, client whose peer left) are dropped, as QEMU.
 * A unix server goes back to listening when its client leaves; a unix
 * client does not reconnect. pty prints QEMU's "char device redirected to
 * /dev/pts/N (label LABEL)" on stderr. Break and modem lines are not
 * passed to any backend (QEMU's pty/socket/file cannot either).
 *
 * Sources live in the thread-default main context at creation time.
 */
#ifndef LS_DM_CHARDEV_H
#define LS_DM_CHARDEV_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/serial.h"

#define DM_CHARDEV_READ_MAX 256 /* bytes read from an fd at a time */

typedef struct DmCharBackend DmCharBackend;

typedef int (*DmCharCanReceive)(void *opaque);
typedef void (*DmCharReceive)(void *opaque, const uint8_t *buf, int len);

/*
 * Opens the backend for SPEC. `label` names it in messages (QEMU's
 * "serial0"). unix server with wait=on blocks until one client connects,
 * as QEMU. Errors read as QEMU's: "'foo' is not a valid char driver",
 * "Could not open 'PATH': REASON", "Failed to connect to 'PATH': REASON",
 * "Invalid parameter 'KEY'".
 */
DmCharBackend *dm_chardev_new(const char *spec, const char *label,
                              GError **errp);
/* Input goes to the front end from now on (NULLs: input is not read). */
void dm_chardev_connect(DmCharBackend *be, DmCharCanReceive can_receive,
                        DmCharReceive receive, void *opaque);
/* Shorthand for a UART front end. */
void dm_chardev_connect_serial(DmCharBackend *be, SerialDevice *d);
/* The sink side, for serial_new(clock, irq, iobase, ops, be). */
const HwCharOps *dm_chardev_ops(DmCharBackend *be);
/* The pty's slave path (NULL for other kinds). */
const char *dm_chardev_pty_path(DmCharBackend *be);
/* True while a peer is connected (sockets, pty); always true otherwise. */
bool dm_chardev_connected(DmCharBackend *be);
/* Closes fds, removes sources, unlinks a server's socket path. */
void dm_chardev_free(DmCharBackend *be);

#endif
