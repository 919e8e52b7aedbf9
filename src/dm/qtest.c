/*
 * QEMU's qtest protocol (softmmu/qtest.c in QEMU 7.2 is the behaviour
 * matched; tests/qtest/libqtest.c is the client it must satisfy).
 *
 * Covers: the line parser (dm_qtest_process_line, pure, fuzzed) with
 * QEMU's reply formats ("OK", "OK 0x%04x" for every in*, "OK <ns>" for the
 * clock, "FAIL Unknown command 'X'", "FAIL Unknown device", "FAIL IRQ
 * intercept already enabled"), asynchronous "IRQ raise N"/"IRQ lower N"
 * lines for ISA IRQs 0..15 once "irq_intercept_in ioapic" is given (N is the
 * ISA line, as QEMU reports it from the IOAPIC's inputs), the -qtest-log
 * file. The socket layer is qtest-sock.c.
 *
 * Guest memory commands (readb..b64write) are in qtest-mem.c.
 *
 * Leaves out: set_irq_in and module_load (FAIL). Where QEMU asserts on
 * malformed input (missing or bad numbers, port > 0xffff) we answer "FAIL
 * <reason>" and carry on.
 */
#include <errno.h>
#include <string.h>

#include "dm/qtest-internal.h"

/* ---- output ---- */

void dm_qtest_log(DmQtest *q, char dir, const char *text)
{
    if (!q->log) {
        return;
    }
    fprintf(q->log, "[%c +%.06f] %s", dir,
            q->timer ? g_timer_elapsed(q->timer, NULL) : 0.0, text);
    if (!g_str_has_suffix(text, "\n")) {
        fputc('\n', q->log);
    }
    fflush(q->log);
}

/* A line for the client: into the reply being built, else straight out. */
void dm_qtest_emit(DmQtest *q, const char *line)
{
    dm_qtest_log(q, 'S', line);
    if (q->collect) {
        g_string_append(q->collect, line);
    } else {
        dm_qtest_sock_send(q, line);
    }
}

void dm_qtest_emitf(DmQtest *q, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *s = NULL;

    va_start(ap, fmt);
    s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    dm_qtest_emit(q, s);
}

static void dm_qtest_irq_observer(void *opaque, int n, int level)
{
    DmQtest *q = opaque;

    if (q->intercept != DM_QTEST_ICPT_IN || n < 0 || n >= DM_ISA_IRQS) {
        return;
    }
    level = level != 0;
    if (q->irq_levels[n] != level) {
        q->irq_levels[n] = level;
        dm_qtest_emitf(q, "IRQ %s %d\n", level ? "raise" : "lower", n);
    }
}

/* ---- argument parsing (QEMU: qemu_strtoul/qemu_strtoi64, base 0) ---- */

static bool dm_qtest_parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;

    if (!s || !*s || g_ascii_isspace(*s)) {
        return false;
    }
    errno = 0;
    *out = g_ascii_strtoull(s, &end, 0);
    return errno == 0 && end && *end == '\0';
}

static bool dm_qtest_parse_i64(const char *s, int64_t *out)
{
    char *end = NULL;

    if (!s || !*s || g_ascii_isspace(*s)) {
        return false;
    }
    errno = 0;
    *out = g_ascii_strtoll(s, &end, 0);
    return errno == 0 && end && *end == '\0';
}

static bool dm_qtest_port_arg(DmQtest *q, const char *s, uint16_t *port)
{
    uint64_t v;

    if (!dm_qtest_parse_u64(s, &v)) {
        dm_qtest_emitf(q, "FAIL bad or missing address '%s'\n", s ? s : "");
        return false;
    }
    if (v > 0xffff) {
        dm_qtest_emitf(q, "FAIL address out of range: %s\n", s);
        return false;
    }
    *port = (uint16_t)v;
    return true;
}

/* ---- commands ---- */

static unsigned dm_qtest_width(char c)
{
    return c == 'b' ? 1 : c == 'w' ? 2 : 4;
}

