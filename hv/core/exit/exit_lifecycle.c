/* Exits about the vCPU's or the partition's life rather than one instruction: a triple
 * fault ends the partition (its restart policy applies), an INIT meant for the physical
 * CPU is dropped (a guest's INIT reaches its vCPU through the virtual LAPIC), a SIPI
 * cannot come (no vCPU waits for one in hardware) and malformed second-level tables are
 * the hypervisor's fault, which ends only this partition. */
#include "hv/core/exit/exit.h"

void exit_lifecycle(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx)
{
    (void)env;
    switch (e->kind) {
    case EXIT_IS_SHUTDOWN:
        fx->count = EXIT_TRIPLE_FAULT;
        exit_kill(fx, "vcpu%u: triple fault at rip %#lx", e->vcpu, e->rip);
        return;
    case EXIT_IS_INIT:
        fx->count = EXIT_INIT_SIPI;
        return;
    case EXIT_IS_TABLES_BROKEN:
        fx->count = EXIT_EPT;
        exit_kill(fx, "vcpu%u: second-level page tables malformed at gpa %#lx (qualification %#lx)",
                  e->vcpu, e->mmio.gpa, e->raw);
        return;
    case EXIT_IS_SIPI:
        fx->count = EXIT_INIT_SIPI;
        break;
    default:
        fx->count = EXIT_OTHER;
        break;
    }
    fx->verdict = VERDICT_UNHANDLED;
}
