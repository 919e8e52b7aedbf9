/*
 * lockstep-dm's command line: QEMU's spelling for the subset in DESIGN.md.
 * Options start with one dash (two are accepted, as QEMU); option keys may
 * come in any order. -chardev/-mon pairs are resolved after the whole line
 * is read, so their order does not matter either. Leaves out everything
 * DESIGN.md does not list: an unknown option is an error, never ignored.
 */
#include "dm/options.h"

#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "cpu/ram.h"
#include "dm/options-kv.h"

typedef struct DmChardev {
    char *id;
    char *backend;
    GPtrArray *kv; /* LsOpt * */
} DmChardev;

typedef struct DmParse {
    DmOptions *opts;
    GPtrArray *chardevs; /* DmChardev * */
    GPtrArray *mons;     /* char *: chardev ids from -mon, in order */
} DmParse;

typedef bool (*DmOptFn)(DmParse *p, const char *opt, const char *arg,
                        GError **errp);

typedef struct DmOptDef {
    const char *name;
    bool has_arg;
    DmOptFn fn;
} DmOptDef;

static void dm_chardev_free(gpointer ptr)
{
    DmChardev *c = ptr;

    g_free(c->id);
    g_free(c->backend);
    g_ptr_array_unref(c->kv);
    g_free(c);
}

static void dm_set_str(char **dst, const char *val)
{
    g_free(*dst);
    *dst = g_strdup(val);
}

static bool dm_opt_flag(DmParse *p, const char *opt, const char *arg,
                        GError **errp)
{
    DmOptions *o = p->opts;

    if (!strcmp(opt, "S")) {
        o->start_paused = true;
    } else if (!strcmp(opt, "nodefaults")) {
        o->nodefaults = true;
    } else if (!strcmp(opt, "no-fd-bootchk")) {
        o->no_fd_bootchk = true;
    } else if (!strcmp(opt, "daemonize")) {
        o->daemonize = true;
    } else if (!strcmp(opt, "version")) {
        o->show_version = true;
    } else if (!strcmp(opt, "help") || !strcmp(opt, "h")) {
        o->show_help = true;
    } else if (!strcmp(opt, "preconfig")) {
        o->preconfig = true;
    }
    return true; /* -nographic: nothing to do without a display */
}

static bool dm_opt_str(DmParse *p, const char *opt, const char *arg,
                       GError **errp)
{
    DmOptions *o = p->opts;

    if (!strcmp(opt, "pidfile")) {
        dm_set_str(&o->pidfile, arg);
    } else if (!strcmp(opt, "qtest")) {
        dm_set_str(&o->qtest_spec, arg);
    } else if (!strcmp(opt, "qtest-log")) {
        dm_set_str(&o->qtest_log, arg);
    }
    return true;
}

/* -display none / -audio none / -vga none: the only values that make
   sense without a display (QEMUMachine passes -vga none). */
static bool dm_opt_none_only(DmParse *p, const char *opt, const char *arg,
                             GError **errp)
{
    g_autoptr(GPtrArray) kv = ls_opts_split(arg, "type");
    const char *type = ls_opts_get(kv, "type");

    if (!type || strcmp(type, "none")) {
        ls_error_set(errp, "-%s %s: only 'none' is supported", opt, arg);
        return false;
    }
    return true;
}

static bool dm_opt_name(DmParse *p, const char *opt, const char *arg,
                        GError **errp)
{
    static const char *const keys[] = {"guest", "process", "debug-threads",
                                       NULL};
    g_autoptr(GPtrArray) kv = ls_opts_split(arg, "guest");
    g_autofree char *what = g_strdup_printf("-name %s", arg);

    if (!ls_opts_check_keys(kv, what, keys, errp)) {
        return false;
    }
    dm_set_str(&p->opts->name, ls_opts_get(kv, "guest"));
    return true;
}

