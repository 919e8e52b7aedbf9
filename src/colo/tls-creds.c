/*
 * The COLO link's TLS credentials (see tls.h): x509 in QEMU's
 * tls-creds-x509 directory layout, or a keys.psk file as QEMU's
 * tls-creds-psk reads it. Loaded once at start, so that a bad file stops
 * the side before it listens or connects.
 */
#include "colo/tls-priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "base/error.h"

static void colo_tls_creds_set_err(GError **errp, const char *what, int rc)
{
    ls_error_set(errp, "%s: %s", what, gnutls_strerror(rc));
}

/* Refuses this side's own certificate when it is not valid now: better
   told at start than by every peer. */
static bool colo_tls_check_own_cert(const char *path, GError **errp)
{
    g_autofree char *pem = NULL;
    gsize len;
    gnutls_datum_t d;
    gnutls_x509_crt_t crt;
    time_t now = time(NULL), from, until;
    int rc;

    if (!g_file_get_contents(path, &pem, &len, NULL) ||
        len > COLO_TLS_MAX_PEM) {
        ls_error_set(errp, "%s: cannot read it (or over %u bytes)", path,
                     COLO_TLS_MAX_PEM);
        return false;
    }
    d.data = (unsigned char *)pem;
    d.size = (unsigned)len;
    gnutls_x509_crt_init(&crt);
    rc = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM);
    from = gnutls_x509_crt_get_activation_time(crt);
    until = gnutls_x509_crt_get_expiration_time(crt);
    gnutls_x509_crt_deinit(crt);
    if (rc < 0) {
        colo_tls_creds_set_err(errp, path, rc);
        return false;
    }
    if (until != (time_t)-1 && until < now) {
        ls_error_set(errp, "%s: the certificate has expired", path);
        return false;
    }
    if (from != (time_t)-1 && from > now) {
        ls_error_set(errp, "%s: the certificate is not yet valid", path);
        return false;
    }
    return true;
}

ColoTlsCreds *colo_tls_creds_x509_new(const char *dir, bool server,
                                      const char *hostname, GError **errp)
{
    const char *who = server ? "server" : "client";
    g_autofree char *ca = g_build_filename(dir, "ca-cert.pem", NULL);
    g_autofree char *cert_name = g_strdup_printf("%s-cert.pem", who);
    g_autofree char *key_name = g_strdup_printf("%s-key.pem", who);
    g_autofree char *cert = g_build_filename(dir, cert_name, NULL);
    g_autofree char *key = g_build_filename(dir, key_name, NULL);
    ColoTlsCreds *cr = g_new0(ColoTlsCreds, 1);
    int rc;

    cr->server = server;
    cr->hostname = g_strdup(hostname);
    cr->desc = g_strdup_printf("x509 (%s)", dir);
    gnutls_certificate_allocate_credentials(&cr->x509);
    rc = gnutls_certificate_set_x509_trust_file(cr->x509, ca,
                                                GNUTLS_X509_FMT_PEM);
    if (rc <= 0) {
        ls_error_set(errp, "%s: %s", ca,
                     rc == 0 ? "no certificate in it" : gnutls_strerror(rc));
        goto fail;
    }
    rc = gnutls_certificate_set_x509_key_file(cr->x509, cert, key,
                                              GNUTLS_X509_FMT_PEM);
    if (rc < 0) {
        g_autofree char *what = g_strdup_printf("%s with %s", cert, key);
        colo_tls_creds_set_err(errp, what, rc);
        goto fail;
    }
    if (!colo_tls_check_own_cert(cert, errp)) {
        goto fail;
    }
    return cr;
fail:
    colo_tls_creds_free(cr);
    return NULL;
}

/* ---- keys.psk ---- */

static bool colo_tls_hex_decode(const char *hex, GByteArray *out)
{
    size_t n = strlen(hex);

    if (n == 0 || n % 2) {
        return false;
    }
    for (size_t i = 0; i < n; i += 2) {
        int hi = g_ascii_xdigit_value(hex[i]);
        int lo = g_ascii_xdigit_value(hex[i + 1]);
        uint8_t b;
        if (hi < 0 || lo < 0) {
            return false;
        }
        b = (uint8_t)(hi << 4 | lo);
        g_byte_array_append(out, &b, 1);
    }
    return true;
}

/* One "username:hexkey" line into cr->psk_keys. */
static bool colo_tls_psk_line(ColoTlsCreds *cr, const char *file, unsigned no,
                              char *line, GError **errp)
{
    char *colon = strchr(line, ':');
    GByteArray *key = g_byte_array_new();
    size_t ulen = colon ? (size_t)(colon - line) : 0;

    if (!colon || ulen == 0 || ulen > COLO_TLS_MAX_PSK_USER) {
        ls_error_set(errp,
                     "%s line %u: want username:hexkey (a username "
                     "of 1 to %u bytes)",
                     file, no, COLO_TLS_MAX_PSK_USER);
        g_byte_array_unref(key);
        return false;
    }
    *colon = '\0';
    if (!colo_tls_hex_decode(colon + 1, key) ||
        key->len < COLO_TLS_MIN_PSK_KEY || key->len > COLO_TLS_MAX_PSK_KEY) {
        ls_error_set(errp,
                     "%s line %u: the key must be %u to %u bytes in "
                     "hex digits",
                     file, no, COLO_TLS_MIN_PSK_KEY, COLO_TLS_MAX_PSK_KEY);
        g_byte_array_unref(key);
        return false;
    }
    g_hash_table_replace(cr->psk_keys, g_strdup(line),
                         g_byte_array_free_to_bytes(key));
    return true;
}

