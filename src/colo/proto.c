/*
 * COLO wire protocol: frame encoding, the incremental reader and the
 * per-type payload checks. See proto.h and docs/colo-protocol.md.
 */
#include "colo/proto.h"

#include <inttypes.h>
#include <string.h>

#include "base/error.h"
#include "colo/crc32c.h"

#define COLO_PROTO_HELLO_LEN 12u

static const char *const colo_msg_names[] = {
    [COLO_MSG_HELLO] = "hello",          [COLO_MSG_BEGIN] = "checkpoint-begin",
    [COLO_MSG_DATA] = "checkpoint-data", [COLO_MSG_ACK] = "ack",
    [COLO_MSG_RESUME] = "resume",        [COLO_MSG_HEARTBEAT] = "heartbeat",
    [COLO_MSG_ERROR] = "error",          [COLO_MSG_BYE] = "bye",
};

const char *colo_msg_type_name(unsigned type)
{
    if (type == 0 || type > COLO_MSG_TYPE_MAX) {
        return "unknown";
    }
    return colo_msg_names[type];
}

void colo_msg_clear(ColoMsg *m)
{
    g_free(m->payload);
    g_free(m->text);
    memset(m, 0, sizeof(*m));
}

static void colo_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static void colo_put_be64(uint8_t *p, uint64_t v)
{
    colo_put_be32(p, (uint32_t)(v >> 32));
    colo_put_be32(p + 4, (uint32_t)v);
}

static uint32_t colo_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static uint64_t colo_get_be64(const uint8_t *p)
{
    return (uint64_t)colo_get_be32(p) << 32 | colo_get_be32(p + 4);
}

/* ---- encoding ---- */

/* A frame with room for `len` payload bytes; the caller fills the payload
   at frame + COLO_PROTO_HDR_LEN, then colo_frame_seal. */
static uint8_t *colo_frame_new(ColoMsgType type, size_t len)
{
    uint8_t *f = g_malloc0(COLO_PROTO_HDR_LEN + len);

    colo_put_be32(f, (uint32_t)len);
    f[4] = (uint8_t)type;
    return f;
}

static GBytes *colo_frame_seal(uint8_t *f, size_t len)
{
    uint32_t crc = colo_crc32c(0, f, 8);

    crc = colo_crc32c(crc, f + COLO_PROTO_HDR_LEN, len);
    colo_put_be32(f + 8, crc);
    return g_bytes_new_take(f, COLO_PROTO_HDR_LEN + len);
}

GBytes *colo_proto_hello(ColoRole role, uint32_t heartbeat_ms)
{
    uint8_t *f = colo_frame_new(COLO_MSG_HELLO, COLO_PROTO_HELLO_LEN);
    uint8_t *p = f + COLO_PROTO_HDR_LEN;

    colo_put_be32(p, COLO_PROTO_MAGIC);
    p[4] = COLO_PROTO_VERSION >> 8;
    p[5] = COLO_PROTO_VERSION & 0xff;
    p[6] = (uint8_t)role;
    colo_put_be32(p + 8, heartbeat_ms);
    return colo_frame_seal(f, COLO_PROTO_HELLO_LEN);
}

GBytes *colo_proto_u64(ColoMsgType type, uint64_t v)
{
    uint8_t *f = colo_frame_new(type, 8);

    colo_put_be64(f + COLO_PROTO_HDR_LEN, v);
    return colo_frame_seal(f, 8);
}

GBytes *colo_proto_ack(uint64_t epoch, uint64_t load_us)
{
    uint8_t *f = colo_frame_new(COLO_MSG_ACK, 16);

    colo_put_be64(f + COLO_PROTO_HDR_LEN, epoch);
    colo_put_be64(f + COLO_PROTO_HDR_LEN + 8, load_us);
    return colo_frame_seal(f, 16);
}

