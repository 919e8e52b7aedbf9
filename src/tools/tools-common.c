/*
 * The setup dump, diff and check share: options, schema, files ("-":
 * stdin), decode. Without --schema, dump and diff decode with lockstep's
 * own descriptions, so lockstep's sections (and QEMU's of the same
 * devices) show by field name; sections of devices lockstep lacks stay
 * hex.
 */
#include "tools.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "machine/machine.h"

static bool tools_parse(ToolsSetup *s, int *argc, char ***argv,
                        const char *params, GError **errp)
{
    GOptionEntry entries[] = {
        {"schema", 's', 0, G_OPTION_ARG_FILENAME, &s->schema,
         "QEMU vmdesc JSON describing the devices", "VMDESC.json"},
        {"json", 'j', 0, G_OPTION_ARG_NONE, &s->as_json, "JSON output", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(params);

    if (!s->json_option) {
        entries[1] = entries[2];
    }
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, argc, argv, errp)) {
        return false;
    }
    if (*argc != s->nfiles + 1) {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                    s->nfiles == 1 ? "expected one FILE"
                                   : "expected two files A B");
        return false;
    }
    return true;
}

/* The whole input; errors do not name it (the caller does, once). */
static bool tools_read_input(const char *path, GByteArray **buf, GError **errp)
{
    bool is_stdin = !strcmp(path, "-");
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    bool ok;

    if (fd < 0) {
        ls_error_set(errp, "cannot open: %s", g_strerror(errno));
        return false;
    }
    ok = vms_read_fd(fd, buf, errp);
    if (!is_stdin) {
        close(fd);
    }
    return ok;
}

Machine *tools_machine_new(GError **errp)
{
    static const uint8_t blank_bios[VCPU_BIOS_ALIGN];
    MachineOpts mo = {
        .kind = MACHINE_PC,
        .load.unknown = VMS_UNKNOWN_REJECT,
        .nserial = MACHINE_MAX_SERIAL,
        .bios = blank_bios,
        .bios_len = sizeof(blank_bios),
    };

    return machine_new(&mo, errp);
}

json_t *tools_own_vmdesc(GError **errp)
{
    Machine *m = tools_machine_new(errp);
    g_autofree char *text = m ? vms_vmdesc_export(m->reg, errp) : NULL;
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;

    machine_free(m);
    if (text && !v) {
        ls_error_set(errp, "lockstep's own vmdesc does not parse");
    }
    return v;
}

/* --schema FILE, or "-": the vmdesc from stdin (same cap and check as
   vms_vmdesc_read). */
static json_t *tools_read_schema(const char *path, GError **errp)
{
    g_autoptr(GByteArray) a = NULL;
    json_error_t jerr;
    json_t *j;

    if (strcmp(path, "-")) {
        return vms_vmdesc_read(path, errp);
    }
    if (!tools_read_input(path, &a, errp)) {
        g_prefix_error(errp, "-: ");
        return NULL;
    }
    if (a->len > VMS_MAX_VMDESC_SIZE) {
        ls_error_set(errp, "-: vmdesc larger than the %u byte cap",
                     VMS_MAX_VMDESC_SIZE);
        return NULL;
    }
    j = json_loadb((const char *)a->data, a->len, 0, &jerr);
    if (!j || !json_is_array(json_object_get(j, "devices"))) {
        ls_error_set(errp, "-: not a vmdesc JSON (line %d: %s)", jerr.line,
                     j ? "no \"devices\" array" : jerr.text);
        json_decref(j);
        return NULL;
    }
    return j;
}

static bool tools_decode_input(ToolsSetup *s, ToolsInput *in, GError **errp)
{
    if (!tools_read_input(in->path, &in->buf, errp)) {
        return false;
    }
    in->dec = vms_decode(in->buf->data, in->buf->len, s->vmdesc, errp);
    return in->dec != NULL;
}

bool tools_setup(ToolsSetup *s, int argc, char **argv, const char *params,
                 GError **errp)
{
    s->failed = TOOLS_FAILED_USAGE;
    if (!tools_parse(s, &argc, &argv, params, errp)) {
        return false;
    }
    for (int i = 0; i < s->nfiles; i++) {
        s->in[i].path = g_strdup(argv[i + 1]);
    }
    s->failed = TOOLS_FAILED_SCHEMA;
    if (s->schema || s->own_schema) {
        s->vmdesc = s->schema ? tools_read_schema(s->schema, errp)
                              : tools_own_vmdesc(errp);
        if (!s->vmdesc) {
            return false;
        }
    }
    for (int i = 0; i < s->nfiles; i++) {
        s->failed = i;
        if (!tools_decode_input(s, &s->in[i], errp)) {
            return false;
        }
    }
    s->failed = TOOLS_FAILED_NONE;
    return true;
}

void tools_setup_clear(ToolsSetup *s)
{
    for (int i = 0; i < TOOLS_MAX_FILES; i++) {
        g_free(s->in[i].path);
        if (s->in[i].buf) {
            g_byte_array_unref(s->in[i].buf);
        }
        vms_decoded_free(s->in[i].dec);
    }
    g_free(s->schema);
    json_decref(s->vmdesc);
    memset(s, 0, sizeof(*s));
}

void tools_setup_print_error(const ToolsSetup *s, const char *cmd,
                             const GError *err)
{
    if (s->failed >= 0) {
        fprintf(stderr, "lockstep %s: %s: %s\n", cmd, s->in[s->failed].path,
                err->message);
    } else {
        fprintf(stderr, "lockstep %s: %s\n", cmd, err->message);
    }
}