static bool dm_opt_accel_name(DmParse *p, const char *what, const char *val,
                              GError **errp)
{
    if (!strcmp(val, "qtest")) {
        p->opts->accel_qtest = true;
    } else if (!strcmp(val, "tcg") || !strcmp(val, "kvm")) {
        p->opts->accel_qtest = false; /* no CPU here: real-time clock */
    } else {
        ls_error_set(errp, "%s: invalid accelerator %s", what, val);
        return false;
    }
    return true;
}

static bool dm_opt_accel(DmParse *p, const char *opt, const char *arg,
                         GError **errp)
{
    static const char *const keys[] = {"accel", "thread", NULL};
    g_autoptr(GPtrArray) kv = ls_opts_split(arg, "accel");
    g_autofree char *what = g_strdup_printf("-accel %s", arg);
    const char *accel = ls_opts_get(kv, "accel");

    if (!ls_opts_check_keys(kv, what, keys, errp)) {
        return false;
    }
    if (!accel) {
        ls_error_set(errp, "%s: Parameter 'accel' is missing", what);
        return false;
    }
    return dm_opt_accel_name(p, what, accel, errp);
}

static bool dm_opt_mem(DmParse *p, const char *opt, const char *arg,
                       GError **errp)
{
    static const char *const keys[] = {"size", NULL};
    g_autoptr(GPtrArray) kv = ls_opts_split(arg, "size");
    g_autofree char *what = g_strdup_printf("-m %s", arg);
    const char *size = ls_opts_get(kv, "size");

    if (!ls_opts_check_keys(kv, what, keys, errp)) {
        return false;
    }
    return ram_size_parse(what, size ? size : "", &p->opts->ram_size, errp);
}

static bool dm_machine_type(DmParse *p, const char *what, const char *type,
                            GError **errp)
{
    if (!strcmp(type, "pc") || !strcmp(type, "pc-i440fx-7.2")) {
        p->opts->machine = DM_MACHINE_PC;
    } else if (!strcmp(type, "none")) {
        p->opts->machine = DM_MACHINE_NONE;
    } else {
        ls_error_set(errp, "%s: unsupported machine type '%s' (pc or none)",
                     what, type);
        return false;
    }
    return true;
}

static bool dm_opt_machine(DmParse *p, const char *opt, const char *arg,
                           GError **errp)
{
    static const char *const keys[] = {"type", "section-footers",
                                       "unknown-sections", "accel", NULL};
    g_autoptr(GPtrArray) kv = ls_opts_split(arg, "type");
    g_autofree char *what = g_strdup_printf("-%s %s", opt, arg);
    const char *type = ls_opts_get(kv, "type");
    const char *footers = ls_opts_get(kv, "section-footers");
    const char *unknown = ls_opts_get(kv, "unknown-sections");
    const char *accel = ls_opts_get(kv, "accel");

    if (!ls_opts_check_keys(kv, what, keys, errp)) {
        return false;
    }
    if (type && !dm_machine_type(p, what, type, errp)) {
        return false;
    }
    if (footers && !ls_opts_parse_bool(what, "section-footers", footers,
                                       &p->opts->section_footers, errp)) {
        return false;
    }
    if (unknown && !strcmp(unknown, "reject")) {
        p->opts->unknown_sections = VMS_UNKNOWN_REJECT;
    } else if (unknown && !strcmp(unknown, "skip")) {
        p->opts->unknown_sections = VMS_UNKNOWN_SKIP;
    } else if (unknown) {
        ls_error_set(errp, "%s: unknown-sections must be reject or skip", what);
        return false;
    }
    return !accel || dm_opt_accel_name(p, what, accel, errp);
}

static bool dm_opt_qmp(DmParse *p, const char *opt, const char *arg,
                       GError **errp)
{
    g_autofree char *what = g_strdup_printf("-%s %s", opt, arg);
    DmSockSpec *s = g_new0(DmSockSpec, 1);

    if (!dm_sock_spec_parse(what, arg, s, errp)) {
        dm_sock_spec_free(s);
        return false;
    }
    g_ptr_array_add(p->opts->monitors, s);
    return true;
}

