/* HLT: it completes, and the vCPU sleeps unless something it can take is already there.
 * Whether it may sleep at all (an INIT came meanwhile; every vCPU halted with interrupts
 * off) is the partition's to say (exit_handle). */
#include "hv/core/exit/exit.h"

void exit_hlt(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx)
{
    fx->count = EXIT_HLT;
    fx->complete = true;
    fx->halted_irqs_off = !e->hlt.irqs_enabled;
    bool wake = e->event_queued || e->hlt.single_step || env->nmi_pending(env->ctx) ||
                (e->hlt.irqs_enabled && env->interrupt_pending(env->ctx));
    fx->verdict = wake ? VERDICT_RESUME : VERDICT_HALT;
}
