/* Control-register access: the rules (exit_cr.h) and the exit handler that applies them. */
#include "hv/core/exit/exit_cr.h"
#include "hv/core/exit/exit.h"

bool guest_cr0_write(const struct guest_ctl *now, uint64_t value, struct guest_ctl *next)
{
    if (((value & CR0_PG) && !(value & CR0_PE)) || ((value & CR0_NW) && !(value & CR0_CD)) ||
        (value >> 32))
        return false;
    bool was_paging = now->cr0 & CR0_PG;
    if (was_paging && !(value & CR0_PG) && (now->cr4 & CR4_PCIDE))
        return false;
    if (!(value & CR0_WP) && (now->cr4 & CR4_CET))
        return false;
    *next = *now;
    if ((value & CR0_PG) && !was_paging && (now->efer & EFER_LME)) {
        if (!(now->cr4 & CR4_PAE))
            return false;
        next->efer |= EFER_LMA;
    } else if (!(value & CR0_PG) && was_paging) {
        next->efer &= ~EFER_LMA;
    }
    next->cr0 = value;
    return true;
}

bool guest_cr4_write(const struct guest_ctl *now, uint64_t value, uint64_t offered,
                     struct guest_ctl *next)
{
    if (value & ~offered)
        return false;
    bool long_mode = now->efer & EFER_LMA;
    if (long_mode && (!(value & CR4_PAE) || ((value ^ now->cr4) & CR4_LA57)))
        return false;
    if ((value & CR4_PCIDE) && !long_mode)
        return false;
    if ((value & CR4_CET) && !(now->cr0 & CR0_WP))
        return false;
    *next = *now;
    next->cr4 = value;
    return true;
}

bool guest_efer_write(const struct guest_ctl *now, uint64_t value, struct guest_ctl *next)
{
    if (value & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
        return false;
    value = (value & ~EFER_LMA) | (now->efer & EFER_LMA);
    if ((now->cr0 & CR0_PG) && ((value ^ now->efer) & EFER_LME))
        return false;
    if ((now->efer & EFER_LMA) && !(value & EFER_LME))
        return false;
    *next = *now;
    next->efer = value;
    return true;
}

uint64_t guest_cr0_after_clts(uint64_t cr0)
{
    return cr0 & ~CR0_TS;
}

uint64_t guest_cr0_after_lmsw(uint64_t cr0, uint64_t source)
{
    return (cr0 & ~0xeull) | (source & 0xf) | (cr0 & CR0_PE);
}

/* CR0 and CR4 exit when the guest writes them; CR8 (the TPR) both ways.  MOV from CR0 or
 * CR4 reads the shadow without an exit; one from any other CR reads 0 here. */
void exit_cr(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx)
{
    fx->count = EXIT_CR;
    const struct guest_ctl *now = &e->cr.now;
    bool ok = true;
    /* 64-bit mode leaves IA-32e mode only through compatibility mode (SDM Vol. 3, 10.8.5.4):
     * MOV to CR0 clearing PG there is #GP (LMSW and CLTS never clear it). */
    if (e->cr.number == 0 && e->cr.access == CR_MOV_TO && e->cr.cs_long &&
        (now->efer & EFER_LMA) && !(e->cr.value & CR0_PG)) {
        exit_raise(fx, VECTOR_GP, true, 0);
        return;
    }
    if (e->cr.number == 4 && e->cr.access == CR_MOV_TO && (e->cr.value & ~now->cr4 & CR4_PCIDE) &&
        (e->cr.cr3 & 0xfff)) {
        exit_raise(fx, VECTOR_GP, true, 0);
        return;
    }
    switch (e->cr.access) {
    case CR_MOV_TO:
        if (e->cr.number == 0)
            ok = guest_cr0_write(now, e->cr.value, &fx->ctl);
        else if (e->cr.number == 4)
            ok = guest_cr4_write(now, e->cr.value, e->cr.cr4_offered, &fx->ctl);
        else if (e->cr.number == 8 && !(e->cr.value >> 4))
            env->set_tpr(env->ctx, e->cr.value);
        else if (e->cr.number == 8)
            ok = false;                 /* CR8's bits 63:4 are reserved */
        else {
            fx->verdict = VERDICT_UNHANDLED;
            return;
        }
        if (ok && e->cr.number == 0)
            fx->ctl_written = GUEST_CTL_CR0 | GUEST_CTL_EFER;
        else if (ok && e->cr.number == 4)
            fx->ctl_written = GUEST_CTL_CR4;
        break;
    case CR_MOV_FROM:
        exit_set_gpr(fx, (enum gpr)(e->cr.gpr & 15), e->cr.number == 8 ? env->get_tpr(env->ctx) : 0);
        break;
    case CR_CLTS:
        ok = guest_cr0_write(now, guest_cr0_after_clts(now->cr0), &fx->ctl);
        fx->ctl_written = ok ? GUEST_CTL_CR0 | GUEST_CTL_EFER : 0;
        break;
    case CR_LMSW:
        ok = guest_cr0_write(now, guest_cr0_after_lmsw(now->cr0, e->cr.value), &fx->ctl);
        fx->ctl_written = ok ? GUEST_CTL_CR0 | GUEST_CTL_EFER : 0;
        break;
    default:
        fx->verdict = VERDICT_UNHANDLED;
        return;
    }
    if (!ok)
        exit_raise(fx, VECTOR_GP, true, 0);
    else
        fx->complete = true;
}
