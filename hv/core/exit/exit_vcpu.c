/* exit_decide for a running vCPU: its partition as struct exit_env, and the effects that
 * fall to the partition rather than to the backend. */
#include "hv/core/exit/exit.h"
#include "hv/core/exit/msr_policy.h"
#include "hv/core/hypercall.h"
#include "hv/core/partition.h"
#include "hv/core/platform_glue.h"

static void env_cpuid(void *ctx, uint32_t leaf, uint32_t subleaf, struct cpuid_result *out)
{
    cpuid_policy(ctx, leaf, subleaf, out);
}

static bool env_msr_read(void *ctx, uint32_t msr, uint64_t *value)
{
    return msr_policy_read(ctx, msr, value);
}

static bool env_msr_write(void *ctx, uint32_t msr, uint64_t value)
{
    return msr_policy_write(ctx, msr, value);
}

static void env_io(void *ctx, uint16_t port, unsigned size, bool write, uint32_t *value)
{
    partition_io(ctx, port, size, write, value);
}

static void env_set_tpr(void *ctx, uint64_t cr8) { partition_set_tpr(ctx, cr8); }
static uint64_t env_get_tpr(void *ctx) { return partition_get_tpr(ctx); }
static bool env_interrupt_pending(void *ctx) { return partition_pending_vector(ctx) >= 0; }
static bool env_nmi_pending(void *ctx) { return partition_nmi_pending(ctx); }

static bool env_in_ram(void *ctx, uint64_t gpa)
{
    struct vcpu *v = ctx;
    return guest_mem_contains(&v->part->mem, gpa, 1);
}

static bool env_write_fault(void *ctx, uint64_t gpa) { return partition_write_fault(ctx, gpa); }

static int64_t env_hypercall(void *ctx, uint64_t nr, const uint64_t arg[HYPERCALL_ARGS])
{
    return hypercall_dispatch(ctx, nr, arg);
}

/* An INIT that came meanwhile (wait-for-SIPI) outranks the halt: that state stays. */
static enum exit_verdict halt(struct vcpu *v, const struct exit_info *e, struct exit_effects *fx)
{
    enum vcpu_sched_state was = VCPU_RUNNABLE;
    if (!__atomic_compare_exchange_n(&v->state, &was, VCPU_HALTED, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return VERDICT_HALT;
    if (fx->halted_irqs_off && partition_stuck(v->part)) {
        exit_kill(fx, "every vCPU halted with interrupts disabled (rip %#lx)",
                  e->rip + e->instr_len);
        return VERDICT_STOP;
    }
    return VERDICT_HALT;
}

void exit_handle(struct vcpu *v, const struct exit_info *e, struct exit_effects *fx)
{
    const struct exit_env env = {
        .ctx = v, .cpuid = env_cpuid, .msr_read = env_msr_read, .msr_write = env_msr_write,
        .io = env_io, .set_tpr = env_set_tpr, .get_tpr = env_get_tpr,
        .interrupt_pending = env_interrupt_pending, .nmi_pending = env_nmi_pending,
        .in_ram = env_in_ram, .write_fault = env_write_fault, .hypercall = env_hypercall,
    };
    exit_decide(&env, e, fx);
    vcpu_count_exit(v, fx->count);
    if (e->kind == EXIT_IS_HLT)
        v->halted_irqs_off = fx->halted_irqs_off;
    if (fx->verdict == VERDICT_HALT)
        fx->verdict = halt(v, e, fx);
    if (fx->verdict == VERDICT_STOP)
        partition_kill(v->part, "%s", fx->kill_line);
    else if (fx->verdict == VERDICT_RESUME && v->part->state == PART_DEAD)
        fx->verdict = VERDICT_STOP;
}
