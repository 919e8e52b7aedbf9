/* dm_options_parse: QEMU spellings, keys in any order, errors. */
#include <string.h>

#include "dm/options.h"

static bool parse(DmOptions *o, GError **errp, ...)
{
    GPtrArray *argv = g_ptr_array_new();
    va_list ap;
    const char *a;
    bool ok;

    g_ptr_array_add(argv, (char *)"lockstep-dm");
    va_start(ap, errp);
    while ((a = va_arg(ap, const char *))) {
        g_ptr_array_add(argv, (char *)a);
    }
    va_end(ap);
    ok = dm_options_parse(o, argv->len, (char **)argv->pdata, errp);
    g_ptr_array_free(argv, TRUE);
    return ok;
}

static void test_defaults(void)
{
    DmOptions o;

    g_assert_true(parse(&o, NULL, NULL));
    g_assert_cmpint(o.machine, ==, DM_MACHINE_PC);
    g_assert_true(o.section_footers);
    g_assert_cmpint(o.unknown_sections, ==, VMS_UNKNOWN_REJECT);
    g_assert_false(o.start_paused);
    g_assert_cmpstr(o.boot_order, ==, "cad");
    g_assert_cmpuint(o.qmp_specs->len, ==, 0);
    dm_options_clear(&o);
}

static void test_machine_keys_any_order(void)
{
    DmOptions o;

    g_assert_true(parse(&o, NULL, "-machine",
                        "unknown-sections=skip,section-footers=off,type=pc",
                        "-S", NULL));
    g_assert_cmpint(o.machine, ==, DM_MACHINE_PC);
    g_assert_false(o.section_footers);
    g_assert_cmpint(o.unknown_sections, ==, VMS_UNKNOWN_SKIP);
    g_assert_true(o.start_paused);
    dm_options_clear(&o);
    g_assert_true(parse(&o, NULL, "-M", "none", NULL));
    g_assert_cmpint(o.machine, ==, DM_MACHINE_NONE);
    dm_options_clear(&o);
}

static void test_qmp_forms(void)
{
    DmOptions o;
    DmSockSpec *s;

    g_assert_true(parse(&o, NULL, "-qmp", "unix:/tmp/a,server=on,wait=off",
                        "-qmp", "unix:/tmp/b,server,nowait", "-qmp",
                        "tcp:127.0.0.1:4444,wait=off,server=on", NULL));
    g_assert_cmpuint(o.monitors->len, ==, 3);
    g_assert_cmpstr(g_ptr_array_index(o.qmp_specs, 0), ==,
                    "unix:/tmp/a,server=on,wait=off");
    g_assert_cmpstr(g_ptr_array_index(o.qmp_specs, 1), ==,
                    "unix:/tmp/b,server=on,wait=off");
    s = g_ptr_array_index(o.monitors, 2);
    g_assert_cmpint(s->kind, ==, DM_SOCK_TCP);
    g_assert_cmpstr(s->host, ==, "127.0.0.1");
    g_assert_cmpstr(s->port, ==, "4444");
    g_assert_true(s->server);
    g_assert_false(s->wait);
    dm_options_clear(&o);
}

static void test_chardev_mon(void)
{
    DmOptions o;
    DmSockSpec *s;

    /* -mon before -chardev, keys in any order, libxl's fd form. */
    g_assert_true(parse(&o, NULL, "-mon", "mode=control,chardev=c1", "-chardev",
                        "socket,path=/tmp/q,id=c0", "-chardev",
                        "socket,wait=off,server=on,fd=7,id=c1", "-mon",
                        "chardev=c0,mode=control", NULL));
    g_assert_cmpuint(o.monitors->len, ==, 2);
    s = g_ptr_array_index(o.monitors, 0);
    g_assert_cmpint(s->kind, ==, DM_SOCK_FD);
    g_assert_cmpint(s->fd, ==, 7);
    g_assert_cmpstr(g_ptr_array_index(o.qmp_specs, 0), ==, "fd:7");
    s = g_ptr_array_index(o.monitors, 1);
    g_assert_cmpint(s->kind, ==, DM_SOCK_UNIX);
    g_assert_false(s->server); /* libqtest: we connect out */
    g_assert_cmpstr(g_ptr_array_index(o.qmp_specs, 1), ==, "unix:/tmp/q");
    dm_options_clear(&o);
}

