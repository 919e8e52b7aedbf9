/*
 * The COLO link's transport (see tls.h): plain recv/send, or a GnuTLS
 * session over the same non-blocking socket. The socket I/O is ours (push
 * and pull functions), so that a failed recv keeps its errno for the
 * message, the first bytes from the peer can name a mode mismatch, and
 * bytes received during the handshake count as signs of life.
 */
#include "colo/tls-priv.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "base/error.h"
#include "colo/proto.h"

/* ---- socket I/O, both modes ---- */

static void colo_transport_sniff(ColoTransport *t, const void *buf, ssize_t n)
{
    size_t k;

    if (n <= 0) {
        return;
    }
    t->rx += (uint64_t)n;
    k = MIN((size_t)n, COLO_TLS_SNIFF - t->sniffed);
    memcpy(t->sniff + t->sniffed, buf, k);
    t->sniffed += k;
}

static ssize_t colo_transport_recv(ColoTransport *t, void *buf, size_t len)
{
    ssize_t n;

    do {
        n = recv(t->fd, buf, len, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    colo_transport_sniff(t, buf, n);
    return n;
}

static ssize_t colo_transport_send(ColoTransport *t, const void *buf,
                                   size_t len)
{
    ssize_t n;

    do {
        n = send(t->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
}

static ssize_t colo_tls_pull(gnutls_transport_ptr_t p, void *buf, size_t len)
{
    ColoTransport *t = p;
    ssize_t n = colo_transport_recv(t, buf, len);

    if (n < 0) {
        t->last_errno = errno;
        gnutls_transport_set_errno(t->s, errno);
    }
    return n;
}

static ssize_t colo_tls_push(gnutls_transport_ptr_t p, const void *buf,
                             size_t len)
{
    ColoTransport *t = p;
    ssize_t n = colo_transport_send(t, buf, len);

    if (n < 0) {
        t->last_errno = errno;
        gnutls_transport_set_errno(t->s, errno);
    }
    return n;
}

/* gnutls asks this only when it means to wait; it never does here
   (GNUTLS_NONBLOCK, no timeouts set), but a correct answer costs little. */
static int colo_tls_pull_timeout(gnutls_transport_ptr_t p, unsigned ms)
{
    ColoTransport *t = p;
    struct pollfd pfd = {.fd = t->fd, .events = POLLIN};

    return poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
}

/* ---- the session ---- */

static bool colo_tls_session_new(ColoTransport *t, GError **errp)
{
    const ColoTlsCreds *cr = t->cr;
    const char *prio = cr->psk ? COLO_TLS_PRIORITY_PSK : COLO_TLS_PRIORITY;
    int rc = gnutls_init(&t->s, (cr->server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
                                    GNUTLS_NONBLOCK);

    if (rc >= 0) {
        rc = gnutls_priority_set_direct(t->s, prio, NULL);
    }
    if (rc >= 0 && cr->psk) {
        rc = gnutls_credentials_set(t->s, GNUTLS_CRD_PSK,
                                    cr->server ? (void *)cr->psk_srv
                                               : (void *)cr->psk_cli);
    } else if (rc >= 0) {
        rc = gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, cr->x509);
    }
    if (rc < 0) {
        ls_error_set(errp, "cannot set up TLS: %s", gnutls_strerror(rc));
        return false;
    }
    if (!cr->psk && cr->server) {
        /* As QEMU's verify-peer=yes: the client must show a certificate
           from our CA. */
        gnutls_certificate_server_set_request(t->s, GNUTLS_CERT_REQUIRE);
        gnutls_session_set_verify_cert(t->s, NULL, 0);
    } else if (!cr->psk) {
        gnutls_session_set_verify_cert(t->s, cr->hostname, 0);
    }
    gnutls_session_set_ptr(t->s, t);
    gnutls_transport_set_ptr(t->s, t);
    gnutls_transport_set_push_function(t->s, colo_tls_push);
    gnutls_transport_set_pull_function(t->s, colo_tls_pull);
    gnutls_transport_set_pull_timeout_function(t->s, colo_tls_pull_timeout);
    gnutls_handshake_set_timeout(t->s, 0);
    return true;
}

ColoTransport *colo_transport_new(int fd, const ColoTlsCreds *cr, GError **errp)
{
    ColoTransport *t = g_new0(ColoTransport, 1);

    t->fd = fd;
    t->cr = cr;
    t->up = !cr;
    if (cr && !colo_tls_session_new(t, errp)) {
        colo_transport_free(t);
        return NULL;
    }
    return t;
}

void colo_transport_free(ColoTransport *t)
{
    if (!t) {
        return;
    }
    if (t->s) {
        gnutls_deinit(t->s);
    }
    g_free(t->psk_unknown);
    g_free(t);
}

/* ---- the handshake, and why it failed ---- */

const char *colo_transport_mismatch(const ColoTransport *t)
{
    const uint8_t *b = t->sniff;

    if (t->sniffed < 3) {
        return "";
    }
    /* A TLS record: content type 20..23 (handshake 22), version 3.x. */
    if (!t->cr && b[0] >= 20 && b[0] <= 23 && b[1] == 3) {
        return "the peer speaks TLS, this side runs with --insecure";
    }
    /* A COLO hello: a big-endian length under 2^26, so a zero first
       byte (never a TLS record's), then its type. gnutls reads only the
       5 bytes of a record header before it gives up. */
    if (t->cr && t->sniffed >= 5 && b[0] == 0 && b[4] == COLO_MSG_HELLO) {
        return "the peer speaks plain TCP (started with --insecure?), "
               "this side wants TLS";
    }
    return "";
}

static char *colo_tls_explain_alert(ColoTransport *t)
{
    gnutls_alert_description_t a = gnutls_alert_get(t->s);
    const char *name = gnutls_alert_get_name(a);
    const char *hint = "";

    if (t->cr->psk &&
        (a == GNUTLS_A_DECRYPT_ERROR || a == GNUTLS_A_BAD_RECORD_MAC ||
         a == GNUTLS_A_UNKNOWN_PSK_IDENTITY ||
         a == GNUTLS_A_ILLEGAL_PARAMETER)) {
        hint = ": the pre-shared keys (or usernames) differ";
    } else if (a == GNUTLS_A_UNKNOWN_CA || a == GNUTLS_A_BAD_CERTIFICATE ||
               a == GNUTLS_A_CERTIFICATE_EXPIRED ||
               a == GNUTLS_A_CERTIFICATE_UNKNOWN ||
               a == GNUTLS_A_CERTIFICATE_REQUIRED) {
        hint = ": it does not accept our certificate";
    }
    return g_strdup_printf("the peer refused us (TLS alert '%s')%s",
                           name ? name : "?", hint);
}

static char *colo_tls_explain_cert(ColoTransport *t)
{
    unsigned status = gnutls_session_get_verify_cert_status(t->s);
    gnutls_datum_t out = {NULL, 0};
    char *why;

    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509,
                                                     &out, 0) < 0) {
        return g_strdup("the peer's certificate is not trusted");
    }
    why = g_strdup_printf("the peer's certificate is refused: %s",
                          (const char *)out.data);
    gnutls_free(out.data);
    return why;
}

static char *colo_tls_explain(ColoTransport *t, int rc)
{
    const char *mismatch = colo_transport_mismatch(t);

    if (mismatch[0]) {
        return g_strdup(mismatch);
    }
    if (t->psk_unknown) {
        return g_strdup_printf("the peer's PSK username '%s' is not in our "
                               "keys file",
                               t->psk_unknown);
    }
    switch (rc) {
    case GNUTLS_E_FATAL_ALERT_RECEIVED:
        return colo_tls_explain_alert(t);
    case GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR:
        return colo_tls_explain_cert(t);
    case GNUTLS_E_NO_CERTIFICATE_FOUND:
    case GNUTLS_E_CERTIFICATE_REQUIRED:
        return g_strdup("the peer showed no certificate from our CA");
    case GNUTLS_E_PREMATURE_TERMINATION:
        return g_strdup("the peer closed the connection mid-handshake");
    case GNUTLS_E_PUSH_ERROR:
    case GNUTLS_E_PULL_ERROR:
        return g_strdup(g_strerror(t->last_errno));
    case GNUTLS_E_DECRYPTION_FAILED:
    case GNUTLS_E_RECEIVED_ILLEGAL_PARAMETER:
    case GNUTLS_E_ERROR_IN_FINISHED_PACKET:
    case GNUTLS_E_KEY_USAGE_VIOLATION:
        if (t->cr->psk) {
            return g_strdup_printf("%s: the pre-shared keys differ",
                                   gnutls_strerror(rc));
        }
        break;
    default:
        break;
    }
    return g_strdup(gnutls_strerror(rc));
}

int colo_transport_handshake(ColoTransport *t, GError **errp)
{
    g_autofree char *why = NULL;
    int rc;

    if (t->up) {
        return 1;
    }
    rc = gnutls_handshake(t->s);
    if (rc == GNUTLS_E_SUCCESS) {
        t->up = true;
        return 1;
    }
    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED ||
        !gnutls_error_is_fatal(rc)) {
        t->wants_write = gnutls_record_get_direction(t->s) == 1;
        return 0;
    }
    why = colo_tls_explain(t, rc);
    /* Tell the peer why, if the socket takes it now (never waits). */
    if (rc != GNUTLS_E_FATAL_ALERT_RECEIVED && rc != GNUTLS_E_PUSH_ERROR &&
        rc != GNUTLS_E_PULL_ERROR && rc != GNUTLS_E_PREMATURE_TERMINATION) {
        gnutls_alert_send_appropriate(t->s, rc);
    }
    ls_error_set(errp, "TLS handshake failed: %s", why);
    return -1;
}

bool colo_transport_up(const ColoTransport *t)
{
    return t->up;
}

bool colo_transport_wants_write(const ColoTransport *t)
{
    return !t->up && t->wants_write;
}

/* ---- frames ---- */

static ssize_t colo_transport_plain_result(ssize_t n, GError **errp)
{
    if (n >= 0) {
        return n;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return COLO_IO_AGAIN;
    }
    ls_error_set(errp, "%s", g_strerror(errno));
    return COLO_IO_ERROR;
}

static ssize_t colo_tls_result(ColoTransport *t, ssize_t n, GError **errp)
{
    if (n >= 0) {
        return n;
    }
    if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
        return COLO_IO_AGAIN;
    }
    if (n == GNUTLS_E_PREMATURE_TERMINATION) {
        return 0; /* a TCP close without close_notify: EOF all the same */
    }
    if (n == GNUTLS_E_PUSH_ERROR || n == GNUTLS_E_PULL_ERROR) {
        ls_error_set(errp, "%s", g_strerror(t->last_errno));
    } else if (n == GNUTLS_E_FATAL_ALERT_RECEIVED) {
        /* TLS 1.3: the server judges the client's certificate after the
           client's handshake is through, so its refusal comes here. */
        g_autofree char *why = colo_tls_explain_alert(t);
        ls_error_set(errp, "TLS: %s", why);
    } else {
        ls_error_set(errp, "TLS: %s", gnutls_strerror((int)n));
    }
    return COLO_IO_ERROR;
}

ssize_t colo_transport_read(ColoTransport *t, void *buf, size_t len,
                            GError **errp)
{
    if (!t->cr) {
        return colo_transport_plain_result(colo_transport_recv(t, buf, len),
                                           errp);
    }
    return colo_tls_result(t, gnutls_record_recv(t->s, buf, len), errp);
}

ssize_t colo_transport_write(ColoTransport *t, const void *buf, size_t len,
                             GError **errp)
{
    if (!t->cr) {
        return colo_transport_plain_result(colo_transport_send(t, buf, len),
                                           errp);
    }
    return colo_tls_result(t, gnutls_record_send(t->s, buf, len), errp);
}

void colo_transport_bye(ColoTransport *t)
{
    if (t->s && t->up) {
        gnutls_bye(t->s, GNUTLS_SHUT_WR); /* E_AGAIN: then without it */
    }
}

uint64_t colo_transport_rx_bytes(const ColoTransport *t)
{
    return t->rx;
}
