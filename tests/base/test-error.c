/* Error classes map to QMP's class names. */
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
    g_test_add_func("/base/log/ratelimit", test_ratelimit);
    return g_test_run();
}