GBytes *colo_proto_text(ColoMsgType type, uint32_t code, const char *text)
{
    size_t n = text ? strlen(text) : 0;
    uint8_t *f;

    if (n > COLO_PROTO_MAX_TEXT) {
        n = COLO_PROTO_MAX_TEXT;
    }
    f = colo_frame_new(type, 4 + n);
    colo_put_be32(f + COLO_PROTO_HDR_LEN, code);
    if (n) {
        memcpy(f + COLO_PROTO_HDR_LEN + 4, text, n);
    }
    return colo_frame_seal(f, 4 + n);
}

static bool colo_data_fits(const ColoDataParts *d, GError **errp)
{
    if (d->state_len == 0 || d->out_len > COLO_PROTO_MAX_STATE ||
        d->state_len > COLO_PROTO_MAX_STATE - d->out_len) {
        ls_error_set(errp,
                     "checkpoint of %zu state and %zu output bytes does not "
                     "fit the %u-byte cap (or is empty)",
                     d->state_len, d->out_len, COLO_PROTO_MAX_STATE);
        return false;
    }
    if (d->ram_len > COLO_PROTO_MAX_RAM) {
        ls_error_set(errp,
                     "checkpoint RAM of %zu bytes exceeds the %u-byte cap",
                     d->ram_len, COLO_PROTO_MAX_RAM);
        return false;
    }
    return true;
}

GBytes *colo_proto_data(const ColoDataParts *d, GError **errp)
{
    size_t len;
    uint8_t *f, *p;

    if (!colo_data_fits(d, errp)) {
        return NULL;
    }
    len = COLO_PROTO_DATA_FIXED + d->out_len + d->state_len + d->ram_len;
    f = colo_frame_new(COLO_MSG_DATA, len);
    p = f + COLO_PROTO_HDR_LEN;
    colo_put_be64(p, d->epoch);
    colo_put_be64(p + 8, d->out_offset);
    colo_put_be32(p + 16, (uint32_t)d->out_len);
    colo_put_be32(p + 20, (uint32_t)d->state_len);
    colo_put_be32(p + 24, (uint32_t)d->ram_len);
    p += COLO_PROTO_DATA_FIXED;
    if (d->out_len) {
        memcpy(p, d->out, d->out_len);
    }
    memcpy(p + d->out_len, d->state, d->state_len);
    if (d->ram_len) {
        memcpy(p + d->out_len + d->state_len, d->ram, d->ram_len);
    }
    return colo_frame_seal(f, len);
}

/* ---- decoding ---- */

static size_t colo_type_cap(unsigned type)
{
    return type == COLO_MSG_DATA ? COLO_PROTO_MAX_DATA : COLO_PROTO_MAX_CONTROL;
}

static bool colo_parse_text(ColoMsg *m, GError **errp)
{
    size_t n = m->payload_len - 4;
    const char *s = (const char *)m->payload + 4;

    if (n > COLO_PROTO_MAX_TEXT) {
        ls_error_set(errp, "%s text of %zu bytes exceeds the cap of %u",
                     colo_msg_type_name(m->type), n, COLO_PROTO_MAX_TEXT);
        return false;
    }
    if (memchr(s, 0, n) || !g_utf8_validate(s, (gssize)n, NULL)) {
        ls_error_set(errp, "%s text is not valid UTF-8 without NUL",
                     colo_msg_type_name(m->type));
        return false;
    }
    m->code = colo_get_be32(m->payload);
    m->text = g_strndup(s, n);
    return true;
}

