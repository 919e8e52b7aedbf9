/*
 * base/opts: QemuOpts splitting (",," is a comma, the implied first key,
 * bare flags, empty elements), the server/wait flags and the error texts.
 */
#include "base/opts.h"

static GPtrArray *split(const char *s, const char *implied)
{
    return ls_opts_split(s, implied);
}

static void assert_opt(GPtrArray *a, guint i, const char *key, const char *val)
{
    LsOpt *o;

    g_assert_cmpuint(i, <, a->len);
    o = g_ptr_array_index(a, i);
    g_assert_cmpstr(o->key, ==, key);
    g_assert_cmpstr(o->val, ==, val);
}

static void test_split(void)
{
    g_autoptr(GPtrArray) a = split("/tmp/a,,b,server,wait=off,", "path");
    g_autoptr(GPtrArray) b = split("x=1,,2,y", NULL);
    g_autoptr(GPtrArray) c = split("", "path");

    g_assert_cmpuint(a->len, ==, 3);
    assert_opt(a, 0, "path", "/tmp/a,b");
    assert_opt(a, 1, "server", NULL);
    assert_opt(a, 2, "wait", "off");
    g_assert_cmpuint(b->len, ==, 2);
    assert_opt(b, 0, "x", "1,2");
    assert_opt(b, 1, "y", NULL);
    g_assert_cmpuint(c->len, ==, 1);
    assert_opt(c, 0, "path", "");
    g_assert_cmpstr(ls_opts_get(a, "path"), ==, "/tmp/a,b");
    g_assert_null(ls_opts_get(a, "server")); /* a flag has no value */
    g_assert_true(ls_opts_has(a, "server"));
    g_assert_false(ls_opts_has(a, "nowait"));
}

static void test_escape_round_trip(void)
{
    g_autofree char *e = ls_opts_escape("/a,b,,c");
    g_autofree char *spec = g_strconcat(e, ",server=on", NULL);
    g_autoptr(GPtrArray) a = split(spec, "path");

    g_assert_cmpstr(e, ==, "/a,,b,,,,c");
    assert_opt(a, 0, "path", "/a,b,,c");
    assert_opt(a, 1, "server", "on");
}

static void test_server_wait(void)
{
    static const struct {
        const char *spec;
        bool server, wait;
    } ok[] = {
        {"p", false, true},
        {"p,server,nowait", true, false},
        {"p,server=on,wait=off", true, false},
        {"p,server=yes,wait=y", true, true},
        {"p,server=off,wait", false, true},
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(ok); i++) {
        g_autoptr(GPtrArray) a = split(ok[i].spec, "path");
        bool server = !ok[i].server, wait = !ok[i].wait;

        g_assert_true(ls_opts_server_wait(a, NULL, &server, &wait, NULL));
        g_assert_cmpint(server, ==, ok[i].server);
        g_assert_cmpint(wait, ==, ok[i].wait);
    }
}

static void test_errors(void)
{
    static const char *const keys[] = {"path", "server", NULL};
    g_autoptr(GPtrArray) a = split("p,server=maybe", "path");
    g_autoptr(GPtrArray) b = split("p,bogus=1", "path");
    GError *err = NULL;
    bool s, w;

    g_assert_false(ls_opts_server_wait(a, "-qtest x", &s, &w, &err));
    g_assert_cmpstr(err->message, ==,
                    "-qtest x: Parameter 'server' expects 'on' or 'off'");
    g_clear_error(&err);
    g_assert_false(ls_opts_check_keys(b, NULL, keys, &err));
    g_assert_cmpstr(err->message, ==, "Invalid parameter 'bogus'");
    g_clear_error(&err);
    g_assert_true(ls_opts_check_keys(a, NULL, keys, NULL));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/opts/split", test_split);
    g_test_add_func("/opts/escape-round-trip", test_escape_round_trip);
    g_test_add_func("/opts/server-wait", test_server_wait);
    g_test_add_func("/opts/errors", test_errors);
    return g_test_run();
}