static void test_serial_rtc_boot(void)
{
    DmOptions o;

    g_assert_true(parse(&o, NULL, "-serial", "null", "-serial", "file:/tmp/s",
                        "-chardev", "socket,id=s0,path=/tmp/u", "-serial",
                        "chardev:s0", "-rtc",
                        "clock=vm,base=2006-06-17T16:01:21", "-boot",
                        "once=d,order=nc", "-no-fd-bootchk", "-nographic",
                        "-display", "none", "-audio", "none", "-accel", "qtest",
                        "-qtest-log", "/dev/null", "-pidfile", "/tmp/p", NULL));
    g_assert_cmpint(o.nserial, ==, 3);
    g_assert_cmpstr(o.serial[2], ==, "unix:/tmp/u");
    g_assert_cmpstr(o.rtc_base, ==, "2006-06-17T16:01:21");
    g_assert_cmpstr(o.rtc_clock, ==, "vm");
    g_assert_cmpstr(o.boot_order, ==, "nc");
    g_assert_cmpstr(o.boot_once, ==, "d");
    g_assert_true(o.no_fd_bootchk);
    g_assert_true(o.accel_qtest);
    g_assert_cmpstr(o.pidfile, ==, "/tmp/p");
    dm_options_clear(&o);
}

static void expect_error(const char *want, const char *a, const char *b)
{
    DmOptions o;
    GError *err = NULL;

    g_assert_false(parse(&o, &err, a, b, NULL));
    g_assert_nonnull(err);
    if (!strstr(err->message, want)) {
        g_error("'%s %s': got '%s', want '%s'", a, b ? b : "", err->message,
                want);
    }
    g_error_free(err);
    dm_options_clear(&o);
}

static void test_errors(void)
{
    expect_error("-foo: invalid option", "-foo", NULL);
    expect_error("-qmp: requires an argument", "-qmp", NULL);
    expect_error("unsupported machine type", "-machine", "q35");
    expect_error("Invalid parameter 'bogus'", "-machine", "pc,bogus=1");
    expect_error("not a valid char driver", "-qmp", "foo:bar");
    expect_error("Invalid boot device 'z'", "-boot", "order=z");
    expect_error("was given twice", "-boot", "cc");
    expect_error("invalid datetime", "-rtc", "base=yesterday");
    expect_error("not found", "-mon", "chardev=nope,mode=control");
    expect_error("mode=control", "-mon", "chardev=x");
    expect_error("unsupported backend", "-serial", "vc");
    expect_error("invalid accelerator", "-accel", "hvf");
    expect_error("only 'none'", "-display", "gtk");
}

static void test_too_many_serial(void)
{
    DmOptions o;
    GError *err = NULL;
    char *argv[] = {"dm",   "-serial", "null", "-serial", "null", "-serial",
                    "null", "-serial", "null", "-serial", "null"};

    g_assert_false(dm_options_parse(&o, G_N_ELEMENTS(argv), argv, &err));
    g_assert_nonnull(strstr(err->message, "too many serial ports"));
    g_error_free(err);
    dm_options_clear(&o);
}

/* -help lists every option the parser takes, as "-NAME" followed by a
   space, '[', '|', ')' or the end of a line. */
static void test_help_lists_every_option(void)
{
    const char *usage = dm_options_usage();
    const char *name;

    for (size_t i = 0; (name = dm_options_name(i)); i++) {
        g_autofree char *dash = g_strdup_printf("-%s", name);
        bool found = false;
        for (const char *p = strstr(usage, dash); p && !found;
             p = strstr(p + 1, dash)) {
            char next = p[strlen(dash)];
            found =
                (p == usage || p[-1] == '\n' || p[-1] == ' ' || p[-1] == '-') &&
                strchr(" [|)\n", next) != NULL;
        }
        if (!found) {
            g_test_message("-help does not list -%s", name);
            g_test_fail();
        }
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/dm/options/defaults", test_defaults);
    g_test_add_func("/dm/options/machine", test_machine_keys_any_order);
    g_test_add_func("/dm/options/qmp", test_qmp_forms);
    g_test_add_func("/dm/options/chardev-mon", test_chardev_mon);
    g_test_add_func("/dm/options/serial-rtc-boot", test_serial_rtc_boot);
    g_test_add_func("/dm/options/errors", test_errors);
    g_test_add_func("/dm/options/too-many-serial", test_too_many_serial);
    g_test_add_func("/dm/options/help-lists-every-option",
                    test_help_lists_every_option);
    return g_test_run();
}
