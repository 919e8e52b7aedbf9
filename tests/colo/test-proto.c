/*
 * Unit tests for src/colo/proto.c and crc32c.c: CRC32C test vectors from
 * RFC 3720 (B.4), every message type round-tripped whole and a byte at a
 * time, and every malformed class (truncation at every offset, every byte
 * flipped, lengths over each cap, bad layouts, bad hello) refused cleanly.
 */
#include <glib.h>
#include <string.h>

#include "colo/crc32c.h"
#include "colo/proto.h"

static void test_crc32c_vectors(void)
{
    uint8_t buf[48];
    static const uint8_t scsi_read[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };

    memset(buf, 0, 32);
    g_assert_cmphex(colo_crc32c(0, buf, 32), ==, 0x8a9136aa);
    memset(buf, 0xff, 32);
    g_assert_cmphex(colo_crc32c(0, buf, 32), ==, 0x62a8ab43);
    for (int i = 0; i < 32; i++) {
        buf[i] = (uint8_t)i;
    }
    g_assert_cmphex(colo_crc32c(0, buf, 32), ==, 0x46dd794e);
    for (int i = 0; i < 32; i++) {
        buf[i] = (uint8_t)(31 - i);
    }
    g_assert_cmphex(colo_crc32c(0, buf, 32), ==, 0x113fdb5c);
    g_assert_cmphex(colo_crc32c(0, scsi_read, 48), ==, 0xd9963a56);
    g_assert_cmphex(colo_crc32c(0, "123456789", 9), ==, 0xe3069283);
    /* Continuation equals one pass, at every split. */
    for (size_t k = 0; k <= 48; k++) {
        uint32_t c =
            colo_crc32c(colo_crc32c(0, scsi_read, k), scsi_read + k, 48 - k);
        g_assert_cmphex(c, ==, 0xd9963a56);
    }
}

/* Feeds a whole frame; expects exactly one message using all bytes. */
static void feed_one(GBytes *frame, ColoMsg *m)
{
    ColoProtoReader r;
    g_autoptr(GError) err = NULL;
    gsize len;
    const uint8_t *p = g_bytes_get_data(frame, &len);
    size_t used;

    colo_proto_reader_init(&r);
    g_assert_cmpint(colo_proto_reader_feed(&r, p, len, &used, m, &err), ==, 1);
    g_assert_no_error(err);
    g_assert_cmpuint(used, ==, len);
    colo_proto_reader_clear(&r);
}

static GBytes *sample_data(void)
{
    static const uint8_t out[] = "hello\r\n";
    static const uint8_t ram[] = "RAM stream";
    uint8_t state[300];
    ColoDataParts d = {.epoch = 42,
                       .out_offset = 1000,
                       .out = out,
                       .out_len = 7,
                       .state = state,
                       .state_len = sizeof(state),
                       .ram = ram,
                       .ram_len = 10};

    for (size_t i = 0; i < sizeof(state); i++) {
        state[i] = (uint8_t)(i * 7);
    }
    return colo_proto_data(&d, NULL);
}

static void test_roundtrip(void)
{
    ColoMsg m;
    GBytes *f;

    f = colo_proto_hello(COLO_ROLE_PRIMARY, 250);
    feed_one(f, &m);
    g_assert_cmpint(m.type, ==, COLO_MSG_HELLO);
    g_assert_true(colo_proto_check_hello(&m, COLO_ROLE_PRIMARY, NULL));
    g_assert_false(colo_proto_check_hello(&m, COLO_ROLE_SECONDARY, NULL));
    g_assert_cmpuint(m.heartbeat_ms, ==, 250);
    colo_msg_clear(&m);
    g_bytes_unref(f);

    f = colo_proto_ack(7, 123456);
    feed_one(f, &m);
    g_assert_cmpint(m.type, ==, COLO_MSG_ACK);
    g_assert_cmpuint(m.epoch, ==, 7);
    g_assert_cmpuint(m.value, ==, 123456);
    colo_msg_clear(&m);
    g_bytes_unref(f);

    f = colo_proto_u64(COLO_MSG_BEGIN, G_MAXUINT64);
    feed_one(f, &m);
    g_assert_cmpint(m.type, ==, COLO_MSG_BEGIN);
    g_assert_cmpuint(m.epoch, ==, G_MAXUINT64);
    colo_msg_clear(&m);
    g_bytes_unref(f);

    f = colo_proto_text(COLO_MSG_ERROR, COLO_CODE_LOAD_FAILED, "bad section");
    feed_one(f, &m);
    g_assert_cmpint(m.type, ==, COLO_MSG_ERROR);
    g_assert_cmpuint(m.code, ==, COLO_CODE_LOAD_FAILED);
    g_assert_cmpstr(m.text, ==, "bad section");
    colo_msg_clear(&m);
    g_bytes_unref(f);

    f = sample_data();
    feed_one(f, &m);
    g_assert_cmpint(m.type, ==, COLO_MSG_DATA);
    g_assert_cmpuint(m.epoch, ==, 42);
    g_assert_cmpuint(m.out_offset, ==, 1000);
    g_assert_cmpuint(m.out_len, ==, 7);
    g_assert_true(memcmp(m.out, "hello\r\n", 7) == 0);
    g_assert_cmpuint(m.state_len, ==, 300);
    g_assert_cmpuint(m.state[299], ==, (uint8_t)(299 * 7));
    g_assert_cmpuint(m.ram_len, ==, 10);
    g_assert_true(memcmp(m.ram, "RAM stream", 10) == 0);
    colo_msg_clear(&m);
    g_bytes_unref(f);
}

