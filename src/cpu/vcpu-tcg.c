/*
 * `-accel tcg`: the vCPU executed by Unicorn (Debian's libunicorn, built
 * on QEMU's TCG), in 16-bit mode.
 *
 * Unicorn does not deliver interrupts itself: `int n` reaches the
 * UC_HOOK_INTR hook with IP past the instruction, and vcpu.c enters the
 * handler through the IVT. `hlt` ends uc_emu_start normally. A slice is
 * bounded by a per-instruction hook that counts and, at the budget or on
 * a kick, stops before the next instruction. Unicorn then leaves EIP
 * holding the linear address of that instruction, so run() rewrites IP
 * from the address the hook saw.
 */
#include <string.h>
#include <unicorn/unicorn.h>

#include "base/error.h"
#include "cpu/vcpu-internal.h"

#define VCPU_TCG_UNTIL    UINT64_MAX  /* no stop address */
#define VCPU_TCG_EDX      0x663       /* qemu64's CPUID family/model/stepping */
#define VCPU_TCG_CR0      0x60000010u /* CD, NW, ET: the x86 power-on value */
#define VCPU_TCG_RESET_CS 0xf000
#define VCPU_TCG_RESET_IP 0xfff0

typedef struct VcpuTcg {
    uc_engine *uc;
    Vcpu *v;
    uc_hook h_code, h_in, h_out, h_intr;
    uc_hook h_write;  /* while tracking writes */
    uint64_t ram_top; /* end of the highest RAM mapping */
    uint64_t count;   /* instructions of this slice */
    uint64_t budget;
    bool kick;        /* stop at the next instruction */
    bool watch_if;    /* stop once IF has been set for an instruction */
    bool if_seen;     /* IF was set at the previous instruction */
    bool stopping;    /* the code hook has called uc_emu_stop */
    bool failed;      /* an entry through the IVT failed */
    uint64_t stop_at; /* linear address of the instruction not executed */
} VcpuTcg;

static void vcpu_tcg_w(VcpuTcg *t, int reg, uint64_t val)
{
    uc_reg_write(t->uc, reg, &val);
}

static uint64_t vcpu_tcg_r(VcpuTcg *t, int reg)
{
    uint64_t val = 0;

    uc_reg_read(t->uc, reg, &val);
    return val;
}

static void vcpu_tcg_on_code(uc_engine *uc, uint64_t addr, uint32_t size,
                             void *opaque)
{
    VcpuTcg *t = opaque;

    if (t->stopping) {
        return;
    }
    if (t->watch_if) {
        bool on = vcpu_tcg_r(t, UC_X86_REG_EFLAGS) & VCPU_EFLAGS_IF;

        t->kick |= on && t->if_seen;
        t->if_seen = on;
    }
    if (t->kick || t->count >= t->budget) {
        t->stopping = true;
        t->stop_at = addr;
        uc_emu_stop(uc);
        return;
    }
    t->count++;
}

static uint32_t vcpu_tcg_on_in(uc_engine *uc, uint32_t port, int size,
                               void *opaque)
{
    VcpuTcg *t = opaque;
    const VcpuIo *io = vcpu_io(t->v);

    return io->pio_in(io->opaque, (uint16_t)port, (unsigned)size);
}

static void vcpu_tcg_on_out(uc_engine *uc, uint32_t port, int size,
                            uint32_t val, void *opaque)
{
    VcpuTcg *t = opaque;
    const VcpuIo *io = vcpu_io(t->v);

    io->pio_out(io->opaque, (uint16_t)port, val, (unsigned)size);
}

static void vcpu_tcg_on_intr(uc_engine *uc, uint32_t intno, void *opaque)
{
    VcpuTcg *t = opaque;

    if (intno > 0xff || !vcpu_enter_rm(t->v, (uint8_t)intno)) {
        t->failed = true;
        uc_emu_stop(uc);
    }
}

static void vcpu_tcg_on_write(uc_engine *uc, uc_mem_type type, uint64_t addr,
                              int size, int64_t value, void *opaque)
{
    VcpuTcg *t = opaque;

    vcpu_note_write(t->v, addr, (uint64_t)size);
}

static bool vcpu_tcg_check(uc_err err, const char *what, GError **errp)
{
    if (err != UC_ERR_OK) {
        ls_error_set(errp, "unicorn: %s: %s", what, uc_strerror(err));
        return false;
    }
    return true;
}

