/* Included in every test file by the gcc -fanalyzer build (make analyze;
   tests/meson.build adds -include when c_args has -fanalyzer).

   GLib marks its g_assert_*() failure functions noreturn only for clang's
   analyzer and Coverity (G_ANALYZER_NORETURN in gmacros.h), because a test
   that calls g_test_set_nonfatal_assertions() makes them return. No test
   here does, so they never return: say so, or gcc's analyzer walks on past
   a failed g_assert_nonnull(p) and reports the NULL p it just checked.
   The macro below turns any call of g_test_set_nonfatal_assertions() into
   a compile error in this build, so the declarations stay true. */
#ifndef LOCKSTEP_TESTS_ANALYZER_GLIB_H
#define LOCKSTEP_TESTS_ANALYZER_GLIB_H

#include <glib.h>

G_NORETURN void g_assertion_message(const char *domain, const char *file,
                                    int line, const char *func,
                                    const char *message);
G_NORETURN void g_assertion_message_cmpstr(const char *domain, const char *file,
                                           int line, const char *func,
                                           const char *expr, const char *arg1,
                                           const char *cmp, const char *arg2);
G_NORETURN void g_assertion_message_cmpstrv(const char *domain,
                                            const char *file, int line,
                                            const char *func, const char *expr,
                                            const char *const *arg1,
                                            const char *const *arg2,
                                            gsize first_wrong_idx);
G_NORETURN void g_assertion_message_cmpnum(const char *domain, const char *file,
                                           int line, const char *func,
                                           const char *expr, long double arg1,
                                           const char *cmp, long double arg2,
                                           char numtype);
G_NORETURN void g_assertion_message_error(const char *domain, const char *file,
                                          int line, const char *func,
                                          const char *expr, const GError *error,
                                          GQuark error_domain, int error_code);

#define g_test_set_nonfatal_assertions()                                       \
    _Static_assert(0, "make analyze assumes fatal assertions "                 \
                      "(tests/analyzer-glib.h)")

#endif
