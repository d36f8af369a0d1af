/* RDMSR and WRMSR: IA32_EFER by the control-register rules (exit_cr.h), every other MSR by
 * the partition's devices and msr_policy (through the env). */
#include "hv/core/exit/exit.h"

#define MSR_EFER 0xc0000080u

void exit_msr(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx)
{
    fx->count = EXIT_MSR;
    bool write = e->kind == EXIT_IS_MSR_WRITE;
    uint64_t value = e->msr.value;
    bool ok;
    if (e->msr.index == MSR_EFER && write) {
        struct guest_ctl now = { .cr0 = e->msr.cr0, .efer = e->msr.efer };
        ok = guest_efer_write(&now, value, &fx->ctl);
        fx->ctl_written = ok ? GUEST_CTL_EFER : 0;
    } else if (e->msr.index == MSR_EFER) {
        value = e->msr.efer;
        ok = true;
    } else {
        ok = write ? env->msr_write(env->ctx, e->msr.index, value)
                   : env->msr_read(env->ctx, e->msr.index, &value);
    }
    if (!ok) {
        exit_raise(fx, VECTOR_GP, true, 0);
        return;
    }
    if (!write) {
        exit_set_gpr(fx, RAX, (uint32_t)value);
        exit_set_gpr(fx, RDX, value >> 32);
    }
    fx->complete = true;
}
