/*
 * The generic vCPU (see vcpu.h): interrupt acceptance and real-mode
 * delivery, halt state, BIOS placement; the accelerator executes.
 */
#include "cpu/vcpu-internal.h"

#include <string.h>

#include "base/error.h"
#include "base/log.h"

#define VCPU_4G        (G_GUINT64_CONSTANT(1) << 32)
#define VCPU_1M        (G_GUINT64_CONSTANT(1) << 20)
#define VCPU_IVT_ENTRY 4u

Vcpu *vcpu_new(VcpuAccel accel, const VcpuIo *io, GError **errp)
{
    Vcpu *v = g_new0(Vcpu, 1);

    v->ops = &vcpu_tcg_ops;
    v->io = *io;
    v->accel = v->ops->create(v, errp);
    if (!v->accel) {
        g_free(v);
        return NULL;
    }
    vcpu_reset(v);
    return v;
}

void vcpu_free(Vcpu *v)
{
    if (!v) {
        return;
    }
    v->ops->destroy(v->accel);
    g_clear_error(&v->error);
    free(v->bios);
    g_free(v);
}

const VcpuIo *vcpu_io(const Vcpu *v)
{
    return &v->io;
}

bool vcpu_map_ram(Vcpu *v, uint64_t gpa, uint8_t *host, uint64_t size,
                  GError **errp)
{
    return v->ops->map(v->accel, gpa, host, size, false, errp);
}

bool vcpu_load_bios(Vcpu *v, const uint8_t *img, size_t len, GError **errp)
{
    size_t isa_len = MIN(len, (size_t)VCPU_ISA_BIOS_MAX);

    if (v->bios) {
        ls_error_set(errp, "a BIOS is already loaded");
        return false;
    }
    if (len == 0 || len % VCPU_BIOS_ALIGN || len > VCPU_BIOS_MAX) {
        ls_error_set(errp,
                     "BIOS size %zu: must be a non-zero multiple of %u, "
                     "at most %u",
                     len, VCPU_BIOS_ALIGN, VCPU_BIOS_MAX);
        return false;
    }
    v->bios = aligned_alloc(VCPU_BIOS_ALIGN, len);
    if (!v->bios) {
        ls_error_set(errp, "BIOS: cannot allocate %zu bytes", len);
        return false;
    }
    memcpy(v->bios, img, len);
    v->bios_len = len;
    /* The last isa_len bytes appear again just below 1 MiB. */
    return v->ops->map(v->accel, VCPU_4G - len, v->bios, len, true, errp) &&
           v->ops->map(v->accel, VCPU_1M - isa_len, v->bios + len - isa_len,
                       isa_len, true, errp);
}

void vcpu_track_writes(Vcpu *v, bool on)
{
    if (on != v->tracking) {
        v->tracking = on;
        v->ops->track_writes(v->accel, on);
    }
}

void vcpu_note_write(Vcpu *v, uint64_t gpa, uint64_t len)
{
    if (v->tracking && v->io.ram_written) {
        v->io.ram_written(v->io.opaque, gpa, len);
    }
}

void vcpu_reset(Vcpu *v)
{
    v->ops->reset(v->accel);
    vcpu_state_reset(v);
    v->halted = false;
    g_clear_error(&v->error);
}

static bool vcpu_if(Vcpu *v)
{
    VcpuRmRegs r;

    v->ops->get_rm(v->accel, &r);
    return r.eflags & VCPU_EFLAGS_IF;
}

void vcpu_kick(Vcpu *v)
{
    if (v->in_run) {
        v->ops->kick(v->accel);
    }
}

void vcpu_set_intr(Vcpu *v, bool level)
{
    v->intr = level;
    if (level) {
        vcpu_kick(v);
    }
}

bool vcpu_accepts_intr(Vcpu *v)
{
    return vcpu_if(v);
}

bool vcpu_runnable(Vcpu *v)
{
    if (v->error) {
        return false;
    }
    return !v->halted || (v->intr && vcpu_if(v));
}

static bool vcpu_push16(Vcpu *v, VcpuRmRegs *r, uint16_t val)
{
    uint8_t b[2] = {val & 0xff, val >> 8};
    uint64_t gpa;

    r->sp -= 2;
    gpa = ((uint64_t)r->ss << 4) + r->sp;
    if (!v->ops->mem_write(v->accel, gpa, b, 2)) {
        return false;
    }
    vcpu_note_write(v, gpa, 2);
    return true;
}

/* Real-mode interrupt entry (Intel SDM vol. 3, 20.1.4): push FLAGS, CS,
   IP; clear IF, TF, AC; CS:IP from the IVT. A stack or IVT outside
   memory stops the vCPU (real hardware would shut down). */
bool vcpu_enter_rm(Vcpu *v, uint8_t vec)
{
    VcpuRmRegs r;
    uint8_t e[VCPU_IVT_ENTRY];

    v->ops->get_rm(v->accel, &r);
    if (!v->ops->mem_read(v->accel, (uint64_t)vec * VCPU_IVT_ENTRY, e,
                          sizeof(e)) ||
        !vcpu_push16(v, &r, (uint16_t)r.eflags) || !vcpu_push16(v, &r, r.cs) ||
        !vcpu_push16(v, &r, r.ip)) {
        if (!v->error) {
            ls_error_set(&v->error,
                         "interrupt 0x%02x: IVT entry or stack %04x:%04x "
                         "not in memory",
                         vec, r.ss, r.sp);
        }
        return false;
    }
    r.eflags &= ~(VCPU_EFLAGS_IF | VCPU_EFLAGS_TF | VCPU_EFLAGS_AC);
    r.ip = (uint16_t)(e[0] | e[1] << 8);
    r.cs = (uint16_t)(e[2] | e[3] << 8);
    v->ops->set_rm(v->accel, &r);
    return true;
}

/* INTR up and IF set: INTA, then entry. Wakes a halted vCPU. */
static void vcpu_take_intr(Vcpu *v)
{
    if (!v->intr || !vcpu_if(v)) {
        return;
    }
    v->halted = false;
    vcpu_enter_rm(v, (uint8_t)v->io.intr_ack(v->io.opaque));
}

VcpuExit vcpu_run(Vcpu *v, uint64_t budget, uint64_t *executed)
{
    VcpuExit ex;

    *executed = 0;
    v->poll = false; /* the execution loop's first pass takes the poll */
    if (!v->error) {
        vcpu_take_intr(v);
    }
    if (v->error) {
        return VCPU_EXIT_ERROR;
    }
    if (v->halted) {
        return VCPU_EXIT_HALT;
    }
    v->in_run = true;
    ex = v->ops->run(v->accel, budget, v->intr, executed, &v->error);
    v->in_run = false;
    v->insns += *executed;
    v->at_reset &= *executed == 0;
    if (ex == VCPU_EXIT_HALT) {
        v->halted = true;
    } else if (ex == VCPU_EXIT_ERROR && !v->error) {
        ls_error_set(&v->error, "vCPU stopped");
    }
    if (v->error) {
        ls_warn("vcpu: %s", v->error->message);
        return VCPU_EXIT_ERROR;
    }
    return ex;
}

uint64_t vcpu_insns(const Vcpu *v)
{
    return v->insns;
}

bool vcpu_halted(const Vcpu *v)
{
    return v->halted;
}

const GError *vcpu_error(const Vcpu *v)
{
    return v->error;
}