/* Without RAM the message has no RAM part, and none is decoded. */
static void test_data_without_ram(void)
{
    ColoDataParts d = {
        .epoch = 3, .state = (const uint8_t *)"S", .state_len = 1};
    GBytes *f = colo_proto_data(&d, NULL);
    ColoMsg m;

    g_assert_cmpuint(g_bytes_get_size(f), ==,
                     COLO_PROTO_HDR_LEN + COLO_PROTO_DATA_FIXED + 1);
    feed_one(f, &m);
    g_assert_cmpuint(m.ram_len, ==, 0);
    g_assert_null(m.ram);
    g_assert_cmpuint(m.state_len, ==, 1);
    colo_msg_clear(&m);
    g_bytes_unref(f);
}

/* The data cap holds a full checkpoint of the largest RAM carried: its
   RAM stream with no zero page, plus the state cap. */
static void test_data_caps(void)
{
    g_autoptr(GError) err = NULL;
    uint64_t pages = COLO_PROTO_MAX_RAM_SIZE / 4096;
    /* mem_size record 23, first page's block name 7, end marker 8 */
    uint64_t full = 23 + pages * (8 + 4096) + 7 + 8;
    ColoDataParts d = {.state = (const uint8_t *)"S", .state_len = 1};

    g_assert_cmpuint(full, <=, COLO_PROTO_MAX_RAM);
    g_assert_cmpuint(COLO_PROTO_MAX_DATA, ==,
                     COLO_PROTO_DATA_FIXED + COLO_PROTO_MAX_STATE +
                         COLO_PROTO_MAX_RAM);
    d.ram_len = COLO_PROTO_MAX_RAM + 1;
    g_assert_null(colo_proto_data(&d, &err));
    g_assert_nonnull(strstr(err->message, "RAM"));
    g_clear_error(&err);
    d.ram_len = 0;
    d.state_len = COLO_PROTO_MAX_STATE + 1;
    g_assert_null(colo_proto_data(&d, &err));
    g_assert_nonnull(strstr(err->message, "cap"));
    g_clear_error(&err);
    d.state_len = 0;
    g_assert_null(colo_proto_data(&d, NULL));
}

/* Two frames back to back, fed one byte at a time. */
static void test_byte_at_a_time(void)
{
    GBytes *a = sample_data(), *b = colo_proto_u64(COLO_MSG_HEARTBEAT, 9);
    GByteArray *all = g_byte_array_new();
    ColoProtoReader r;
    unsigned got = 0;
    gsize la, lb;
    const uint8_t *pa = g_bytes_get_data(a, &la),
                  *pb = g_bytes_get_data(b, &lb);

    g_byte_array_append(all, pa, (guint)la);
    g_byte_array_append(all, pb, (guint)lb);
    colo_proto_reader_init(&r);
    for (guint i = 0; i < all->len; i++) {
        ColoMsg m;
        size_t used;
        int rc = colo_proto_reader_feed(&r, all->data + i, 1, &used, &m, NULL);
        g_assert_cmpint(rc, >=, 0);
        g_assert_cmpuint(used, ==, 1);
        if (rc == 1) {
            got++;
            g_assert_cmpint(m.type, ==,
                            got == 1 ? COLO_MSG_DATA : COLO_MSG_HEARTBEAT);
            g_assert_cmpuint(i + 1, ==, got == 1 ? la : la + lb);
            colo_msg_clear(&m);
        }
    }
    g_assert_cmpuint(got, ==, 2);
    colo_proto_reader_clear(&r);
    g_byte_array_unref(all);
    g_bytes_unref(a);
    g_bytes_unref(b);
}

static void test_truncated(void)
{
    GBytes *f = sample_data();
    gsize len;
    const uint8_t *p = g_bytes_get_data(f, &len);

    for (gsize cut = 0; cut < len; cut++) {
        ColoProtoReader r;
        ColoMsg m;
        size_t used;

        colo_proto_reader_init(&r);
        g_assert_cmpint(colo_proto_reader_feed(&r, p, cut, &used, &m, NULL), ==,
                        0);
        colo_proto_reader_clear(&r);
    }
    g_bytes_unref(f);
}