static bool colo_parse_data(ColoMsg *m, GError **errp)
{
    const uint8_t *p = m->payload;
    uint64_t want;

    m->epoch = colo_get_be64(p);
    m->out_offset = colo_get_be64(p + 8);
    m->out_len = colo_get_be32(p + 16);
    m->state_len = colo_get_be32(p + 20);
    m->ram_len = colo_get_be32(p + 24);
    want = (uint64_t)COLO_PROTO_DATA_FIXED + m->out_len + m->state_len +
           m->ram_len;
    if (want != m->payload_len || m->state_len == 0) {
        ls_error_set(errp,
                     "checkpoint-data lengths (output %u, state %u, RAM %u) "
                     "do not match its payload of %zu bytes",
                     m->out_len, m->state_len, m->ram_len, m->payload_len);
        return false;
    }
    if ((uint64_t)m->out_len + m->state_len > COLO_PROTO_MAX_STATE ||
        m->ram_len > COLO_PROTO_MAX_RAM) {
        ls_error_set(errp,
                     "checkpoint-data: state and output of %" PRIu64
                     " bytes (cap %u) or RAM of %u bytes (cap %u) too large",
                     (uint64_t)m->out_len + m->state_len, COLO_PROTO_MAX_STATE,
                     m->ram_len, COLO_PROTO_MAX_RAM);
        return false;
    }
    m->out = p + COLO_PROTO_DATA_FIXED;
    m->state = m->out + m->out_len;
    m->ram = m->ram_len ? m->state + m->state_len : NULL;
    return true;
}

/* Minimum (and, for fixed layouts, exact) payload length per type. */
static bool colo_check_len(const ColoMsg *m, GError **errp)
{
    size_t want = 0;
    bool exact = true;

    switch (m->type) {
    case COLO_MSG_HELLO:
        want = COLO_PROTO_HELLO_LEN;
        break;
    case COLO_MSG_BEGIN:
    case COLO_MSG_RESUME:
    case COLO_MSG_HEARTBEAT:
        want = 8;
        break;
    case COLO_MSG_ACK:
        want = 16;
        break;
    case COLO_MSG_DATA:
        want = COLO_PROTO_DATA_FIXED;
        exact = false;
        break;
    case COLO_MSG_ERROR:
    case COLO_MSG_BYE:
        want = 4;
        exact = false;
        break;
    }
    if (m->payload_len < want || (exact && m->payload_len != want)) {
        ls_error_set(errp, "%s payload of %zu bytes, expected %s%zu",
                     colo_msg_type_name(m->type), m->payload_len,
                     exact ? "" : "at least ", want);
        return false;
    }
    return true;
}

static bool colo_parse(ColoMsg *m, GError **errp)
{
    const uint8_t *p = m->payload;

    if (!colo_check_len(m, errp)) {
        return false;
    }
    switch (m->type) {
    case COLO_MSG_HELLO:
        if (p[7] != 0) {
            ls_error_set(errp, "hello: reserved byte is %u, not 0", p[7]);
            return false;
        }
        m->version = (uint16_t)(p[4] << 8 | p[5]);
        m->role = p[6];
        m->heartbeat_ms = colo_get_be32(p + 8);
        m->value = colo_get_be32(p);
        return true;
    case COLO_MSG_DATA:
        return colo_parse_data(m, errp);
    case COLO_MSG_ERROR:
    case COLO_MSG_BYE:
        return colo_parse_text(m, errp);
    default:
        m->epoch = colo_get_be64(p);
        m->value = m->payload_len == 16 ? colo_get_be64(p + 8) : m->epoch;
        return true;
    }
}

void colo_proto_reader_init(ColoProtoReader *r)
{
    memset(r, 0, sizeof(*r));
}

void colo_proto_reader_clear(ColoProtoReader *r)
{
    g_free(r->payload);
    colo_proto_reader_init(r);
}

void colo_proto_reader_space(ColoProtoReader *r, uint8_t **buf, size_t *len)
{
    if (r->failed) {
        *buf = NULL;
        *len = 0;
    } else if (r->hdr_have < COLO_PROTO_HDR_LEN) {
        *buf = r->hdr + r->hdr_have;
        *len = COLO_PROTO_HDR_LEN - r->hdr_have;
    } else {
        *buf = r->payload + r->have;
        *len = r->len - r->have;
    }
}

