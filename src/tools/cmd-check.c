/*
 * lockstep check FILE [--schema VMDESC.json]: exit 0 when the file is
 * valid, 2 (and where) otherwise. The last line says which checks ran:
 * - framing, always: header, every section framed, footers consistent,
 *   EOF, no trailing bytes. A stream without section footers is framed
 *   by the layout of each section's description: --schema's, or without
 *   it lockstep's own (tools_own_vmdesc), so a footerless file with a
 *   section that has no description is invalid ("no section footers to
 *   find its end");
 * - the vmdesc layout, with --schema only: every described section decodes to
 *   exactly its footer-delimited length (sections the schema cannot
 *   describe are reported, not failures);
 * - a full load, when every section is one of lockstep-dm's own pc
 *   machine (tools_machine_new: all four UARTs and a vCPU, as machine/
 *   builds it for the daemon): the same checks as xen-load-devices-state,
 *   with the same messages (versions, subsections, every device's own
 *   rules). A file with sections of devices lockstep does not model (most
 *   QEMU files) gets framing (and layout) only, and the output names
 *   them.
 */
#include "tools.h"

#include <stdio.h>
#include <string.h>

#include "machine/machine.h"

#define TOOLS_CHECK_NAMED_UNKNOWN 4 /* unknown sections named in output */

/* The --schema layout results; false when a section's length mismatches.
   Without --schema, lockstep's own descriptions only frame (footerless
   streams); the load checks lockstep's sections, so nothing to do. */
static bool check_layout(const ToolsSetup *ts, unsigned *decoded)
{
    const ToolsInput *in = &ts->in[0];
    bool ok = true;

    *decoded = 0;
    if (!ts->schema) {
        return true;
    }
    for (guint i = 0; i < in->dec->sections->len; i++) {
        const VmsDecSection *s = in->dec->sections->pdata[i];
        *decoded += s->decoded;
        if (s->described && !s->decoded) {
            printf(
                "%s: section '%s' instance %u at 0x%zx: %s%s\n", in->path,
                s->idstr, s->instance_id, s->offset,
                s->length_mismatch ? "invalid: " : "not checked: ", s->problem);
            ok = ok && !s->length_mismatch;
        }
    }
    return ok;
}

/* Names (up to a few) of the sections the machine does not have. */
static char *check_unknown(const Machine *m, const VmsDecoded *d)
{
    g_autoptr(GString) names = g_string_new(NULL);
    unsigned n = 0;

    for (guint i = 0; i < d->sections->len; i++) {
        const VmsDecSection *s = d->sections->pdata[i];
        if (vms_registry_find(m->reg, s->idstr, s->instance_id) >= 0) {
            continue;
        }
        if (n++ < TOOLS_CHECK_NAMED_UNKNOWN) {
            g_string_append_printf(names, "%s'%s' %u", n > 1 ? ", " : "",
                                   s->idstr, s->instance_id);
        }
    }
    if (n > TOOLS_CHECK_NAMED_UNKNOWN) {
        g_string_append_printf(names, " and %u more",
                               n - TOOLS_CHECK_NAMED_UNKNOWN);
    }
    return n ? g_string_free(g_steal_pointer(&names), FALSE) : NULL;
}

/*
 * The full load, when the file is lockstep's machine's. Sets *ran, or
 * *unknown to the sections that kept it from running. False with *errp
 * when the load refuses the file.
 */
static bool check_load(const ToolsInput *in, bool *ran, char **unknown,
                       GError **errp)
{
    Machine *m = tools_machine_new(errp);
    bool ok;

    *ran = false;
    if (!m) {
        return false;
    }
    *unknown = check_unknown(m, in->dec);
    ok = *unknown || machine_load(m, in->buf->data, in->buf->len, errp);
    *ran = !*unknown;
    machine_free(m);
    return ok;
}

static void check_report(const ToolsSetup *s, bool load_ran,
                         const char *unknown, unsigned decoded)
{
    const VmsDecoded *d = s->in[0].dec;
    g_autoptr(GString) ran = g_string_new("framing");

    if (!d->footers) {
        g_string_append(ran, s->schema ? " (by the vmdesc layout)"
                                       : " (by lockstep's own device "
                                         "descriptions)");
    }
    if (s->schema) {
        g_string_append_printf(ran, ", vmdesc layout (%u of %u sections)",
                               decoded, d->sections->len);
    }
    if (load_ran) {
        g_string_append(ran, ", full load into lockstep-dm's pc machine "
                             "(with four UARTs)");
    } else {
        g_string_append_printf(ran,
                               "; no load check: sections lockstep-dm "
                               "does not have: %s",
                               unknown);
    }
    printf("%s: valid: %u sections, footers %s\n%s: checked: %s\n",
           s->in[0].path, d->sections->len, d->footers ? "on" : "off",
           s->in[0].path, ran->str);
}

int tools_cmd_check(int argc, char **argv)
{
    ToolsSetup s = {.nfiles = 1, .own_schema = true};
    g_autoptr(GError) err = NULL;
    g_autofree char *unknown = NULL;
    unsigned decoded;
    bool load_ran;
    int rc = TOOLS_EXIT_ERROR;

    if (!tools_setup(&s, argc, argv,
                     "FILE - check that a device-state file is valid", &err)) {
        if (s.failed >= 0) {
            printf("%s: invalid: %s\n", s.in[s.failed].path, err->message);
        } else {
            fprintf(stderr, "lockstep check: %s\n", err->message);
        }
    } else if (!check_layout(&s, &decoded)) {
        printf("%s: invalid: the vmdesc layout does not fit\n", s.in[0].path);
    } else if (!check_load(&s.in[0], &load_ran, &unknown, &err)) {
        printf("%s: invalid: %s\n", s.in[0].path, err->message);
    } else {
        check_report(&s, load_ran, unknown, decoded);
        rc = TOOLS_EXIT_OK;
    }
    tools_setup_clear(&s);
    return rc;
}
