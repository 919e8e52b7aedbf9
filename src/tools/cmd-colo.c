/*
 * lockstep colo primary|secondary: the COLO checkpoint coordinator
 * (src/colo; docs/colo.md). Parses the options and runs one side.
 */
#include "tools.h"

#include <stdio.h>
#include <string.h>

#include "colo/colo.h"
#include "colo/tls.h"

#define TOOLS_COLO_MAX_MS (24u * 3600 * 1000)

typedef struct ToolsColoArgs {
    ColoOptions o;
    gint interval, hb, hb_timeout, qmp_timeout;
    gint64 checkpoints;
    char *tls_creds, *tls_psk, *tls_username; /* the link's mode */
    gboolean insecure;
    ColoTlsCreds *tls;
} ToolsColoArgs;

static GOptionEntry *tools_colo_entries(ToolsColoArgs *a, bool primary)
{
    ColoOptions *o = &a->o;
    GOptionEntry common[] = {
        {"qmp", 0, 0, G_OPTION_ARG_STRING, &o->qmp,
         "the dm's QMP socket (unix: the state passes as an fd)", "unix:PATH"},
        {"dm-serial", 0, 0, G_OPTION_ARG_STRING, &o->dm_serial,
         "the dm's COM1 socket (the dm serves it: -serial "
         "unix:PATH,server=on,wait=off)",
         "unix:PATH"},
        {"serial-out", 0, 0, G_OPTION_ARG_STRING, &o->serial_out,
         "where COM1 output goes once safe", "FILE|unix:PATH|tcp:HOST:PORT"},
        {"control", 0, 0, G_OPTION_ARG_STRING, &o->control,
         "QMP-style control socket", "unix:PATH"},
        {"stats", 0, 0, G_OPTION_ARG_STRING, &o->stats,
         "one JSON line per checkpoint", "FILE|-"},
        {"metrics", 0, 0, G_OPTION_ARG_STRING, &o->metrics,
         "serve Prometheus text on GET /metrics", "tcp:HOST:PORT"},
        {"heartbeat", 0, 0, G_OPTION_ARG_INT, &a->hb,
         "heartbeat interval (default 100)", "MS"},
        {"heartbeat-timeout", 0, 0, G_OPTION_ARG_INT, &a->hb_timeout,
         "peer lost after this much silence (default 1000)", "MS"},
        {"qmp-timeout", 0, 0, G_OPTION_ARG_INT, &a->qmp_timeout,
         "bound on each QMP exchange with the dm (default 2000)", "MS"},
        {"tls-creds", 0, 0, G_OPTION_ARG_FILENAME, &a->tls_creds,
         "TLS with x509 certificates (QEMU's tls-creds-x509 layout)", "DIR"},
        {"tls-psk", 0, 0, G_OPTION_ARG_FILENAME, &a->tls_psk,
         "TLS with a pre-shared key (username:hexkey lines)", "FILE"},
        {"insecure", 0, 0, G_OPTION_ARG_NONE, &a->insecure,
         "plain TCP: no authentication, no encryption", NULL},
    };
    GOptionEntry pri[] = {
        {"peer", 0, 0, G_OPTION_ARG_STRING, &o->peer, "the secondary side",
         "HOST:PORT"},
        {"interval", 0, 0, G_OPTION_ARG_INT, &a->interval,
         "checkpoint period (default 100; 0: on request only)", "MS"},
        {"checkpoints", 0, 0, G_OPTION_ARG_INT64, &a->checkpoints,
         "stop after N confirmed checkpoints", "N"},
        {"tls-username", 0, 0, G_OPTION_ARG_STRING, &a->tls_username,
         "with --tls-psk: whose key to use (default qemu)", "NAME"},
        {"x-fault", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &o->x_fault,
         "tests only: die at PHASE of checkpoint N", "PHASE@N"},
        {"x-fault-kill", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT,
         &o->x_fault_pid, "tests only: kill PID at the fault instead", "PID"},
    };
    GOptionEntry sec[] = {
        {"listen", 0, 0, G_OPTION_ARG_STRING, &o->listen,
         "where the primary side connects", "HOST:PORT"},
        {"exit-on-failover", 0, 0, G_OPTION_ARG_NONE, &o->exit_on_failover,
         "exit once failed over (default: keep forwarding COM1)", NULL},
    };
    GArray *all = g_array_new(TRUE, TRUE, sizeof(GOptionEntry));

    g_array_append_vals(all, common, G_N_ELEMENTS(common));
    if (primary) {
        g_array_append_vals(all, pri, G_N_ELEMENTS(pri));
    } else {
        g_array_append_vals(all, sec, G_N_ELEMENTS(sec));
    }
    return (GOptionEntry *)g_array_free(all, FALSE);
}

static bool tools_colo_ms(const char *name, gint v, unsigned *out, bool zero_ok,
                          GError **errp)
{
    if (v < 0 || (unsigned)v > TOOLS_COLO_MAX_MS || (!zero_ok && v == 0)) {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--%s must be %s 0 and %u ms", name,
                    zero_ok ? "between" : "above", TOOLS_COLO_MAX_MS);
        return false;
    }
    *out = (unsigned)v;
    return true;
}

