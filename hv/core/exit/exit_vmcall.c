/* A hypercall: the partition answers it (hypercall.c checks every argument), the result
 * goes to RAX and the instruction completes. */
#include "hv/core/exit/exit.h"

void exit_vmcall(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx)
{
    fx->count = EXIT_HYPERCALL;
    int64_t result = env->hypercall(env->ctx, e->vmcall.nr, e->vmcall.arg);
    exit_set_gpr(fx, RAX, (uint64_t)result);
    fx->complete = true;
}
