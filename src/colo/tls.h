/*
 * The COLO link's transport: plain TCP, or TLS through GnuTLS with x509
 * certificates (QEMU's tls-creds-x509 directory layout) or a pre-shared
 * key (QEMU's tls-creds-psk keys.psk format). conn.c reads and writes
 * frames through a ColoTransport and never sees which one it is.
 * docs/security.md says what each mode protects.
 *
 * Everything is non-blocking: the handshake advances one step per call,
 * driven by the caller's main loop (colo_transport_wants_write says which
 * way to wait), so a peer that stalls mid-handshake holds up nothing and
 * is timed out by the caller.
 */
#ifndef LS_COLO_TLS_H
#define LS_COLO_TLS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* TLS 1.3 only, GnuTLS's NORMAL cipher suites. The PSK string allows
   only the (EC)DHE key exchanges: a leaked key does not open recorded
   sessions (forward secrecy). */
#define COLO_TLS_PRIORITY     "NORMAL:-VERS-ALL:+VERS-TLS1.3"
#define COLO_TLS_PRIORITY_PSK COLO_TLS_PRIORITY ":+ECDHE-PSK:+DHE-PSK"

/* Caps on the credential files we parse ourselves. */
#define COLO_TLS_MAX_PSK_FILE (64u * 1024) /* keys.psk */
#define COLO_TLS_MAX_PSK_KEY  512u         /* bytes of one key (hex / 2) */
#define COLO_TLS_MAX_PSK_USER 255u         /* bytes of one username */
#define COLO_TLS_MIN_PSK_KEY  16u          /* 128 bits */

/* The PSK username the primary uses without --tls-username (QEMU's). */
#define COLO_TLS_DEFAULT_PSK_USER "qemu"

typedef struct ColoTlsCreds ColoTlsCreds;

/*
 * x509: `dir` holds ca-cert.pem and, on the server (the listening
 * secondary), server-cert.pem + server-key.pem, on the client (the
 * primary) client-cert.pem + client-key.pem. Both sides verify the peer's
 * certificate against ca-cert.pem; the client also checks that the
 * server's certificate names `hostname` (a DNS name or an IP address, as
 * in --peer). Fails when a file is missing or unreadable, or this side's
 * own certificate is not valid now.
 */
ColoTlsCreds *colo_tls_creds_x509_new(const char *dir, bool server,
                                      const char *hostname, GError **errp);
/*
 * PSK: `file` holds lines "username:hexkey". The server accepts any of
 * its users; the client uses the key of `username` (NULL: "qemu").
 * Fails on a malformed line, a key out of its bounds, or (client) a
 * username not in the file.
 */
ColoTlsCreds *colo_tls_creds_psk_new(const char *file, bool server,
                                     const char *username, GError **errp);
void colo_tls_creds_free(ColoTlsCreds *cr);
/* "x509 (DIR)" or "PSK (FILE)", for the start-up log line (borrowed). */
const char *colo_tls_creds_describe(const ColoTlsCreds *cr);

typedef struct ColoTransport ColoTransport;

/* Returned by read and write besides a byte count. */
#define COLO_IO_AGAIN (-1) /* would block: wait for the fd */
#define COLO_IO_ERROR (-2) /* failed: errp says why; the link is done */

/* Over connected socket `fd` (borrowed, non-blocking): plain when `cr` is
   NULL, else TLS as `cr` says. */
ColoTransport *colo_transport_new(int fd, const ColoTlsCreds *cr,
                                  GError **errp);
/* Does not close the fd. NULL is fine. */
void colo_transport_free(ColoTransport *t);

/* One handshake step: 1 done (frames may flow), 0 in progress (wait as
   colo_transport_wants_write says), -1 refused (errp says why, naming
   the cause where it can: unknown CA, expired certificate, wrong name,
   different keys, a peer without TLS). Plain: 1 at once. */
int colo_transport_handshake(ColoTransport *t, GError **errp);
bool colo_transport_up(const ColoTransport *t);
bool colo_transport_wants_write(const ColoTransport *t);

/* As recv/send on a non-blocking socket: a byte count, 0 at EOF (read),
   or COLO_IO_AGAIN / COLO_IO_ERROR. Only once up. A write that returned
   COLO_IO_AGAIN must be repeated with the same bytes. */
ssize_t colo_transport_read(ColoTransport *t, void *buf, size_t len,
                            GError **errp);
ssize_t colo_transport_write(ColoTransport *t, const void *buf, size_t len,
                             GError **errp);
/* Starts a clean close (a TLS close_notify) without blocking. */
void colo_transport_bye(ColoTransport *t);

/* Raw bytes received so far (handshake included): the caller's proof of
   life from a peer during the handshake. */
uint64_t colo_transport_rx_bytes(const ColoTransport *t);
/* When the peer's first bytes show it speaks the other mode (TLS to a
   plain side, plaintext COLO to a TLS side), a sentence saying so, else
   "" (static). */
const char *colo_transport_mismatch(const ColoTransport *t);

#endif