static bool tools_colo_check(ToolsColoArgs *a, bool primary, GError **errp)
{
    ColoOptions *o = &a->o;
    const char *need = !o->qmp                  ? "--qmp"
                       : primary && !o->peer    ? "--peer"
                       : !primary && !o->listen ? "--listen"
                                                : NULL;

    if (need) {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                    "%s is required", need);
        return false;
    }
    if (!o->serial_out != !o->dm_serial) {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                    "--serial-out and --dm-serial go together");
        return false;
    }
    if (a->checkpoints < 0) {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--checkpoints must be 0 or more");
        return false;
    }
    o->checkpoints = (uint64_t)a->checkpoints;
    return tools_colo_ms("interval", a->interval, &o->interval_ms, true,
                         errp) &&
           tools_colo_ms("heartbeat", a->hb, &o->heartbeat_ms, false, errp) &&
           tools_colo_ms("heartbeat-timeout", a->hb_timeout, &o->hb_timeout_ms,
                         false, errp) &&
           tools_colo_ms("qmp-timeout", a->qmp_timeout, &o->qmp_timeout_ms,
                         false, errp);
}

/* HOST of HOST:PORT or [HOST]:PORT: the name the secondary's certificate
   must carry. */
static char *tools_colo_peer_host(const char *hostport)
{
    const char *colon = strrchr(hostport, ':');

    if (hostport[0] == '[' && colon && colon > hostport && colon[-1] == ']') {
        return g_strndup(hostport + 1, (size_t)(colon - hostport - 2));
    }
    return colon ? g_strndup(hostport, (size_t)(colon - hostport))
                 : g_strdup(hostport);
}

/* Exactly one of the link's modes; loads the credentials. */
static bool tools_colo_tls(ToolsColoArgs *a, bool primary, GError **errp)
{
    g_autofree char *host = NULL;
    int modes = !!a->tls_creds + !!a->tls_psk + !!a->insecure;

    if (modes != 1) {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                    "%s: --tls-creds DIR, --tls-psk FILE or --insecure "
                    "(plain TCP, anyone who reaches the link can feed the "
                    "secondary any state)",
                    modes ? "only one of" : "the link needs one of");
        return false;
    }
    if (a->tls_username && !a->tls_psk) {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                    "--tls-username goes with --tls-psk");
        return false;
    }
    if (a->tls_creds) {
        host = primary ? tools_colo_peer_host(a->o.peer) : NULL;
        a->tls = colo_tls_creds_x509_new(a->tls_creds, !primary, host, errp);
    } else if (a->tls_psk) {
        a->tls =
            colo_tls_creds_psk_new(a->tls_psk, !primary, a->tls_username, errp);
    }
    a->o.tls = a->tls;
    return a->tls || a->insecure;
}

/* The strings GOptionContext allocated for the options. */
static void tools_colo_free(ColoOptions *o)
{
    const char **strs[] = {&o->qmp,        &o->peer,    &o->listen,
                           &o->dm_serial,  &o->control, &o->stats,
                           &o->serial_out, &o->metrics, &o->x_fault};

    for (size_t i = 0; i < G_N_ELEMENTS(strs); i++) {
        g_free((char *)*strs[i]);
        *strs[i] = NULL;
    }
}

static int tools_colo_run(ToolsColoArgs *a, bool primary, int argc, char **argv,
                          GOptionContext *ctx)
{
    g_autoptr(GError) err = NULL;

    if (!g_option_context_parse(ctx, &argc, &argv, &err) ||
        !tools_colo_check(a, primary, &err) ||
        !tools_colo_tls(a, primary, &err)) {
        fprintf(stderr, "lockstep colo %s: %s\n",
                primary ? "primary" : "secondary", err->message);
        return TOOLS_EXIT_ERROR;
    }
    if (argc > 1) {
        fprintf(stderr, "lockstep colo: unexpected argument '%s'\n", argv[1]);
        return TOOLS_EXIT_ERROR;
    }
    if (a->insecure) {
        fprintf(stderr,
                "lockstep colo %s: warning: --insecure: the link to "
                "the %s is plain TCP, neither authenticated nor encrypted\n",
                primary ? "primary" : "secondary",
                primary ? "secondary" : "primary");
    }
    return primary ? colo_primary_run(&a->o) : colo_secondary_run(&a->o);
}

int tools_cmd_colo(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = NULL;
    g_autofree GOptionEntry *entries = NULL;
    ToolsColoArgs a = {0};
    bool primary;
    int rc;

    if (argc < 2 ||
        (strcmp(argv[1], "primary") && strcmp(argv[1], "secondary"))) {
        fprintf(stderr, "usage: lockstep colo primary|secondary [OPTION...] "
                        "(--help for the options)\n");
        return TOOLS_EXIT_ERROR;
    }
    primary = !strcmp(argv[1], "primary");
    colo_options_defaults(&a.o);
    a.interval = (gint)a.o.interval_ms;
    a.hb = (gint)a.o.heartbeat_ms;
    a.hb_timeout = (gint)a.o.hb_timeout_ms;
    a.qmp_timeout = (gint)a.o.qmp_timeout_ms;
    a.checkpoints = 0;
    g_set_prgname(primary ? "lockstep colo primary"
                          : "lockstep colo secondary");
    ctx = g_option_context_new(primary ? "- COLO primary side"
                                       : "- COLO secondary side");
    entries = tools_colo_entries(&a, primary);
    g_option_context_add_main_entries(ctx, entries, NULL);
    rc = tools_colo_run(&a, primary, argc - 1, argv + 1, ctx);
    tools_colo_free(&a.o);
    colo_tls_creds_free(a.tls);
    g_free(a.tls_creds);
    g_free(a.tls_psk);
    g_free(a.tls_username);
    return rc;
}
