/*
 * lockstep dump FILE [--schema VMDESC.json] [--json]: every section with
 * its ids, version, offsets and length; with a schema, the field tree with
 * values; without, the payload in hex.
 */
#include "tools.h"

#include <stdio.h>
#include <string.h>

/* 16 bytes a line: offset, hex, ASCII ('.' for the unprintable). */
static void dump_hex(const uint8_t *p, size_t len, size_t base, int indent)
{
    for (size_t i = 0; i < len; i += 16) {
        size_t end = MIN(i + 16, len);
        printf("%*s%08zx ", indent, "", base + i);
        for (size_t j = i; j < i + 16; j++) {
            printf(j < end ? " %02x" : "   ", j < end ? p[j] : 0);
        }
        printf("  |");
        for (size_t j = i; j < end; j++) {
            putchar(g_ascii_isprint(p[j]) ? p[j] : '.');
        }
        printf("|\n");
    }
}

/* The integer types vms_dec_node_value prints in decimal. */
static bool dump_is_int(const VmsDecNode *n)
{
    return (g_str_has_prefix(n->type, "int") ||
            g_str_has_prefix(n->type, "uint") || !strcmp(n->type, "bool") ||
            !strcmp(n->type, "timer")) &&
           (n->size == 1 || n->size == 2 || n->size == 4 || n->size == 8);
}

/* A leaf: an integer in decimal and hex (its bytes on the wire, so a
   negative one shows its two's complement); anything else as hex with
   its ASCII, as a hex dump beyond 16 bytes. */
static void dump_leaf(const VmsDecNode *n, int depth)
{
    g_autofree char *v = vms_dec_node_value(n);
    g_autoptr(GString) extra = g_string_new(NULL);

    if (!dump_is_int(n) && n->size > 16) {
        printf("%*s%s (%s) @0x%zx, %zu bytes:\n", depth * 2, "", n->name,
               n->type, n->offset, n->size);
        dump_hex(n->data, n->size, n->offset, depth * 2 + 2);
        return;
    }
    if (dump_is_int(n)) {
        g_string_append(extra, " (0x");
        for (size_t i = 0; i < n->size; i++) {
            g_string_append_printf(extra, "%02x", n->data[i]);
        }
        g_string_append_c(extra, ')');
    } else if (n->size > 0) {
        g_string_append(extra, "  |");
        for (size_t i = 0; i < n->size; i++) {
            g_string_append_c(
                extra, g_ascii_isprint(n->data[i]) ? (char)n->data[i] : '.');
        }
        g_string_append_c(extra, '|');
    }
    printf("%*s%s (%s) @0x%zx = %s%s\n", depth * 2, "", n->name, n->type,
           n->offset, v, extra->str);
}

static void dump_node(const VmsDecNode *n, int depth)
{
    if (!n->children) {
        dump_leaf(n, depth);
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
                 s->payload_offset, 4);
    }
}

int tools_cmd_dump(int argc, char **argv)
{
    ToolsSetup s = {.nfiles = 1, .json_option = true, .own_schema = true};
    g_autoptr(GError) err = NULL;

    if (!tools_setup(&s, argc, argv,
                     "FILE - decode every section of a device-state file",
                     &err)) {
        tools_setup_print_error(&s, "dump", err);
        tools_setup_clear(&s);
        return TOOLS_EXIT_ERROR;
    }
    if (s.as_json) {
        json_t *j = vms_decoded_to_json(s.in[0].dec);
        json_dumpf(j, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
        printf("\n");
        json_decref(j);
    } else {
        dump_text(s.in[0].path, s.in[0].dec, s.in[0].buf);
    }
    tools_setup_clear(&s);
    return TOOLS_EXIT_OK;
}
