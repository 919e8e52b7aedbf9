/*
 * lockstep check FILE [--schema VMDESC.json]: exit 0 when the stream is
 * well formed (header, every section framed, footers consistent, EOF, no
 * trailing bytes) and, with a schema, every described section decodes to
 * exactly its footer-delimited length; exit 2 and say where otherwise.
 * Sections the schema cannot describe are reported but not failures.
 */
#include "tools.h"

#include <stdio.h>

int tools_cmd_check(int argc, char **argv)
{
    g_autofree char *schema = NULL;
    GOptionEntry entries[] = {
        {"schema", 's', 0, G_OPTION_ARG_FILENAME, &schema,
         "QEMU vmdesc JSON describing the devices", "VMDESC.json"},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(
        "FILE - check that a device-state file is well formed");
    g_autoptr(GError) err = NULL;
    g_autoptr(GByteArray) buf = NULL;
    json_t *vmdesc = NULL;
    int rc = TOOLS_EXIT_OK;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc != 2) {
        fprintf(stderr, "lockstep check: %s\n",
                err ? err->message : "expected one FILE");
        return TOOLS_EXIT_ERROR;
    }
    g_autoptr(VmsDecoded) d =
        tools_decode_file(argv[1], schema, &buf, &vmdesc, &err);
    json_decref(vmdesc);
    if (!d) {
        printf("%s: invalid: %s\n", argv[1], err->message);
        return TOOLS_EXIT_ERROR;
    }
    for (guint i = 0; i < d->sections->len; i++) {
        const VmsDecSection *s = d->sections->pdata[i];
        if (s->described && !s->decoded) {
            printf(
                "%s: section '%s' instance %u at 0x%zx: %s%s\n", argv[1],
                s->idstr, s->instance_id, s->offset,
                s->length_mismatch ? "invalid: " : "not checked: ", s->problem);
            if (s->length_mismatch) {
                rc = TOOLS_EXIT_ERROR;
            }
        }
    }
    if (rc == TOOLS_EXIT_OK) {
        printf("%s: valid: %u sections, footers %s\n", argv[1],
               d->sections->len, d->footers ? "on" : "off");
    }
    return rc;
}
