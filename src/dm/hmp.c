/*
 * human-monitor-command: QEMU 7.2's HMP for a subset of its commands,
 * with QEMU's texts (recorded by scripts/record-hmp-qom-texts): help|?,
 * info (name, qtree, status, version), cont|c, stop|s, system_reset,
 * quit|q. Parsing is QEMU's (monitor/hmp.c): a command name ends at a
 * space or '/'; "unknown command: '...'" quotes the line up to the
 * unknown word; text after a command that takes no arguments is refused
 * with "NAME: extraneous characters at the end of line" and a "Try help"
 * line. Output lines end in "\r\n", as QEMU's do.
 *
 * `info qtree` prints the devices this machine has, each in QEMU's words
 * (properties, ports, IRQs), on two buses: the system bus (the PS/2
 * devices) and isa.0 (QEMU nests isa.0 under its PCI bridges, which this
 * machine does not have). `cpu-index` picks QEMU's default CPU for
 * commands that use one, and none here does: 0 is accepted on pc (QEMU's
 * pc has CPU 0; qmp-shell -H always sends it), anything else is refused
 * as QEMU refuses a CPU that does not exist.
 */
#include "dm/daemon.h"

#include <string.h>

#include "base/error.h"
#include "lockstep-config.h"

typedef struct DmHmpCmd DmHmpCmd;
typedef void (*DmHmpFn)(DmDaemon *d, GString *out, const char *arg);

struct DmHmpCmd {
    const char *name;   /* QEMU's, aliases after '|' */
    const char *params; /* as `help` shows them */
    const char *help;
    DmHmpFn fn;
    bool takes_arg;      /* the rest of the line (help's [cmd]) */
    const DmHmpCmd *sub; /* info's subcommands */
};

static const DmHmpCmd dm_hmp_cmds[];
static const DmHmpCmd dm_hmp_info_cmds[];

/* QEMU's hmp_compare_cmd: `name` equals one of the '|' alternatives. */
static bool dm_hmp_match(const char *name, size_t len, const char *list)
{
    for (const char *p = list; *p;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && !strncmp(p, name, len)) {
            return true;
        }
        p += n + (bar != NULL);
    }
    return false;
}

static const DmHmpCmd *dm_hmp_find(const DmHmpCmd *table, const char *name,
                                   size_t len)
{
    for (const DmHmpCmd *c = table; c->name; c++) {
        if (dm_hmp_match(name, len, c->name)) {
            return c;
        }
    }
    return NULL;
}

/* ---- help ---------------------------------------------------------------- */

static void dm_hmp_help_one(GString *out, const char *prefix, const DmHmpCmd *c)
{
    g_string_append_printf(out, "%s%s %s -- %s\n", prefix, c->name, c->params,
                           c->help);
}

/* QEMU's help_cmd_dump: all of `table`, or the command words[i] names. */
static void dm_hmp_help_dump(GString *out, const DmHmpCmd *table, char **words,
                             guint i, GString *prefix)
{
    const DmHmpCmd *c;

    if (!words[i]) {
        for (c = table; c->name; c++) {
            dm_hmp_help_one(out, prefix->str, c);
        }
        return;
    }
    c = dm_hmp_find(table, words[i], strlen(words[i]));
    if (!c) {
        g_string_append(out, "unknown command: '");
        for (guint k = 0; k <= i; k++) {
            g_string_append_printf(out, "%s%s", words[k], k == i ? "'\n" : " ");
        }
        return;
    }
    if (c->sub) {
        g_string_append_printf(prefix, "%s ", words[i]);
        dm_hmp_help_dump(out, c->sub, words, i + 1, prefix);
        return;
    }
    dm_hmp_help_one(out, prefix->str, c);
}

static void dm_hmp_help(DmDaemon *d, GString *out, const char *arg)
{
    g_auto(GStrv) split = g_strsplit_set(arg ? arg : "", " \t\n\r\v\f", -1);
    g_autoptr(GPtrArray) words = g_ptr_array_new();
    g_autoptr(GString) prefix = g_string_new(NULL);

    for (guint i = 0; split[i]; i++) {
        if (*split[i]) {
            g_ptr_array_add(words, split[i]);
        }
    }
    g_ptr_array_add(words, NULL);
    dm_hmp_help_dump(out, dm_hmp_cmds, (char **)words->pdata, 0, prefix);
}

static void dm_hmp_info_help(DmDaemon *d, GString *out, const char *arg)
{
    dm_hmp_help(d, out, "info");
}

/* ---- info ---------------------------------------------------------------- */

/* QEMU's hmp_info_status. */
static void dm_hmp_info_status(DmDaemon *d, GString *out, const char *arg)
{
    bool running = dm_runstate_is_running(&d->rs);

    g_string_append_printf(out, "VM status: %s",
                           running ? "running" : "paused");
    if (!running && d->rs.state != DM_RUN_PAUSED) {
        g_string_append_printf(out, " (%s)", dm_runstate_name(d->rs.state));
    }
    g_string_append_c(out, '\n');
}

