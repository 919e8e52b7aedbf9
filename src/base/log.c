/* Logging to stderr, with a per-call-site rate limit for guest input. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *log_prog = "lockstep";
static int log_debug = -1;

void ls_log_init(const char *progname)
{
    log_prog = progname;
}

void ls_log_set_debug(bool on)
{
    log_debug = on;
}

static void log_v(const char *kind, const char *fmt, va_list ap)
{
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);

    fprintf(stderr, "%s: %s%s\n", log_prog, kind, msg);
}

void ls_error_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_v("", fmt, ap);
    va_end(ap);
}

void ls_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_v("warning: ", fmt, ap);
    va_end(ap);
}

void ls_debug(const char *fmt, ...)
{
    va_list ap;

    if (log_debug < 0) {
        const char *env = getenv("LOCKSTEP_DEBUG");
        log_debug = env && *env && *env != '0';
    }
    if (!log_debug) {
        return;
    }
    va_start(ap, fmt);
    log_v("debug: ", fmt, ap);
    va_end(ap);
}

bool ls_ratelimit_ok(LsRateLimit *rl)
{
    int64_t now = g_get_monotonic_time();

    if (now - rl->window_start_us >= G_USEC_PER_SEC) {
        rl->window_start_us = now;
        rl->count = 0;
    }
    return rl->count++ < LS_LOG_BURST;
}
