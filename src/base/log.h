/*
 * Logging. Messages go to stderr with a "lockstep: " prefix (or the program
 * name set with ls_log_init). ls_log_ratelimited() is for guest-triggered
 * conditions (unknown register, bad value): a guest can call it in a loop,
 * so each call site prints at most LS_LOG_BURST lines per second.
 */
#ifndef LS_BASE_LOG_H
#define LS_BASE_LOG_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define LS_LOG_BURST 10

typedef struct LsRateLimit {
    int64_t window_start_us;
    unsigned count;
} LsRateLimit;

void ls_log_init(const char *progname);
/* When false (the default), ls_debug prints nothing. LOCKSTEP_DEBUG=1 sets it.
 */
void ls_log_set_debug(bool on);

void ls_error_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void ls_warn(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void ls_debug(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Returns true when the caller may log now (and counts the call). */
bool ls_ratelimit_ok(LsRateLimit *rl);

#define ls_log_ratelimited(...)                                                \
    do {                                                                       \
        static LsRateLimit ls_rl_;                                             \
        if (ls_ratelimit_ok(&ls_rl_)) {                                        \
            ls_warn(__VA_ARGS__);                                              \
        }                                                                      \
    } while (0)

#endif
