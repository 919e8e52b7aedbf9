/* Error classes map to QMP's class names and back; the domain's name. */
#include "base/error.h"
#include "base/log.h"

static void test_class_names(void)
{
    g_autoptr(GError) generic = g_error_new(LS_ERROR, LS_ERROR_GENERIC, "x");
    g_autoptr(GError) nf =
        g_error_new(LS_ERROR, LS_ERROR_COMMAND_NOT_FOUND, "x");
    g_autoptr(GError) foreign =
        g_error_new(G_FILE_ERROR, G_FILE_ERROR_NOENT, "x");

    g_assert_cmpstr(ls_error_class_name(generic), ==, "GenericError");
    g_assert_cmpstr(ls_error_class_name(nf), ==, "CommandNotFound");
    g_assert_cmpstr(ls_error_class_name(foreign), ==, "GenericError");
}

static void test_class_codes(void)
{
    static const char *const classes[] = {
        "GenericError",   "CommandNotFound", "DeviceNotActive",
        "DeviceNotFound", "KVMMissingCap",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(classes); i++) {
        g_autoptr(GError) e =
            g_error_new(LS_ERROR, ls_error_code_from_class(classes[i]), "x");
        g_assert_cmpstr(ls_error_class_name(e), ==, classes[i]);
    }
    g_assert_cmpint(ls_error_code_from_class("DeviceNotFound"), ==,
                    LS_ERROR_DEVICE_NOT_FOUND);
    g_assert_cmpint(ls_error_code_from_class("NoSuchClass"), ==,
                    LS_ERROR_GENERIC);
    g_assert_cmpint(ls_error_code_from_class(NULL), ==, LS_ERROR_GENERIC);
}

/* The quark's name is what GLib users see in g_error logs. */
static void test_quark_name(void)
{
    g_assert_cmpstr(g_quark_to_string(LS_ERROR), ==, "lockstep-error-quark");
}

static void test_ratelimit(void)
{
    LsRateLimit rl = {0};
    unsigned ok = 0;

    for (int i = 0; i < 100; i++) {
        ok += ls_ratelimit_ok(&rl);
    }
    g_assert_cmpuint(ok, ==, LS_LOG_BURST);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/base/error/class-names", test_class_names);
    g_test_add_func("/base/error/class-codes", test_class_codes);
    g_test_add_func("/base/error/quark-name", test_quark_name);
    g_test_add_func("/base/log/ratelimit", test_ratelimit);
    return g_test_run();
}
