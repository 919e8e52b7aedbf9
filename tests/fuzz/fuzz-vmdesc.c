/*
 * Fuzz target for the vmdesc reader and the generic decoder it drives
 * (`lockstep dump/diff/check --schema`). Input: vmdesc JSON text, one NUL
 * byte, then a device-state stream (no NUL: the whole input is the JSON
 * and the stream is empty). Any pair must decode or fail cleanly, with
 * allocation bounded by VMS_MAX_DECODE_NODES; a decoded stream is also
 * rendered (values, JSON) as dump does.
 */
#include "vms/decode.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_vmdesc_render(const VmsDecNode *n)
{
    if (!n->children) {
        g_free(vms_dec_node_value(n));
        return;
    }
    for (guint i = 0; i < n->children->len; i++) {
        fuzz_vmdesc_render(n->children->pdata[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t jlen = nul ? (size_t)(nul - data) : size;
    const uint8_t *stream = nul ? nul + 1 : data + size;
    size_t slen = size - jlen - (nul ? 1 : 0);
    GError *err = NULL;
    json_t *vmdesc = vms_vmdesc_parse((const char *)data, jlen, &err);

    if (!vmdesc) {
        g_assert_nonnull(err);
        g_error_free(err);
        return 0;
    }
    VmsDecoded *d = vms_decode(stream, slen, vmdesc, &err);
    g_assert_true((d != NULL) != (err != NULL));
    if (d) {
        for (guint i = 0; i < d->sections->len; i++) {
            const VmsDecSection *s = d->sections->pdata[i];
            g_assert_true(s->decoded == (s->root != NULL));
            if (s->root) {
                fuzz_vmdesc_render(s->root);
            }
        }
        json_decref(vms_decoded_to_json(d));
    }
    vms_decoded_free(d);
    g_clear_error(&err);
    json_decref(vmdesc);
    return 0;
}