static void dm_qtest_cmd_out(DmQtest *q, char **w)
{
    uint16_t port;
    uint64_t val;

    if (!dm_qtest_port_arg(q, w[1], &port)) {
        return;
    }
    if (!dm_qtest_parse_u64(w[2], &val)) {
        dm_qtest_emitf(q, "FAIL bad or missing value '%s'\n", w[2] ? w[2] : "");
        return;
    }
    hw_bus_out(&q->m->bus, port, (uint32_t)val, dm_qtest_width(w[0][3]));
    dm_qtest_emit(q, "OK\n");
}

static void dm_qtest_cmd_in(DmQtest *q, char **w)
{
    uint16_t port;
    uint32_t val;

    if (!dm_qtest_port_arg(q, w[1], &port)) {
        return;
    }
    val = hw_bus_in(&q->m->bus, port, dm_qtest_width(w[0][2]));
    dm_qtest_emitf(q, "OK 0x%04x\n", val);
}

static int64_t dm_qtest_now(DmQtest *q)
{
    return hw_clock_now(q->m->clock);
}

/* Moves the clock to `dest` (never back), as qtest_clock_warp. */
static void dm_qtest_warp(DmQtest *q, int64_t dest)
{
    int64_t now = dm_qtest_now(q);

    if (dest > now) {
        hw_clock_set(q->m->clock, dest);
    }
    dm_qtest_emitf(q, "OK %" G_GINT64_FORMAT "\n", dm_qtest_now(q));
}

static bool dm_qtest_step_allowed(DmQtest *q, int64_t now, int64_t dest)
{
    if (q->max_step_ns > 0 && dest - now > q->max_step_ns) {
        dm_qtest_emitf(
            q, "FAIL clock step over the cap of %" G_GINT64_FORMAT " ns\n",
            q->max_step_ns);
        return false;
    }
    return true;
}

static void dm_qtest_cmd_clock_step(DmQtest *q, char **w)
{
    int64_t now = dm_qtest_now(q);
    int64_t ns;

    if (w[1]) {
        if (!dm_qtest_parse_i64(w[1], &ns)) {
            dm_qtest_emitf(q, "FAIL bad number '%s'\n", w[1]);
            return;
        }
    } else {
        int64_t deadline = hw_clock_next_deadline(q->m->clock);
        ns = deadline < 0 ? -1 : MAX(deadline - now, 0);
    }
    if (ns > G_MAXINT64 - now) {
        ns = G_MAXINT64 - now;
    }
    if (dm_qtest_step_allowed(q, now, now + ns)) {
        dm_qtest_warp(q, now + ns);
    }
}

static void dm_qtest_cmd_clock_set(DmQtest *q, char **w)
{
    int64_t ns;

    if (!dm_qtest_parse_i64(w[1], &ns)) {
        dm_qtest_emitf(q, "FAIL bad or missing number '%s'\n",
                       w[1] ? w[1] : "");
        return;
    }
    if (dm_qtest_step_allowed(q, dm_qtest_now(q), ns)) {
        dm_qtest_warp(q, ns);
    }
}

/* QOM paths QEMU 7.2 resolves to the pc machine's IOAPIC. */
static bool dm_qtest_is_ioapic(const char *name)
{
    return g_strcmp0(name, "ioapic") == 0 ||
           g_strcmp0(name, "/machine/i440fx/ioapic") == 0;
}

static void dm_qtest_cmd_intercept(DmQtest *q, char **w)
{
    if (!w[1] || !dm_qtest_is_ioapic(w[1])) {
        dm_qtest_emit(q, "FAIL Unknown device\n");
        return;
    }
    if (q->intercept != DM_QTEST_ICPT_NONE) {
        /* Same device again is OK in QEMU (and installs nothing new). */
        dm_qtest_emit(q, "OK\n");
        return;
    }
    q->intercept = w[0][14] == 'o' ? DM_QTEST_ICPT_OUT : DM_QTEST_ICPT_IN;
    memset(q->irq_levels, 0, sizeof(q->irq_levels));
    q->m->irq_observer = dm_qtest_irq_observer;
    q->m->irq_observer_opaque = q;
    dm_qtest_emit(q, "OK\n");
}