static bool vcpu_tcg_hooks(VcpuTcg *t, GError **errp)
{
    uc_engine *uc = t->uc;

    return vcpu_tcg_check(uc_hook_add(uc, &t->h_code, UC_HOOK_CODE,
                                      vcpu_tcg_on_code, t, 1, 0),
                          "code hook", errp) &&
           vcpu_tcg_check(uc_hook_add(uc, &t->h_in, UC_HOOK_INSN,
                                      vcpu_tcg_on_in, t, 1, 0, UC_X86_INS_IN),
                          "in hook", errp) &&
           vcpu_tcg_check(uc_hook_add(uc, &t->h_out, UC_HOOK_INSN,
                                      vcpu_tcg_on_out, t, 1, 0, UC_X86_INS_OUT),
                          "out hook", errp) &&
           vcpu_tcg_check(uc_hook_add(uc, &t->h_intr, UC_HOOK_INTR,
                                      vcpu_tcg_on_intr, t, 1, 0),
                          "interrupt hook", errp);
}

static void vcpu_tcg_destroy(void *accel)
{
    VcpuTcg *t = accel;

    if (t->uc) {
        uc_close(t->uc);
    }
    g_free(t);
}

static void *vcpu_tcg_create(Vcpu *v, GError **errp)
{
    VcpuTcg *t = g_new0(VcpuTcg, 1);

    t->v = v;
    if (!vcpu_tcg_check(uc_open(UC_ARCH_X86, UC_MODE_16, &t->uc), "open",
                        errp) ||
        !vcpu_tcg_hooks(t, errp)) {
        vcpu_tcg_destroy(t);
        return NULL;
    }
    return t;
}