static bool colo_tls_psk_read(ColoTlsCreds *cr, const char *file, GError **errp)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(GError) err = NULL;
    gsize len;

    if (!g_file_get_contents(file, &text, &len, &err)) {
        ls_error_set(errp, "%s", err->message);
        return false;
    }
    if (len > COLO_TLS_MAX_PSK_FILE || strlen(text) != len) {
        ls_error_set(errp, "%s: over %u bytes, or not text", file,
                     COLO_TLS_MAX_PSK_FILE);
        return false;
    }
    lines = g_strsplit(text, "\n", -1);
    for (unsigned i = 0; lines[i]; i++) {
        g_strchomp(lines[i]);
        if (lines[i][0] &&
            !colo_tls_psk_line(cr, file, i + 1, lines[i], errp)) {
            return false;
        }
    }
    if (g_hash_table_size(cr->psk_keys) == 0) {
        ls_error_set(errp, "%s: no username:hexkey line", file);
        return false;
    }
    return true;
}

/* The server's key lookup (gnutls calls it with the client's username).
   An unknown username gets a random key, so that it fails as a wrong key
   does: the client learns nothing of which usernames exist; this side
   notes the name for its own message. */
static int colo_tls_psk_lookup(gnutls_session_t s, const char *user,
                               gnutls_datum_t *key)
{
    ColoTransport *t = gnutls_session_get_ptr(s);
    GBytes *k = g_hash_table_lookup(t->cr->psk_keys, user);
    uint8_t dummy[32];
    gsize len = sizeof(dummy);
    const void *p = dummy;

    if (k) {
        p = g_bytes_get_data(k, &len);
    } else {
        g_free(t->psk_unknown);
        t->psk_unknown = g_strndup(user, COLO_TLS_MAX_PSK_USER);
        gnutls_rnd(GNUTLS_RND_NONCE, dummy, sizeof(dummy));
    }
    key->data = gnutls_malloc(len);
    if (!key->data) {
        return -1;
    }
    memcpy(key->data, p, len);
    key->size = (unsigned)len;
    return 0;
}

static bool colo_tls_psk_client(ColoTlsCreds *cr, const char *file,
                                const char *user, GError **errp)
{
    GBytes *k = g_hash_table_lookup(cr->psk_keys, user);
    gnutls_datum_t d;
    gsize len;
    int rc;

    if (!k) {
        ls_error_set(errp, "%s: username '%s' not in it", file, user);
        return false;
    }
    d.data = (unsigned char *)g_bytes_get_data(k, &len);
    d.size = (unsigned)len;
    gnutls_psk_allocate_client_credentials(&cr->psk_cli);
    rc = gnutls_psk_set_client_credentials(cr->psk_cli, user, &d,
                                           GNUTLS_PSK_KEY_RAW);
    if (rc < 0) {
        colo_tls_creds_set_err(errp, file, rc);
        return false;
    }
    return true;
}

ColoTlsCreds *colo_tls_creds_psk_new(const char *file, bool server,
                                     const char *username, GError **errp)
{
    ColoTlsCreds *cr = g_new0(ColoTlsCreds, 1);
    const char *user = username ? username : COLO_TLS_DEFAULT_PSK_USER;

    cr->server = server;
    cr->psk = true;
    cr->desc = g_strdup_printf("PSK (%s)", file);
    cr->psk_keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify)g_bytes_unref);
    if (!colo_tls_psk_read(cr, file, errp)) {
        goto fail;
    }
    if (!server) {
        if (!colo_tls_psk_client(cr, file, user, errp)) {
            goto fail;
        }
        return cr;
    }
    gnutls_psk_allocate_server_credentials(&cr->psk_srv);
    gnutls_psk_set_server_credentials_function(cr->psk_srv,
                                               colo_tls_psk_lookup);
    return cr;
fail:
    colo_tls_creds_free(cr);
    return NULL;
}

void colo_tls_creds_free(ColoTlsCreds *cr)
{
    if (!cr) {
        return;
    }
    if (cr->x509) {
        gnutls_certificate_free_credentials(cr->x509);
    }
    if (cr->psk_srv) {
        gnutls_psk_free_server_credentials(cr->psk_srv);
    }
    if (cr->psk_cli) {
        gnutls_psk_free_client_credentials(cr->psk_cli);
    }
    if (cr->psk_keys) {
        g_hash_table_unref(cr->psk_keys);
    }
    g_free(cr->hostname);
    g_free(cr->desc);
    g_free(cr);
}

const char *colo_tls_creds_describe(const ColoTlsCreds *cr)
{
    return cr->desc;
}