/* QEMU prints QEMU_VERSION QEMU_PKGVERSION; ours as query-version. */
static void dm_hmp_info_version(DmDaemon *d, GString *out, const char *arg)
{
    g_string_append_printf(out, "%d.%d.%dlockstep %s\n", QMP_QEMU_MAJOR,
                           QMP_QEMU_MINOR, QMP_QEMU_MICRO, LOCKSTEP_VERSION);
}

static void dm_hmp_info_name(DmDaemon *d, GString *out, const char *arg)
{
    if (d->opts->name) {
        g_string_append_printf(out, "%s\n", d->opts->name);
    }
}

/* The UARTs' ports and IRQs (QEMU's isa-serial defaults, COM1..COM4). */
static const struct {
    unsigned iobase;
    unsigned irq;
} dm_hmp_com[] = {{0x3f8, 4}, {0x2f8, 3}, {0x3e8, 4}, {0x2e8, 3}};

static const char dm_hmp_qtree_isa_head[] =
    "bus: isa.0\n"
    "  type ISA\n"
    "  dev: port92, id \"\"\n"
    "    gpio-out \"a20\" 1\n"
    "  dev: i8042, id \"\"\n"
    "    gpio-in \"ps2-mouse-input-irq\" 1\n"
    "    gpio-in \"ps2-kbd-input-irq\" 1\n"
    "    gpio-out \"\" 2\n"
    "    gpio-out \"a20\" 1\n"
    "    extended-state = true\n"
    "    kbd-throttle = false\n"
    "    kbd-irq = 1 (0x1)\n"
    "    mouse-irq = 12 (0xc)\n";

static const char dm_hmp_qtree_isa_tail[] =
    "  dev: isa-pcspk, id \"\"\n"
    "    audiodev = \"\"\n"
    "    iobase = 97 (0x61)\n"
    "    migrate = true\n"
    "  dev: isa-pit, id \"\"\n"
    "    gpio-in \"\" 1\n"
    "    gpio-out \"\" 1\n"
    "    iobase = 64 (0x40)\n"
    "  dev: mc146818rtc, id \"\"\n"
    "    gpio-out \"\" 1\n"
    "    base_year = 0 (0x0)\n"
    "    iobase = 112 (0x70)\n"
    "    irq = 8 (0x8)\n"
    "    lost_tick_policy = \"discard\"\n"
    "  dev: isa-i8259, id \"\"\n"
    "    gpio-in \"\" 8\n"
    "    gpio-out \"\" 1\n"
    "    iobase = 160 (0xa0)\n"
    "    elcr_addr = 1233 (0x4d1)\n"
    "    elcr_mask = 222 (0xde)\n"
    "    master = false\n"
    "  dev: isa-i8259, id \"\"\n"
    "    gpio-in \"\" 8\n"
    "    gpio-out \"\" 1\n"
    "    iobase = 32 (0x20)\n"
    "    elcr_addr = 1232 (0x4d0)\n"
    "    elcr_mask = 248 (0xf8)\n"
    "    master = true\n";

/* Devices newest first, as QEMU lists a bus's children. */
static void dm_hmp_info_qtree(DmDaemon *d, GString *out, const char *arg)
{
    int nserial = 0;

    while (nserial < (int)G_N_ELEMENTS(dm_hmp_com) &&
           machine_serial(d->machine, nserial)) {
        nserial++;
    }

    g_string_append(out, "bus: main-system-bus\n"
                         "  type System\n");
    if (!d->machine->pc) {
        return;
    }
    g_string_append(out, "  dev: ps2-mouse, id \"\"\n"
                         "    gpio-out \"\" 1\n"
                         "  dev: ps2-kbd, id \"\"\n"
                         "    gpio-out \"\" 1\n");
    g_string_append(out, dm_hmp_qtree_isa_head);
    for (int i = nserial - 1; i >= 0 && i < (int)G_N_ELEMENTS(dm_hmp_com);
         i--) {
        g_string_append_printf(out,
                               "  dev: isa-serial, id \"\"\n"
                               "    index = %d (0x%x)\n"
                               "    iobase = %u (0x%x)\n"
                               "    irq = %u (0x%x)\n",
                               i, i, dm_hmp_com[i].iobase, dm_hmp_com[i].iobase,
                               dm_hmp_com[i].irq, dm_hmp_com[i].irq);
    }
    g_string_append(out, dm_hmp_qtree_isa_tail);
}

/* ---- run state ----------------------------------------------------------- */

static void dm_hmp_cont(DmDaemon *d, GString *out, const char *arg)
{
    dm_runstate_cont(&d->rs);
}