static bool vcpu_tcg_map(void *accel, uint64_t gpa, uint8_t *host,
                         uint64_t size, bool rom, GError **errp)
{
    VcpuTcg *t = accel;
    uint32_t prot = rom ? UC_PROT_READ | UC_PROT_EXEC : UC_PROT_ALL;
    g_autofree char *what = g_strdup_printf(
        "map 0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER "x", gpa, size);

    if (!vcpu_tcg_check(uc_mem_map_ptr(t->uc, gpa, size, prot, host), what,
                        errp)) {
        return false;
    }
    if (!rom) {
        t->ram_top = MAX(t->ram_top, gpa + size);
    }
    return true;
}

static void vcpu_tcg_reset(void *accel)
{
    static const int zero[] = {
        UC_X86_REG_EAX, UC_X86_REG_EBX, UC_X86_REG_ECX, UC_X86_REG_ESI,
        UC_X86_REG_EDI, UC_X86_REG_EBP, UC_X86_REG_ESP, UC_X86_REG_DS,
        UC_X86_REG_ES,  UC_X86_REG_FS,  UC_X86_REG_GS,  UC_X86_REG_SS,
    };
    VcpuTcg *t = accel;
    uc_x86_mmr table = {.base = 0, .limit = 0xffff};

    for (size_t i = 0; i < G_N_ELEMENTS(zero); i++) {
        vcpu_tcg_w(t, zero[i], 0);
    }
    vcpu_tcg_w(t, UC_X86_REG_EDX, VCPU_TCG_EDX);
    vcpu_tcg_w(t, UC_X86_REG_EFLAGS, VCPU_EFLAGS_RSV);
    vcpu_tcg_w(t, UC_X86_REG_CR0, VCPU_TCG_CR0);
    uc_reg_write(t->uc, UC_X86_REG_IDTR, &table);
    uc_reg_write(t->uc, UC_X86_REG_GDTR, &table);
    vcpu_tcg_w(t, UC_X86_REG_CS, VCPU_TCG_RESET_CS);
    vcpu_tcg_w(t, UC_X86_REG_EIP, VCPU_TCG_RESET_IP);
}

static VcpuExit vcpu_tcg_run(void *accel, uint64_t budget, bool watch_if,
                             uint64_t *executed, GError **errp)
{
    VcpuTcg *t = accel;
    uint64_t cs = vcpu_tcg_r(t, UC_X86_REG_CS) & 0xffff;
    uint64_t ip = vcpu_tcg_r(t, UC_X86_REG_EIP) & 0xffff;
    uc_err err;

    t->count = 0;
    t->budget = budget;
    t->stopping = t->kick = t->failed = t->if_seen = false;
    t->watch_if = watch_if;
    err = uc_emu_start(t->uc, (cs << 4) + ip, VCPU_TCG_UNTIL, 0, 0);
    *executed = t->count;
    if (t->failed) {
        return VCPU_EXIT_ERROR;
    }
    if (!vcpu_tcg_check(err, "execution", errp)) {
        g_prefix_error(errp, "at %04x:%04x: ",
                       (unsigned)vcpu_tcg_r(t, UC_X86_REG_CS) & 0xffff,
                       (unsigned)vcpu_tcg_r(t, UC_X86_REG_EIP) & 0xffff);
        return VCPU_EXIT_ERROR;
    }
    if (!t->stopping) {
        return VCPU_EXIT_HALT;
    }
    cs = vcpu_tcg_r(t, UC_X86_REG_CS) & 0xffff;
    vcpu_tcg_w(t, UC_X86_REG_EIP, (t->stop_at - (cs << 4)) & 0xffff);
    return t->kick ? VCPU_EXIT_KICK : VCPU_EXIT_BUDGET;
}

/* A write hook over every RAM mapping (0 to the top of RAM; the ROM
   below 1 MiB refuses writes before any hook sees them). */
static void vcpu_tcg_track_writes(void *accel, bool on)
{
    VcpuTcg *t = accel;

    if (on && !t->h_write) {
        uc_hook_add(t->uc, &t->h_write, UC_HOOK_MEM_WRITE, vcpu_tcg_on_write, t,
                    0, t->ram_top - 1);
    } else if (!on && t->h_write) {
        uc_hook_del(t->uc, t->h_write);
        t->h_write = 0;
    }
}

static void vcpu_tcg_kick(void *accel)
{
    VcpuTcg *t = accel;

    t->kick = true;
}

static void vcpu_tcg_get_rm(void *accel, VcpuRmRegs *r)
{
    VcpuTcg *t = accel;

    r->cs = (uint16_t)vcpu_tcg_r(t, UC_X86_REG_CS);
    r->ip = (uint16_t)vcpu_tcg_r(t, UC_X86_REG_EIP);
    r->ss = (uint16_t)vcpu_tcg_r(t, UC_X86_REG_SS);
    r->sp = (uint16_t)vcpu_tcg_r(t, UC_X86_REG_ESP);
    r->eflags = (uint32_t)vcpu_tcg_r(t, UC_X86_REG_EFLAGS);
}

static void vcpu_tcg_set_rm(void *accel, const VcpuRmRegs *r)
{
    VcpuTcg *t = accel;
    uint64_t esp = vcpu_tcg_r(t, UC_X86_REG_ESP);

    vcpu_tcg_w(t, UC_X86_REG_CS, r->cs);
    vcpu_tcg_w(t, UC_X86_REG_EIP, r->ip);
    vcpu_tcg_w(t, UC_X86_REG_ESP, (esp & 0xffff0000u) | r->sp);
    vcpu_tcg_w(t, UC_X86_REG_EFLAGS, r->eflags);
}

static bool vcpu_tcg_mem_read(void *accel, uint64_t gpa, void *buf, size_t len)
{
    VcpuTcg *t = accel;

    return uc_mem_read(t->uc, gpa, buf, len) == UC_ERR_OK;
}

static bool vcpu_tcg_mem_write(void *accel, uint64_t gpa, const void *buf,
                               size_t len)
{
    VcpuTcg *t = accel;

    return uc_mem_write(t->uc, gpa, buf, len) == UC_ERR_OK;
}

const VcpuAccelOps vcpu_tcg_ops = {
    .create = vcpu_tcg_create,
    .destroy = vcpu_tcg_destroy,
    .map = vcpu_tcg_map,
    .reset = vcpu_tcg_reset,
    .run = vcpu_tcg_run,
    .track_writes = vcpu_tcg_track_writes,
    .kick = vcpu_tcg_kick,
    .get_rm = vcpu_tcg_get_rm,
    .set_rm = vcpu_tcg_set_rm,
    .mem_read = vcpu_tcg_mem_read,
    .mem_write = vcpu_tcg_mem_write,
};