/* Every single flipped bit-pattern position is refused, or (a length
   made larger, still under the cap) leaves the reader waiting. */
static void test_flipped(void)
{
    GBytes *f = sample_data();
    gsize len;
    const uint8_t *p = g_bytes_get_data(f, &len);
    g_autofree uint8_t *copy = g_memdup2(p, len);

    for (gsize i = 0; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            ColoProtoReader r;
            ColoMsg m;
            size_t used;
            int rc;

            copy[i] ^= 1u << bit;
            colo_proto_reader_init(&r);
            rc = colo_proto_reader_feed(&r, copy, len, &used, &m, NULL);
            g_assert_cmpint(rc, !=, 1);
            if (rc == 0) {
                g_assert_cmpuint(i, <, 4); /* only the length can do this */
            }
            colo_proto_reader_clear(&r);
            copy[i] ^= 1u << bit;
        }
    }
    g_bytes_unref(f);
}

/* A header alone, with a valid-looking length: the cap refuses it before
   any payload arrives (and before anything is allocated for it). */
static int feed_header(uint32_t len, uint8_t type, GError **errp)
{
    uint8_t h[COLO_PROTO_HDR_LEN] = {len >> 24, len >> 16, len >> 8, len, type};
    ColoProtoReader r;
    ColoMsg m;
    size_t used;
    int rc;

    colo_proto_reader_init(&r);
    rc = colo_proto_reader_feed(&r, h, sizeof(h), &used, &m, errp);
    colo_proto_reader_clear(&r);
    return rc;
}

static void test_oversized(void)
{
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(feed_header(COLO_PROTO_MAX_DATA, COLO_MSG_DATA, NULL), ==,
                    0);
    g_assert_cmpint(feed_header(COLO_PROTO_MAX_DATA + 1, COLO_MSG_DATA, &err),
                    ==, -1);
    g_assert_nonnull(strstr(err->message, "exceeds the cap"));
    g_clear_error(&err);
    g_assert_cmpint(feed_header(0xffffffffu, COLO_MSG_DATA, NULL), ==, -1);
    g_assert_cmpint(
        feed_header(COLO_PROTO_MAX_CONTROL, COLO_MSG_HEARTBEAT, NULL), ==, 0);
    g_assert_cmpint(
        feed_header(COLO_PROTO_MAX_CONTROL + 1, COLO_MSG_HEARTBEAT, NULL), ==,
        -1);
    g_assert_cmpint(feed_header(8, 0, &err), ==, -1);
    g_assert_nonnull(strstr(err->message, "unknown message type"));
    g_assert_cmpint(feed_header(8, COLO_MSG_TYPE_MAX + 1, NULL), ==, -1);
}

/* A frame with a correct CRC but a payload that breaks its type's layout. */
static int feed_raw(uint8_t type, const uint8_t *payload, uint32_t len,
                    GError **errp)
{
    uint8_t *f = g_malloc0(COLO_PROTO_HDR_LEN + len);
    uint32_t crc;
    ColoProtoReader r;
    ColoMsg m;
    size_t used;
    int rc;

    f[0] = len >> 24;
    f[1] = len >> 16;
    f[2] = len >> 8;
    f[3] = len;
    f[4] = type;
    memcpy(f + COLO_PROTO_HDR_LEN, payload, len);
    crc = colo_crc32c(colo_crc32c(0, f, 8), f + COLO_PROTO_HDR_LEN, len);
    f[8] = crc >> 24;
    f[9] = crc >> 16;
    f[10] = crc >> 8;
    f[11] = crc;
    colo_proto_reader_init(&r);
    rc = colo_proto_reader_feed(&r, f, COLO_PROTO_HDR_LEN + len, &used, &m,
                                errp);
    if (rc == 1) {
        colo_msg_clear(&m);
    }
    colo_proto_reader_clear(&r);
    g_free(f);
    return rc;
}

