/*
 * The vCPU's GSource (see vcpu-loop.h).
 */
#include "cpu/vcpu-loop.h"

typedef struct VcpuSource {
    GSource src;
    Vcpu *v;
    HwClock *clock;
    int shift; /* -1: no icount */
} VcpuSource;

/* icount: a halted vCPU with a timer pending lets time jump to it, if an
   interrupt can wake it: halted with IF clear, only a reset can, and
   virtual time stands still (QEMU would let it follow host time; here a
   state saved at any later moment is the same). */
static bool vcpu_source_can_warp(VcpuSource *s)
{
    return s->shift >= 0 && hw_clock_next_deadline(s->clock) >= 0 &&
           vcpu_accepts_intr(s->v);
}

static gboolean vcpu_source_ready(VcpuSource *s)
{
    return hw_clock_running(s->clock) &&
           (vcpu_runnable(s->v) || (vcpu_halted(s->v) && !vcpu_error(s->v) &&
                                    vcpu_source_can_warp(s)));
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

/* Instructions until the next deadline (at least 1), capped. */
static uint64_t vcpu_source_budget(VcpuSource *s)
{
    int64_t dl = hw_clock_next_deadline(s->clock);
    int64_t now = hw_clock_now(s->clock);
    uint64_t left;

    if (s->shift < 0 || dl < 0) {
        return VCPU_SLICE_INSNS;
    }
    if (dl <= now) {
        return 1;
    }
    left = ((uint64_t)(dl - now) + (UINT64_C(1) << s->shift) - 1) >> s->shift;
    return MIN(left, (uint64_t)VCPU_SLICE_INSNS);
}

static void vcpu_source_slice(VcpuSource *s)
{
    uint64_t n = 0;

    if (!vcpu_runnable(s->v)) {
        /* hw_clock_set fires only what falls due after now */
        hw_clock_set(s->clock, MAX(hw_clock_next_deadline(s->clock),
                                   hw_clock_now(s->clock) + 1));
        return;
    }
    vcpu_run(s->v, vcpu_source_budget(s), &n);
    if (s->shift >= 0 && n) {
        hw_clock_step(s->clock, (int64_t)(n << s->shift));
    }
}

static gboolean vcpu_source_dispatch(GSource *src, GSourceFunc cb,
                                     gpointer data)
{
    VcpuSource *s = (VcpuSource *)src;

    /* GLib may dispatch a source found ready in prepare after sources of
       higher priority ran in the same iteration: a `stop` among them
       must hold. */
    if (vcpu_source_ready(s)) {
        vcpu_source_slice(s);
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs vcpu_source_funcs = {
    .prepare = vcpu_source_prepare,
    .check = vcpu_source_check,
    .dispatch = vcpu_source_dispatch,
};

GSource *vcpu_source_new(Vcpu *v, HwClock *clock, int icount_shift)
{
    GSource *src = g_source_new(&vcpu_source_funcs, sizeof(VcpuSource));
    VcpuSource *s = (VcpuSource *)src;

    s->v = v;
    s->clock = clock;
    s->shift = icount_shift;
    g_source_set_priority(src, VCPU_SOURCE_PRIORITY);
    g_source_set_name(src, "vcpu");
    return src;
}
