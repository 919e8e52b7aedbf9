/*
 * lockstep dump FILE [--schema VMDESC.json] [--json]: every section with
 * its ids, version, offsets and length; with a schema, the field tree with
 * values; without, the payload in hex.
 */
#include "tools.h"

#include <stdio.h>
#include <string.h>

static void dump_hex(const uint8_t *p, size_t len, size_t base)
{
    for (size_t i = 0; i < len; i += 16) {
        printf("    %08zx ", base + i);
        for (size_t j = i; j < i + 16 && j < len; j++) {
            printf(" %02x", p[j]);
        }
        printf("\n");
    }
}

static void dump_node(const VmsDecNode *n, int depth)
{
    if (!n->children) {
        g_autofree char *v = vms_dec_node_value(n);
        printf("%*s%s (%s) @0x%zx = %s\n", depth * 2, "", n->name, n->type,
               n->offset, v);
        return;
    }
    if (!strcmp(n->type, "subsection")) {
        printf("%*s%s (subsection v%u) @0x%zx\n", depth * 2, "", n->name,
               n->version, n->offset);
    } else {
        printf("%*s%s (%s) @0x%zx\n", depth * 2, "", n->name, n->type,
               n->offset);
    }
    for (guint i = 0; i < n->children->len; i++) {
        dump_node(n->children->pdata[i], depth + 1);
    }
}

static void dump_text(const char *path, const VmsDecoded *d,
                      const GByteArray *buf)
{
    printf("%s: %u sections, footers %s, EOF at 0x%zx, %zu bytes\n", path,
           d->sections->len, d->footers ? "on" : "off", d->eof_offset, d->len);
    for (guint i = 0; i < d->sections->len; i++) {
        const VmsDecSection *s = d->sections->pdata[i];
        printf("section %u '%s' instance %u version %u at 0x%zx: payload "
               "0x%zx, %zu bytes\n",
               s->section_id, s->idstr, s->instance_id, s->version_id,
               s->offset, s->payload_offset, s->payload_len);
        if (s->root) {
            for (guint k = 0; k < s->root->children->len; k++) {
                dump_node(s->root->children->pdata[k], 2);
            }
            continue;
        }
        if (s->described) {
            printf("  not decoded: %s\n", s->problem);
        }
        dump_hex(buf->data + s->payload_offset, s->payload_len,
                 s->payload_offset);
    }
}

int tools_cmd_dump(int argc, char **argv)
{
    g_autofree char *schema = NULL;
    gboolean as_json = FALSE;
    GOptionEntry entries[] = {
        {"schema", 's', 0, G_OPTION_ARG_FILENAME, &schema,
         "QEMU vmdesc JSON describing the devices", "VMDESC.json"},
        {"json", 'j', 0, G_OPTION_ARG_NONE, &as_json, "JSON output", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(
        "FILE - decode every section of a device-state file");
    g_autoptr(GError) err = NULL;
    g_autoptr(GByteArray) buf = NULL;
    json_t *vmdesc = NULL;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc != 2) {
        fprintf(stderr, "lockstep dump: %s\n",
                err ? err->message : "expected one FILE");
        return TOOLS_EXIT_ERROR;
    }
    g_autoptr(VmsDecoded) d =
        tools_decode_file(argv[1], schema, &buf, &vmdesc, &err);
    if (!d) {
        fprintf(stderr, "lockstep dump: %s\n", err->message);
        json_decref(vmdesc);
        return TOOLS_EXIT_ERROR;
    }
    if (as_json) {
        json_t *j = vms_decoded_to_json(d);
        json_dumpf(j, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
        printf("\n");
        json_decref(j);
    } else {
        dump_text(argv[1], d, buf);
    }
    json_decref(vmdesc);
    return TOOLS_EXIT_OK;
}