static void test_bad_layout(void)
{
    uint8_t p[64] = {0};
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(feed_raw(COLO_MSG_HEARTBEAT, p, 8, NULL), ==, 1);
    g_assert_cmpint(feed_raw(COLO_MSG_HEARTBEAT, p, 9, &err), ==, -1);
    g_assert_nonnull(strstr(err->message, "expected 8"));
    g_clear_error(&err);
    g_assert_cmpint(feed_raw(COLO_MSG_ACK, p, 8, NULL), ==, -1);
    g_assert_cmpint(feed_raw(COLO_MSG_BYE, p, 3, NULL), ==, -1);
    /* data: state length 0; then lengths that overrun the payload */
    g_assert_cmpint(feed_raw(COLO_MSG_DATA, p, 28, NULL), ==, -1);
    p[23] = 37; /* state 37, payload 28 + 36 */
    g_assert_cmpint(feed_raw(COLO_MSG_DATA, p, 64, &err), ==, -1);
    g_assert_nonnull(strstr(err->message, "RAM 0"));
    g_clear_error(&err);
    p[23] = 36;
    g_assert_cmpint(feed_raw(COLO_MSG_DATA, p, 64, NULL), ==, 1);
    p[23] = 30; /* state 30 + RAM 6 */
    p[27] = 6;
    g_assert_cmpint(feed_raw(COLO_MSG_DATA, p, 64, NULL), ==, 1);
    p[27] = 7;
    g_assert_cmpint(feed_raw(COLO_MSG_DATA, p, 64, NULL), ==, -1);
    p[27] = 6;
    p[19] = 0xff; /* out length huge: sum overflows 32 bits, not 64 */
    p[18] = 0xff;
    p[17] = 0xff;
    p[16] = 0xff;
    g_assert_cmpint(feed_raw(COLO_MSG_DATA, p, 64, NULL), ==, -1);
    memset(p + 16, 0, 4);
    p[24] = 0xff; /* RAM length huge */
    g_assert_cmpint(feed_raw(COLO_MSG_DATA, p, 64, NULL), ==, -1);
    /* text with a NUL, and invalid UTF-8 */
    memcpy(p, "\0\0\0\1ab\0c", 8);
    g_assert_cmpint(feed_raw(COLO_MSG_ERROR, p, 8, NULL), ==, -1);
    memcpy(p, "\0\0\0\1ab\xff", 7);
    g_assert_cmpint(feed_raw(COLO_MSG_ERROR, p, 7, NULL), ==, -1);
    /* hello: bad reserved byte; bad magic; bad version */
    memset(p, 0, sizeof(p));
    p[7] = 1;
    g_assert_cmpint(feed_raw(COLO_MSG_HELLO, p, 12, NULL), ==, -1);
}

static void test_hello_checks(void)
{
    GBytes *f = colo_proto_hello(COLO_ROLE_SECONDARY, 100);
    g_autoptr(GError) err = NULL;
    ColoMsg m;

    feed_one(f, &m);
    g_assert_cmpuint(m.version, ==, 2);
    m.version = 1; /* version 1 carried no RAM: refused */
    g_assert_false(colo_proto_check_hello(&m, COLO_ROLE_SECONDARY, &err));
    g_assert_nonnull(strstr(err->message, "version 1"));
    g_clear_error(&err);
    m.version = COLO_PROTO_VERSION;
    m.value = 0x12345678;
    g_assert_false(colo_proto_check_hello(&m, COLO_ROLE_SECONDARY, &err));
    g_assert_nonnull(strstr(err->message, "magic"));
    m.type = COLO_MSG_HEARTBEAT;
    g_assert_false(colo_proto_check_hello(&m, COLO_ROLE_SECONDARY, NULL));
    colo_msg_clear(&m);
    g_bytes_unref(f);
}

/* After an error the reader stays failed. */
static void test_sticky_failure(void)
{
    GBytes *good = colo_proto_u64(COLO_MSG_HEARTBEAT, 1);
    gsize len;
    const uint8_t *p = g_bytes_get_data(good, &len);
    ColoProtoReader r;
    ColoMsg m;
    size_t used;
    uint8_t bad[COLO_PROTO_HDR_LEN] = {0, 0, 0, 8, 99};

    colo_proto_reader_init(&r);
    g_assert_cmpint(
        colo_proto_reader_feed(&r, bad, sizeof(bad), &used, &m, NULL), ==, -1);
    g_assert_cmpint(colo_proto_reader_feed(&r, p, len, &used, &m, NULL), ==,
                    -1);
    colo_proto_reader_clear(&r);
    g_bytes_unref(good);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/colo/crc32c/vectors", test_crc32c_vectors);
    g_test_add_func("/colo/proto/roundtrip", test_roundtrip);
    g_test_add_func("/colo/proto/data-without-ram", test_data_without_ram);
    g_test_add_func("/colo/proto/data-caps", test_data_caps);
    g_test_add_func("/colo/proto/byte-at-a-time", test_byte_at_a_time);
    g_test_add_func("/colo/proto/truncated", test_truncated);
    g_test_add_func("/colo/proto/flipped", test_flipped);
    g_test_add_func("/colo/proto/oversized", test_oversized);
    g_test_add_func("/colo/proto/bad-layout", test_bad_layout);
    g_test_add_func("/colo/proto/hello-checks", test_hello_checks);
    g_test_add_func("/colo/proto/sticky-failure", test_sticky_failure);
    return g_test_run();
}
