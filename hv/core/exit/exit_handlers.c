/* exit_decide: one handler per kind of exit; the effects they share. */
#include <string.h>
#include "hv/core/exit/exit.h"
#include "hv/core/exit/xcr0_policy.h"
#include "hv/lib/format.h"

void exit_set_gpr(struct exit_effects *fx, enum gpr reg, uint64_t value)
{
    fx->gpr[reg] = value;
    fx->gpr_written |= (uint16_t)(1u << reg);
}

void exit_raise(struct exit_effects *fx, uint8_t vector, bool has_error, uint32_t error)
{
    fx->exception = (struct exit_exception){ true, vector, has_error, error };
    fx->complete = false;
}

void exit_kill(struct exit_effects *fx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(fx->kill_line, sizeof(fx->kill_line), fmt, ap);
    va_end(ap);
    fx->verdict = VERDICT_STOP;
}

void exit_cpuid(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx)
{
    fx->count = EXIT_CPUID;
    struct cpuid_result r;
    env->cpuid(env->ctx, e->cpuid.leaf, e->cpuid.subleaf, &r);
    exit_set_gpr(fx, RAX, r.eax);
    exit_set_gpr(fx, RBX, r.ebx);
    exit_set_gpr(fx, RCX, r.ecx);
    exit_set_gpr(fx, RDX, r.edx);
    fx->complete = true;
}

/* The SDM's every rule (xcr0_policy.c) before the backend loads the value. */
void exit_xsetbv(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx)
{
    (void)env;
    fx->count = EXIT_XSETBV;
    switch (xsetbv_check(e->xsetbv.xcr, e->xsetbv.value, e->xsetbv.cpl, e->xsetbv.osxsave,
                         e->xsetbv.offered)) {
    case XSETBV_UD:
        exit_raise(fx, VECTOR_UD, false, 0);
        return;
    case XSETBV_GP:
        exit_raise(fx, VECTOR_GP, true, 0);
        return;
    case XSETBV_OK:
        break;
    }
    fx->xcr0_written = true;
    fx->xcr0 = e->xsetbv.value;
    fx->complete = true;
}

void exit_decide(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx)
{
    memset(fx, 0, sizeof(*fx));
    switch (e->kind) {
    case EXIT_IS_CPUID: exit_cpuid(env, e, fx); break;
    case EXIT_IS_MSR_READ:
    case EXIT_IS_MSR_WRITE: exit_msr(env, e, fx); break;
    case EXIT_IS_CR: exit_cr(env, e, fx); break;
    case EXIT_IS_XSETBV: exit_xsetbv(env, e, fx); break;
    case EXIT_IS_HLT: exit_hlt(env, e, fx); break;
    case EXIT_IS_IO: exit_io(env, e, fx); break;
    case EXIT_IS_MMIO: exit_mmio(env, e, fx); break;
    case EXIT_IS_VMCALL: exit_vmcall(env, e, fx); break;
    case EXIT_IS_EXCEPTION: exit_exception(env, e, fx); break;
    case EXIT_IS_INSTRUCTION: exit_instruction(env, e, fx); break;
    case EXIT_IS_SHUTDOWN:
    case EXIT_IS_INIT:
    case EXIT_IS_SIPI:
    case EXIT_IS_TABLES_BROKEN: exit_lifecycle(env, e, fx); break;
    default:
        fx->count = EXIT_OTHER;
        fx->verdict = VERDICT_UNHANDLED;
        return;
    }
    /* Real mode delivers no error code (and VM entry refuses one there). */
    if (fx->exception.valid && e->real_mode) {
        fx->exception.has_error = false;
        fx->exception.error = 0;
    }
}