static bool dm_opt_chardev(DmParse *p, const char *opt, const char *arg,
                           GError **errp)
{
    g_autofree char *what = g_strdup_printf("-chardev %s", arg);
    DmChardev *c = g_new0(DmChardev, 1);
    const char *id;

    c->kv = ls_opts_split(arg, "backend");
    id = ls_opts_get(c->kv, "id");
    c->backend = g_strdup(ls_opts_get(c->kv, "backend"));
    c->id = g_strdup(id);
    if (!id || !c->backend) {
        ls_error_set(errp, "%s: Parameter '%s' is missing", what,
                     id ? "backend" : "id");
        dm_chardev_free(c);
        return false;
    }
    for (guint i = 0; i < p->chardevs->len; i++) {
        DmChardev *o = g_ptr_array_index(p->chardevs, i);

        if (!strcmp(o->id, id)) {
            ls_error_set(errp, "%s: Duplicate ID '%s' for chardev", what, id);
            dm_chardev_free(c);
            return false;
        }
    }
    g_ptr_array_add(p->chardevs, c);
    return true;
}

static bool dm_opt_mon(DmParse *p, const char *opt, const char *arg,
                       GError **errp)
{
    static const char *const keys[] = {"chardev", "mode", "pretty", "id", NULL};
    g_autoptr(GPtrArray) kv = ls_opts_split(arg, "chardev");
    g_autofree char *what = g_strdup_printf("-mon %s", arg);
    const char *chardev = ls_opts_get(kv, "chardev");
    const char *mode = ls_opts_get(kv, "mode");
    const char *pretty = ls_opts_get(kv, "pretty");

    if (!ls_opts_check_keys(kv, what, keys, errp)) {
        return false;
    }
    if (!chardev) {
        ls_error_set(errp, "%s: Parameter 'chardev' is missing", what);
        return false;
    }
    if (!mode || strcmp(mode, "control")) {
        ls_error_set(errp, "%s: only mode=control (QMP) is supported", what);
        return false;
    }
    if (pretty && strcmp(pretty, "off")) {
        ls_error_set(errp, "%s: pretty=on is not supported", what);
        return false;
    }
    g_ptr_array_add(p->mons, g_strdup(chardev));
    return true;
}

static bool dm_serial_spec_ok(const char *spec)
{
    static const char *const plain[] = {"null", "stdio", "pty", NULL};

    return g_strv_contains(plain, spec) ||
           (g_str_has_prefix(spec, "file:") && spec[5]) ||
           (g_str_has_prefix(spec, "unix:") && spec[5]) ||
           (g_str_has_prefix(spec, "chardev:") && spec[8]);
}

static bool dm_opt_serial(DmParse *p, const char *opt, const char *arg,
                          GError **errp)
{
    DmOptions *o = p->opts;

    if (!strcmp(arg, "none")) {
        o->nodefaults = true; /* QEMU: no port here, and no default COM1 */
        return true;
    }
    if (!dm_serial_spec_ok(arg)) {
        ls_error_set(errp,
                     "-serial %s: unsupported backend (null, stdio, "
                     "file:PATH, unix:PATH[,server=on,wait=off], pty)",
                     arg);
        return false;
    }
    if (o->nserial == DM_MAX_SERIAL) {
        ls_error_set(errp, "-serial %s: too many serial ports (at most %d)",
                     arg, DM_MAX_SERIAL);
        return false;
    }
    o->serial[o->nserial++] = g_strdup(arg);
    return true;
}

static bool dm_opt_rtc_base(const char *what, const char *base, GError **errp)
{
    int y, mo, d, h, mi, s;
    char tail;

    if (!strcmp(base, "utc") || !strcmp(base, "localtime") ||
        sscanf(base, "%d-%d-%dT%d:%d:%d%c", &y, &mo, &d, &h, &mi, &s, &tail) ==
            6 ||
        sscanf(base, "%d-%d-%d%c", &y, &mo, &d, &tail) == 3) {
        return true;
    }
    ls_error_set(errp,
                 "%s: invalid datetime format; valid formats: "
                 "'2006-06-17T16:01:21' or '2006-06-17'",
                 what);
    return false;
}