static bool dm_qtest_is_memory_cmd(const char *c)
{
    static const char *const mem[] = {
        "readb",  "readw", "readl", "readq",  "writeb",  "writew",   "writel",
        "writeq", "read",  "write", "memset", "b64read", "b64write", NULL,
    };

    return g_strv_contains(mem, c);
}

static bool dm_qtest_is_one_of(const char *c, const char *a, const char *b,
                               const char *d)
{
    return !strcmp(c, a) || !strcmp(c, b) || !strcmp(c, d);
}

static void dm_qtest_dispatch(DmQtest *q, char **w)
{
    const char *c = w[0];
    bool stepped = hw_clock_is_stepped(q->m->clock);

    if (dm_qtest_is_one_of(c, "outb", "outw", "outl")) {
        dm_qtest_cmd_out(q, w);
    } else if (dm_qtest_is_one_of(c, "inb", "inw", "inl")) {
        dm_qtest_cmd_in(q, w);
    } else if (stepped && !strcmp(c, "clock_step")) {
        dm_qtest_cmd_clock_step(q, w);
    } else if (stepped && !strcmp(c, "clock_set")) {
        dm_qtest_cmd_clock_set(q, w);
    } else if (!strcmp(c, "irq_intercept_in") ||
               !strcmp(c, "irq_intercept_out")) {
        dm_qtest_cmd_intercept(q, w);
    } else if (!strcmp(c, "endianness")) {
        dm_qtest_emit(q, "OK little\n");
    } else if (dm_qtest_is_memory_cmd(c)) {
        dm_qtest_cmd_mem(q, w);
    } else if (!strcmp(c, "set_irq_in")) {
        dm_qtest_emit(q, "FAIL set_irq_in: no IOAPIC model here\n");
    } else if (!strcmp(c, "module_load")) {
        dm_qtest_emit(q, "FAIL\n");
    } else {
        dm_qtest_emitf(q, "FAIL Unknown command '%s'\n", c);
    }
}

void dm_qtest_process_line(DmQtest *q, const char *line, GString *reply)
{
    g_autofree char *copy = g_strndup(line, DM_QTEST_MAX_LINE);
    g_auto(GStrv) words = NULL;
    GString *outer = q->collect;
    size_t len = strlen(copy);

    if (len > 0 && copy[len - 1] == '\r') {
        copy[len - 1] = '\0';
    }
    words = g_strsplit(copy, " ", 0);
    q->collect = reply;
    if (q->log) {
        g_autofree char *joined = g_strjoinv(" ", words);
        dm_qtest_log(q, 'R', joined);
    }
    if (!words[0]) {
        dm_qtest_emit(q, "FAIL Unknown command ''\n");
    } else if (strlen(line) > DM_QTEST_MAX_LINE) {
        dm_qtest_emitf(q, "FAIL line longer than %d bytes\n",
                       DM_QTEST_MAX_LINE);
    } else {
        dm_qtest_dispatch(q, words);
    }
    q->collect = outer;
}

/* ---- lifecycle ---- */

DmQtest *dm_qtest_new(DmMachine *m)
{
    DmQtest *q = g_new0(DmQtest, 1);

    q->m = m;
    q->inbuf = g_string_new(NULL);
    q->out = g_string_new(NULL);
    q->listener = q->pending = q->conn = -1;
    return q;
}

void dm_qtest_set_max_step(DmQtest *q, int64_t max_ns)
{
    q->max_step_ns = max_ns;
}

void dm_qtest_free(DmQtest *q)
{
    if (!q) {
        return;
    }
    if (q->m && q->m->irq_observer == dm_qtest_irq_observer) {
        q->m->irq_observer = NULL;
        q->m->irq_observer_opaque = NULL;
    }
    dm_qtest_sock_close(q);
    if (q->log) {
        fclose(q->log);
    }
    if (q->timer) {
        g_timer_destroy(q->timer);
    }
    g_string_free(q->inbuf, TRUE);
    g_string_free(q->out, TRUE);
    g_free(q->path);
    g_free(q);
}
