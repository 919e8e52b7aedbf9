/*
 * Fuzz target for the COLO wire protocol reader: the input is fed in
 * chunks whose sizes come from the first byte (so frames that span reads
 * are exercised), every decoded message is re-encoded where the type
 * allows and checked to decode the same. A crash, an assert or a
 * sanitizer report is the failure.
 */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "colo/proto.h"

static void fuzz_colo_check(const ColoMsg *m)
{
    GBytes *again = NULL;

    if (m->type == COLO_MSG_DATA) {
        ColoDataParts d = {.epoch = m->epoch,
                           .out_offset = m->out_offset,
                           .out = m->out,
                           .out_len = m->out_len,
                           .state = m->state,
                           .state_len = m->state_len,
                           .ram = m->ram,
                           .ram_len = m->ram_len};
        again = colo_proto_data(&d, NULL);
    } else if (m->type == COLO_MSG_ERROR || m->type == COLO_MSG_BYE) {
        again = colo_proto_text(m->type, m->code, m->text);
    } else if (m->type == COLO_MSG_HELLO) {
        colo_proto_check_hello(m, COLO_ROLE_PRIMARY, NULL);
    }
    if (again) {
        ColoProtoReader r;
        ColoMsg m2;
        size_t used;
        gsize len;
        const uint8_t *p = g_bytes_get_data(again, &len);

        colo_proto_reader_init(&r);
        if (colo_proto_reader_feed(&r, p, len, &used, &m2, NULL) != 1 ||
            m2.payload_len != m->payload_len ||
            memcmp(m2.payload, m->payload, m->payload_len) != 0) {
            __builtin_trap();
        }
        colo_msg_clear(&m2);
        colo_proto_reader_clear(&r);
        g_bytes_unref(again);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ColoProtoReader r;
    size_t chunk, off = 1;

    if (size < 1) {
        return 0;
    }
    chunk = (size_t)(data[0] % 64) + 1;
    colo_proto_reader_init(&r);
    while (off < size) {
        size_t n = MIN(chunk, size - off), used = 0;
        while (used < n) {
            ColoMsg m;
            size_t u;
            int rc = colo_proto_reader_feed(&r, data + off + used, n - used, &u,
                                            &m, NULL);
            used += u;
            if (rc < 0) {
                colo_proto_reader_clear(&r);
                return 0;
            }
            if (rc == 1) {
                fuzz_colo_check(&m);
                colo_msg_clear(&m);
            } else if (u == 0) {
                break;
            }
        }
        off += n;
    }
    colo_proto_reader_clear(&r);
    return 0;
}