static bool dm_opt_rtc(DmParse *p, const char *opt, const char *arg,
                       GError **errp)
{
    static const char *const keys[] = {"base", "clock", "driftfix", NULL};
    static const char *const clocks[] = {"host", "rt", "vm", NULL};
    g_autoptr(GPtrArray) kv = ls_opts_split(arg, NULL);
    g_autofree char *what = g_strdup_printf("-rtc %s", arg);
    const char *base = ls_opts_get(kv, "base");
    const char *clock = ls_opts_get(kv, "clock");

    if (!ls_opts_check_keys(kv, what, keys, errp)) {
        return false;
    }
    if (base && !dm_opt_rtc_base(what, base, errp)) {
        return false;
    }
    if (clock && !g_strv_contains(clocks, clock)) {
        ls_error_set(errp, "%s: invalid clock '%s' (host, rt or vm)", what,
                     clock);
        return false;
    }
    if (base) {
        dm_set_str(&p->opts->rtc_base, base);
    }
    if (clock) {
        dm_set_str(&p->opts->rtc_clock, clock);
    }
    return true;
}

/* Boot devices are the letters a..p, each at most once (QEMU's rule). */
static bool dm_boot_devices_ok(const char *what, const char *devs,
                               GError **errp)
{
    unsigned seen = 0;

    for (const char *c = devs; *c; c++) {
        if (*c < 'a' || *c > 'p') {
            ls_error_set(errp, "%s: Invalid boot device '%c'", what, *c);
            return false;
        }
        if (seen & (1u << (*c - 'a'))) {
            ls_error_set(errp, "%s: Boot device '%c' was given twice", what,
                         *c);
            return false;
        }
        seen |= 1u << (*c - 'a');
    }
    return true;
}

static bool dm_opt_boot(DmParse *p, const char *opt, const char *arg,
                        GError **errp)
{
    static const char *const keys[] = {
        "order",  "once",        "menu",           "strict",
        "splash", "splash-time", "reboot-timeout", NULL};
    g_autoptr(GPtrArray) kv = ls_opts_split(arg, "order");
    g_autofree char *what = g_strdup_printf("-boot %s", arg);
    const char *order = ls_opts_get(kv, "order");
    const char *once = ls_opts_get(kv, "once");

    if (!ls_opts_check_keys(kv, what, keys, errp)) {
        return false;
    }
    if ((order && !dm_boot_devices_ok(what, order, errp)) ||
        (once && !dm_boot_devices_ok(what, once, errp))) {
        return false;
    }
    if (order) {
        dm_set_str(&p->opts->boot_order, order);
    }
    if (once) {
        dm_set_str(&p->opts->boot_once, once);
    }
    return true;
}

static const DmOptDef dm_opt_defs[] = {
    {"S", false, dm_opt_flag},
    {"nodefaults", false, dm_opt_flag},
    {"no-fd-bootchk", false, dm_opt_flag},
    {"daemonize", false, dm_opt_flag},
    {"version", false, dm_opt_flag},
    {"help", false, dm_opt_flag},
    {"h", false, dm_opt_flag},
    {"nographic", false, dm_opt_flag},
    {"preconfig", false, dm_opt_flag},
    {"name", true, dm_opt_name},
    {"machine", true, dm_opt_machine},
    {"M", true, dm_opt_machine},
    {"accel", true, dm_opt_accel},
    {"m", true, dm_opt_mem},
    {"qmp", true, dm_opt_qmp},
    {"chardev", true, dm_opt_chardev},
    {"mon", true, dm_opt_mon},
    {"serial", true, dm_opt_serial},
    {"qtest", true, dm_opt_str},
    {"qtest-log", true, dm_opt_str},
    {"pidfile", true, dm_opt_str},
    {"rtc", true, dm_opt_rtc},
    {"boot", true, dm_opt_boot},
    {"display", true, dm_opt_none_only},
    {"audio", true, dm_opt_none_only},
    {"vga", true, dm_opt_none_only},
};

