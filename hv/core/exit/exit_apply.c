#include "hv/core/exit/exit_apply.h"
#include "hv/core/exit/emulate.h"
#include "hv/core/partition.h"

enum exit_action exit_emulate(const struct exit_target *t, struct vcpu *v, const struct mmio_exit *e)
{
    struct mmio_cpu c;
    struct guest_paging pg;
    struct mmio_outcome out;
    t->emulation_load(v, &c, &pg);
    enum mmio_result r = vcpu_emulate(v, &c, &pg, e, &out);
    if (r == MMIO_INVALID) {
        t->queue_exception(v, out.vector, out.vector == VECTOR_GP, out.error);
        return EXIT_RESUME;
    }
    if (r != MMIO_DONE && r != MMIO_AGAIN && r != MMIO_UNMAPPED)
        return EXIT_STOP;
    t->emulation_store(v, &c);
    if (r == MMIO_UNMAPPED)
        t->queue_fault(v, out.vector, out.error, out.linear);
    else
        t->complete_instruction(v, r == MMIO_DONE ? out.length : 0);
    return v->part->state == PART_DEAD ? EXIT_STOP : EXIT_RESUME;
}

static enum exit_action load_effects(const struct exit_target *t, struct vcpu *v,
                                     const struct exit_info *e, const struct exit_effects *fx)
{
    switch (fx->verdict) {
    case VERDICT_UNHANDLED:
        return t->unhandled(v, e);
    case VERDICT_EMULATE:
        return exit_emulate(t, v, &fx->emulate);
    default:
        break;
    }
    for (unsigned r = 0; r < 16; r++)
        if (fx->gpr_written & (1u << r)) {
            if (r == RSP)
                t->write_rsp(v, fx->gpr[r]);
            else
                v->gpr[r] = fx->gpr[r];
        }
    bool loaded = !fx->ctl_written || t->load_ctl(v, fx->ctl_written, &fx->ctl);
    if (fx->xcr0_written && !t->set_xcr0(v, fx->xcr0)) {
        partition_kill(v->part, "vcpu%u: the CPU refused XCR0 %#lx that passed every check (rip %#lx)",
                       v->index, fx->xcr0, e->rip);
        return EXIT_STOP;
    }
    if (!loaded) {
        t->queue_exception(v, VECTOR_GP, true, 0);
    } else if (fx->exception.valid) {
        t->queue_exception(v, fx->exception.vector, fx->exception.has_error, fx->exception.error);
    } else if (fx->complete) {
        if (!e->instr_len) {
            partition_kill(v->part, "vcpu%u: the instruction at rip %#lx could not be decoded "
                           "to step past it", v->index, e->rip);
            return EXIT_STOP;
        }
        t->complete_instruction(v, e->instr_len);
    }
    switch (fx->verdict) {
    case VERDICT_HALT: return EXIT_HALT;
    case VERDICT_STOP: return EXIT_STOP;
    default: return EXIT_RESUME;
    }
}

enum exit_action exit_apply(const struct exit_target *t, struct vcpu *v, struct exit_info *e)
{
    struct exit_effects fx;
    exit_handle(v, e, &fx);
    return load_effects(t, v, e, &fx);
}
