/* A hypercall: the partition answers it (hypercall.c checks every argument), the result
 * goes to RAX and the instruction completes.  VMCALL exits at every privilege level, so
 * one from CPL 1-3 (a guest's user program) is refused without reaching the partition:
 * it could otherwise end it, or grant its kernel's pages to a peer. */
#include "hv/core/exit/exit.h"
#include "hv/core/hypercall_abi.h"

void exit_vmcall(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx)
{
    fx->count = EXIT_HYPERCALL;
    int64_t result = e->vmcall.cpl ? -HC_EPERM
                                   : env->hypercall(env->ctx, e->vmcall.nr, e->vmcall.arg);
    exit_set_gpr(fx, RAX, (uint64_t)result);
    fx->complete = true;
}