static const DmOptDef *dm_opt_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(dm_opt_defs); i++) {
        if (!strcmp(dm_opt_defs[i].name, name)) {
            return &dm_opt_defs[i];
        }
    }
    return NULL;
}

static DmChardev *dm_chardev_find(DmParse *p, const char *id)
{
    for (guint i = 0; i < p->chardevs->len; i++) {
        DmChardev *c = g_ptr_array_index(p->chardevs, i);

        if (!strcmp(c->id, id)) {
            return c;
        }
    }
    return NULL;
}

/* -mon chardev=ID: the chardev must be a socket; it becomes a monitor. */
static bool dm_resolve_mon(DmParse *p, const char *id, GError **errp)
{
    static const char *const keys[] = {"backend", "id", "path",   "host",
                                       "port",    "fd", "server", "wait",
                                       "nowait",  NULL};
    DmChardev *c = dm_chardev_find(p, id);
    g_autofree char *what = g_strdup_printf("-chardev id=%s", id);
    DmSockSpec *s;

    if (!c) {
        ls_error_set(errp, "-mon chardev=%s: chardev \"%s\" not found", id, id);
        return false;
    }
    if (strcmp(c->backend, "socket")) {
        ls_error_set(errp, "%s: a QMP monitor needs a socket chardev", what);
        return false;
    }
    if (!ls_opts_check_keys(c->kv, what, keys, errp)) {
        return false;
    }
    s = g_new0(DmSockSpec, 1);
    if (!dm_sock_spec_from_chardev(what, c->kv, s, errp)) {
        dm_sock_spec_free(s);
        return false;
    }
    g_ptr_array_add(p->opts->monitors, s);
    return true;
}

/* -serial chardev:ID becomes the equivalent -serial SPEC. */
static bool dm_resolve_serial(DmParse *p, char **spec, GError **errp)
{
    DmChardev *c = dm_chardev_find(p, *spec + strlen("chardev:"));
    const char *path = c ? ls_opts_get(c->kv, "path") : NULL;
    char *out = NULL;

    if (c && (!strcmp(c->backend, "null") || !strcmp(c->backend, "stdio") ||
              !strcmp(c->backend, "pty"))) {
        out = g_strdup(c->backend);
    } else if (c && path && !strcmp(c->backend, "file")) {
        out = g_strdup_printf("file:%s", path);
    } else if (c && path && !strcmp(c->backend, "socket")) {
        DmSockSpec s;

        if (!dm_sock_spec_from_chardev(*spec, c->kv, &s, errp)) {
            g_free(s.path);
            return false;
        }
        out = dm_sock_spec_str(&s);
        g_free(s.path);
    }
    if (!out) {
        ls_error_set(errp, "-serial %s: no usable chardev with that id", *spec);
        return false;
    }
    g_free(*spec);
    *spec = out;
    return true;
}

static bool dm_options_resolve(DmParse *p, GError **errp)
{
    DmOptions *o = p->opts;

    for (guint i = 0; i < p->mons->len; i++) {
        if (!dm_resolve_mon(p, g_ptr_array_index(p->mons, i), errp)) {
            return false;
        }
    }
    for (int i = 0; i < o->nserial; i++) {
        if (g_str_has_prefix(o->serial[i], "chardev:") &&
            !dm_resolve_serial(p, &o->serial[i], errp)) {
            return false;
        }
    }
    for (guint i = 0; i < o->monitors->len; i++) {
        g_ptr_array_add(o->qmp_specs,
                        dm_sock_spec_str(g_ptr_array_index(o->monitors, i)));
    }
    return true;
}

