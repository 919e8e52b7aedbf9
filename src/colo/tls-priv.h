/*
 * What tls.c (sessions) and tls-creds.c (credentials) share. Internal to
 * src/colo/tls*.c.
 */
#ifndef LS_COLO_TLS_PRIV_H
#define LS_COLO_TLS_PRIV_H

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "colo/tls.h"

/* Cap on this side's own certificate file, read for its validity dates. */
#define COLO_TLS_MAX_PEM (1024u * 1024)

/* Bytes of the peer's first input kept to name a mode mismatch. */
#define COLO_TLS_SNIFF 8

struct ColoTlsCreds {
    bool server, psk;
    char *hostname; /* x509 client: the name the server's cert must carry */
    char *desc;
    gnutls_certificate_credentials_t x509;
    gnutls_psk_server_credentials_t psk_srv;
    gnutls_psk_client_credentials_t psk_cli;
    GHashTable *psk_keys; /* username -> GBytes key */
};

struct ColoTransport {
    int fd;
    const ColoTlsCreds *cr; /* NULL: plain */
    gnutls_session_t s;
    bool up, wants_write;
    int last_errno; /* of the last failed recv/send under gnutls */
    uint64_t rx;
    uint8_t sniff[COLO_TLS_SNIFF];
    size_t sniffed;
    char *psk_unknown; /* server: a username the client tried, not ours */
};

#endif