/* The header is complete: check it and allocate the payload. */
static bool colo_reader_header(ColoProtoReader *r, GError **errp)
{
    unsigned type = r->hdr[4];
    uint32_t len = colo_get_be32(r->hdr);

    if (type == 0 || type > COLO_MSG_TYPE_MAX) {
        ls_error_set(errp, "unknown message type %u", type);
        return false;
    }
    if (r->hdr[5] || r->hdr[6] || r->hdr[7]) {
        ls_error_set(errp, "%s: flags/reserved bytes not zero",
                     colo_msg_type_name(type));
        return false;
    }
    if (len > colo_type_cap(type)) {
        ls_error_set(errp, "%s of %u bytes exceeds the cap of %zu",
                     colo_msg_type_name(type), len, colo_type_cap(type));
        return false;
    }
    r->len = len;
    r->have = 0;
    r->payload = g_malloc(len ? len : 1);
    return true;
}

/* The payload is complete: CRC, then decode into *out. */
static bool colo_reader_finish(ColoProtoReader *r, ColoMsg *out, GError **errp)
{
    uint32_t crc = colo_crc32c(colo_crc32c(0, r->hdr, 8), r->payload, r->len);
    uint32_t want = colo_get_be32(r->hdr + 8);

    memset(out, 0, sizeof(*out));
    out->type = r->hdr[4];
    out->payload = r->payload;
    out->payload_len = r->len;
    r->payload = NULL;
    r->hdr_have = 0;
    r->len = r->have = 0;
    if (crc != want) {
        ls_error_set(errp,
                     "%s: CRC32C mismatch (frame says 0x%08x, bytes "
                     "give 0x%08x)",
                     colo_msg_type_name(out->type), want, crc);
        colo_msg_clear(out);
        return false;
    }
    if (!colo_parse(out, errp)) {
        colo_msg_clear(out);
        return false;
    }
    return true;
}

int colo_proto_reader_advance(ColoProtoReader *r, size_t n, ColoMsg *out,
                              GError **errp)
{
    if (r->failed) {
        ls_error_set(errp, "protocol reader stopped at an earlier error");
        return -1;
    }
    if (r->hdr_have < COLO_PROTO_HDR_LEN) {
        r->hdr_have += n;
        if (r->hdr_have < COLO_PROTO_HDR_LEN) {
            return 0;
        }
        if (!colo_reader_header(r, errp)) {
            r->failed = true;
            return -1;
        }
    } else {
        r->have += n;
    }
    if (r->have < r->len) {
        return 0;
    }
    if (!colo_reader_finish(r, out, errp)) {
        r->failed = true;
        return -1;
    }
    return 1;
}

int colo_proto_reader_feed(ColoProtoReader *r, const uint8_t *buf, size_t len,
                           size_t *used, ColoMsg *out, GError **errp)
{
    *used = 0;
    if (r->failed) {
        /* takes no byte; says why */
        return colo_proto_reader_advance(r, 0, out, errp);
    }
    for (;;) {
        uint8_t *dst;
        size_t room;
        int rc;

        colo_proto_reader_space(r, &dst, &room);
        if (room > len - *used) {
            room = len - *used;
        }
        if (room) {
            memcpy(dst, buf + *used, room);
        }
        *used += room;
        rc = colo_proto_reader_advance(r, room, out, errp);
        if (rc != 0 || *used == len) {
            return rc;
        }
    }
}

bool colo_proto_check_hello(const ColoMsg *m, ColoRole want_role, GError **errp)
{
    if (m->type != COLO_MSG_HELLO) {
        ls_error_set(errp, "expected hello, got %s",
                     colo_msg_type_name(m->type));
        return false;
    }
    if (m->value != COLO_PROTO_MAGIC) {
        ls_error_set(errp, "hello: bad magic 0x%08x", (unsigned)m->value);
        return false;
    }
    if (m->version != COLO_PROTO_VERSION) {
        ls_error_set(errp, "hello: protocol version %u, this side speaks %u",
                     m->version, COLO_PROTO_VERSION);
        return false;
    }
    if (m->role != want_role) {
        ls_error_set(errp, "hello: peer role %u, expected %u", m->role,
                     want_role);
        return false;
    }
    return true;
}
