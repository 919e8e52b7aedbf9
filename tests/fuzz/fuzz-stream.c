/*
 * Fuzz target for the stream parsers: the transactional loader (reject and
 * skip policies, a registry using every construct plus four real pc
 * sections) and the generic decoder (with and without a vmdesc exported
 * from the same registry). Any input must load or fail cleanly; a failed
 * load must leave the live states unchanged.
 */
#include "vms/decode.h"
#include "../vms/vms-testdev.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct FuzzWorld {
    TDev dev;
    TPc pc;
} FuzzWorld;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzWorld w, before;

    memset(&w, 0, sizeof(w));
    w.dev.le = 1000;
    VmsRegistry *reg = tpc_registry(&w.pc);
    g_assert_true(vms_register(reg, "tdev", 0, -1, &tdev_vmsd, &w.dev,
                               sizeof(w.dev), NULL));
    before = w;
    for (int pol = 0; pol < 2; pol++) {
        VmsLoadOpts opts = {.unknown = pol};
        GError *err = NULL;
        if (!vms_load_all(reg, data, size, &opts, &err)) {
            g_assert_nonnull(err);
            g_assert_true(memcmp(&w, &before, sizeof(w)) == 0);
            g_error_free(err);
        }
        w = before;
    }
    char *text = vms_vmdesc_export(reg, NULL);
    json_t *vmdesc = json_loads(text, 0, NULL);
    g_free(text);
    for (int k = 0; k < 2; k++) {
        GError *err = NULL;
        VmsDecoded *d = vms_decode(data, size, k ? vmdesc : NULL, &err);
        g_assert_true((d != NULL) != (err != NULL));
        if (d) {
            json_decref(vms_decoded_to_json(d));
        }
        vms_decoded_free(d);
        g_clear_error(&err);
    }
    json_decref(vmdesc);
    vms_registry_free(reg);
    return 0;
}