const char *dm_options_usage(void)
{
    return "usage: lockstep-dm [options]\n"
           "\n"
           "-S                      start paused (prelaunch)\n"
           "-name NAME              guest name (query-name)\n"
           "-machine pc[,section-footers=on|off][,unknown-sections=reject|skip]"
           "\n"
           "-machine none           no devices (QMP only); -M is -machine\n"
           "-qmp unix:PATH,server=on,wait=off | tcp:HOST:PORT,server=on,"
           "wait=off\n"
           "-chardev socket,id=ID,path=PATH|fd=N[,server=on,wait=off]\n"
           "-mon chardev=ID,mode=control\n"
           "-serial null|stdio|file:PATH|unix:PATH[,server=on,wait=off]|pty\n"
           "-nodefaults             no default COM1\n"
           "-qtest unix:PATH[,server=on,wait=off]   -qtest-log PATH\n"
           "-accel qtest            virtual clock moves only by qtest\n"
           "-m [size=]SIZE          guest RAM (suffix B/K/M/G/T, default MiB)\n"
           "-rtc base=utc|localtime|DATETIME[,clock=host|rt|vm]\n"
           "-boot [order=]DRIVES[,once=DRIVES]   -no-fd-bootchk\n"
           "-pidfile PATH  -daemonize  -version  -help (or -h)\n"
           "-nographic  -display none  -audio none  -vga none   (accepted, no "
           "effect)\n"
           "--preconfig             wait for x-exit-preconfig before starting "
           "(QEMU's run states)\n";
}

const char *dm_options_name(size_t i)
{
    return i < G_N_ELEMENTS(dm_opt_defs) ? dm_opt_defs[i].name : NULL;
}

static void dm_options_defaults(DmOptions *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->machine = DM_MACHINE_PC;
    opts->section_footers = true;
    opts->unknown_sections = VMS_UNKNOWN_REJECT;
    opts->qmp_specs = g_ptr_array_new_with_free_func(g_free);
    opts->monitors =
        g_ptr_array_new_with_free_func((GDestroyNotify)dm_sock_spec_free);
    opts->boot_order = g_strdup("cad");
}

static bool dm_options_walk(DmParse *p, int argc, char **argv, GError **errp)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *name = arg + (arg[1] == '-' ? 2 : 1);
        const DmOptDef *def = arg[0] == '-' ? dm_opt_find(name) : NULL;

        if (!def) {
            ls_error_set(errp,
                         arg[0] == '-'
                             ? "%s: invalid option"
                             : "%s: unexpected argument (no disk images here)",
                         arg);
            return false;
        }
        if (def->has_arg && i + 1 >= argc) {
            ls_error_set(errp, "%s: requires an argument", arg);
            return false;
        }
        if (!def->fn(p, def->name, def->has_arg ? argv[++i] : NULL, errp)) {
            return false;
        }
    }
    return true;
}

bool dm_options_parse(DmOptions *opts, int argc, char **argv, GError **errp)
{
    DmParse p = {
        .opts = opts,
        .chardevs = g_ptr_array_new_with_free_func(dm_chardev_free),
        .mons = g_ptr_array_new_with_free_func(g_free),
    };
    bool ok;

    dm_options_defaults(opts);
    ok = dm_options_walk(&p, argc, argv, errp) && dm_options_resolve(&p, errp);
    g_ptr_array_unref(p.chardevs);
    g_ptr_array_unref(p.mons);
    return ok;
}

void dm_options_clear(DmOptions *opts)
{
    g_free(opts->name);
    if (opts->qmp_specs) {
        g_ptr_array_unref(opts->qmp_specs);
    }
    if (opts->monitors) {
        g_ptr_array_unref(opts->monitors);
    }
    for (int i = 0; i < opts->nserial; i++) {
        g_free(opts->serial[i]);
    }
    g_free(opts->qtest_spec);
    g_free(opts->qtest_log);
    g_free(opts->rtc_base);
    g_free(opts->rtc_clock);
    g_free(opts->boot_order);
    g_free(opts->boot_once);
    g_free(opts->pidfile);
    memset(opts, 0, sizeof(*opts));
}
