/*
 * The vCPU's GSource (see vcpu-loop.h).
 */
#include "cpu/vcpu-loop.h"

typedef struct VcpuSource {
    GSource src;
    Vcpu *v;
    HwClock *clock;
} VcpuSource;

static gboolean vcpu_source_ready(VcpuSource *s)
{
    return hw_clock_running(s->clock) && vcpu_runnable(s->v);
}

static gboolean vcpu_source_prepare(GSource *src, gint *timeout)
{
    *timeout = -1;
    return vcpu_source_ready((VcpuSource *)src);
}

static gboolean vcpu_source_check(GSource *src)
{
    return vcpu_source_ready((VcpuSource *)src);
}

static gboolean vcpu_source_dispatch(GSource *src, GSourceFunc cb,
                                     gpointer data)
{
    VcpuSource *s = (VcpuSource *)src;
    uint64_t n;

    /* GLib may dispatch a source found ready in prepare after sources of
       higher priority ran in the same iteration: a `stop` among them
       must hold. */
    if (vcpu_source_ready(s)) {
        vcpu_run(s->v, VCPU_SLICE_INSNS, &n);
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs vcpu_source_funcs = {
    .prepare = vcpu_source_prepare,
    .check = vcpu_source_check,
    .dispatch = vcpu_source_dispatch,
};

GSource *vcpu_source_new(Vcpu *v, HwClock *clock)
{
    GSource *src = g_source_new(&vcpu_source_funcs, sizeof(VcpuSource));
    VcpuSource *s = (VcpuSource *)src;

    s->v = v;
    s->clock = clock;
    g_source_set_priority(src, VCPU_SOURCE_PRIORITY);
    g_source_set_name(src, "vcpu");
    return src;
}
