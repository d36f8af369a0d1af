/*
 * An exception of the guest's that the backend intercepts.  #AC is intercepted so that a
 * guest whose #AC handler itself raises #AC cannot hold the CPU in an endless delivery
 * loop that never exits (CVE-2015-5307): each one exits and is given back to the guest.
 * A machine check ends the partition; so does any other vector, which nothing should
 * intercept.
 */
#include "hv/core/exit/exit.h"

void exit_exception(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx)
{
    (void)env;
    fx->count = EXIT_EXCEPTION;
    uint8_t vector = e->exception.vector;
    if (vector == VECTOR_DB) {
        exit_raise(fx, VECTOR_DB, false, 0);    /* the backend has set DR6 and DR7 for it */
        return;
    }
    if (vector == VECTOR_AC) {
        exit_raise(fx, VECTOR_AC, true, 0);     /* #AC's error code is always 0 */
        return;
    }
    if (vector == VECTOR_MC)
        exit_kill(fx, "vcpu%u: machine check at rip %#lx", e->vcpu, e->rip);
    else
        exit_kill(fx, "vcpu%u: unexpected exception %u at rip %#lx", e->vcpu, vector, e->rip);
}