static void dm_hmp_stop(DmDaemon *d, GString *out, const char *arg)
{
    dm_runstate_stop(&d->rs);
}

static void dm_hmp_system_reset(DmDaemon *d, GString *out, const char *arg)
{
    dm_runstate_reset(&d->rs, false, "host-qmp-system-reset");
}

/* QEMU's hmp_quit requests the same shutdown as QMP's quit. */
static void dm_hmp_quit(DmDaemon *d, GString *out, const char *arg)
{
    dm_runstate_shutdown(&d->rs, false, "host-qmp-quit");
    dm_daemon_request_quit(d);
}

/* QEMU's tables, in QEMU's (sorted) order, texts verbatim. */
static const DmHmpCmd dm_hmp_info_cmds[] = {
    {"name", "", "show the current VM name", dm_hmp_info_name},
    {"qtree", "", "show device tree", dm_hmp_info_qtree},
    {"status", "", "show the current VM status (running|paused)",
     dm_hmp_info_status},
    {"version", "", "show the version of QEMU", dm_hmp_info_version},
    {NULL},
};

static const DmHmpCmd dm_hmp_cmds[] = {
    {"cont|c", "", "resume emulation", dm_hmp_cont},
    {"help|?", "[cmd]", "show the help", dm_hmp_help, true},
    {"info", "[subcommand]", "show various information about the system state",
     dm_hmp_info_help, false, dm_hmp_info_cmds},
    {"quit|q", "", "quit the emulator", dm_hmp_quit},
    {"stop|s", "", "stop emulation", dm_hmp_stop},
    {"system_reset", "", "reset the system", dm_hmp_system_reset},
    {NULL},
};

/* ---- parsing ------------------------------------------------------------- */

/* QEMU's monitor_parse_command: finds the command at *p (descending into
   subcommands), leaves *p after it and the spaces that follow. NULL for
   an empty line (no output) or an unknown command (reported). */
static const DmHmpCmd *dm_hmp_parse(GString *out, const char *start,
                                    const char **p, const DmHmpCmd *table)
{
    const char *name = *p;
    const char *end;
    const DmHmpCmd *c;

    while (g_ascii_isspace(*name)) {
        name++;
    }
    if (!*name) {
        return NULL;
    }
    for (end = name; *end && *end != '/' && !g_ascii_isspace(*end); end++) {
    }
    c = dm_hmp_find(table, name, (size_t)(end - name));
    if (!c) {
        g_string_append_printf(out, "unknown command: '%.*s'\n",
                               (int)(end - start), start);
        return NULL;
    }
    while (g_ascii_isspace(*end)) {
        end++;
    }
    *p = end;
    if (c->sub && *end) {
        return dm_hmp_parse(out, start, p, c->sub);
    }
    return c;
}

static void dm_hmp_run(DmDaemon *d, GString *out, const char *line)
{
    const char *p = line;
    const DmHmpCmd *c = dm_hmp_parse(out, line, &p, dm_hmp_cmds);
    const char *end = p;

    if (!c) {
        return;
    }
    if (!c->takes_arg && *p && !c->sub) {
        while (end > line && g_ascii_isspace(end[-1])) {
            end--;
        }
        g_string_append_printf(out,
                               "%s: extraneous characters at the end of "
                               "line\nTry \"help %.*s\" for more "
                               "information\n",
                               c->name, (int)(end - line), line);
        return;
    }
    c->fn(d, out, c->takes_arg ? p : NULL);
}

static json_t *qmp_cmd_human_monitor_command(json_t *args, QmpSession *s,
                                             void *opaque, GError **errp)
{
    DmDaemon *d = opaque;
    const char *line = json_string_value(json_object_get(args, "command-line"));
    g_autoptr(GString) out = g_string_new(NULL);
    g_autofree char *crlf = NULL;
    g_auto(GStrv) lines = NULL;
    json_t *cpu = json_object_get(args, "cpu-index");

    if (cpu && (!d->machine->pc || json_integer_value(cpu) != 0)) {
        ls_error_set(errp, "Parameter 'cpu-index' expects a CPU number");
        return NULL;
    }
    dm_hmp_run(d, out, line);
    lines = g_strsplit(out->str, "\n", -1);
    crlf = g_strjoinv("\r\n", lines);
    /* The line echoed back may hold what jansson's UTF-8 check refuses
       (C0 80, QMP's U+0000); the writer escapes it as QEMU does. */
    return json_stringn_nocheck(crlf, strlen(crlf));
}

static const QmpArg dm_args_hmp[] = {
    {"command-line", QMP_ARG_STR, false},
    {"cpu-index", QMP_ARG_INT, true},
    {NULL},
};

void dm_hmp_register(DmDaemon *d)
{
    qmp_commands_add(d->cmds, "human-monitor-command",
                     qmp_cmd_human_monitor_command, dm_args_hmp, 0, d);
}
