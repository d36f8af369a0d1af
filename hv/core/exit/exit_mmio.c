/* A guest-physical access the second-level tables refused: a store to RAM that dirty
 * tracking made read-only, or an access outside RAM, emulated when an instruction at RIP
 * made it.  Code, page tables or an event's IDT or stack outside RAM have no instruction
 * to emulate: the partition ends. */
#include "hv/core/exit/exit.h"

void exit_mmio(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx)
{
    uint64_t gpa = e->mmio.gpa;
    if (env->in_ram(env->ctx, gpa)) {
        fx->count = EXIT_EPT;
        if (e->mmio.write && env->write_fault(env->ctx, gpa))
            return;                         /* RESUME: the store runs again */
        exit_kill(fx, "vcpu%u: unexpected EPT violation at gpa %#lx (qualification %#lx)",
                  e->vcpu, gpa, e->raw);
        return;
    }
    fx->count = EXIT_MMIO;
    if (e->mmio.fetch || e->mmio.table || e->event_queued) {
        exit_kill(fx, "vcpu%u: %s at gpa %#lx, outside its memory (rip %#lx)", e->vcpu,
                  e->mmio.fetch ? "instruction fetch" : e->mmio.table ? "page-table access"
                                                      : "event delivery",
                  gpa, e->rip);
        return;
    }
    fx->verdict = VERDICT_EMULATE;
    fx->emulate = (struct mmio_exit){ .gpa = gpa };
}
