#include "hv/core/vcpu_state_core.h"

#include <string.h>
#include "hv/arch/x86/cpu.h"
#include "hv/core/exit/cpuid_policy.h"
#include "hv/core/exit/msr_policy.h"
#include "hv/core/vcpu_state_check.h"

static void partition_view(void *ctx, uint32_t leaf, uint32_t subleaf, struct cpuid_result *out)
{
    cpuid_policy(ctx, leaf, subleaf, out);
}

static struct cpuid_result host_cpuid(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid_regs r = cpuid(leaf, subleaf);
    return (struct cpuid_result){ r.eax, r.ebx, r.ecx, r.edx };
}

static unsigned phys_addr_bits(void)
{
    if (cpuid(0x80000000u, 0).eax < 0x80000008u)
        return 36;
    return cpuid(0x80000008u, 0).eax & 0xff;
}

bool vcpu_state_save_core(struct vcpu *v, struct vcpu_state *s, const struct vcpu_xstate_copy *x)
{
    struct vcpu_msrs copy = v->msrs;        /* a vCPU without MSR exits gets reset values */
    vcpu_state_msrs_capture(s, &(struct msr_guest){ partition_view, v, &copy, 0 });
    if (x->size > VCPU_STATE_XSAVE_MAX)
        return false;
    s->xcr0 = *x->xcr0;
    s->xsave_size = x->size;
    memcpy(s->xsave, x->area, x->size);
    switch (v->state) {
    case VCPU_RUNNABLE:
    case VCPU_PARKED:       /* its access faults again where it stands */
        s->run_state = VCPU_RS_RUNNING; break;
    case VCPU_HALTED: s->run_state = VCPU_RS_HALTED; break;
    case VCPU_WAIT_SIPI: s->run_state = VCPU_RS_WAIT_SIPI; break;
    default: return false;
    }
    /* on_hlt notes IF before it knows whether the vCPU halts at all */
    s->halted_irqs_off = s->run_state == VCPU_RS_HALTED && v->halted_irqs_off;
    s->sipi_pending = v->sipi_pending;
    s->sipi_vector = v->sipi_vector;
    return true;
}

const char *vcpu_state_refusal(const struct vcpu_state *s, uint64_t cr4_allowed,
                               const struct guest_xstate_cpu *xs,
                               const struct vcpu_xstate_copy *x)
{
    const char *bad = vcpu_state_impossible(s);
    if (bad)
        return bad;
    struct vcpu_state_offer offer = {
        .cr4_allowed = cr4_allowed, .xcr0_offered = xs->xcr0_offered, .xsave_size = x->size,
        .mxcsr_mask = xs->mxcsr_mask, .phys_addr_bits = phys_addr_bits(), .host = host_cpuid,
    };
    return vcpu_state_not_offered(s, &offer);
}

const char *vcpu_state_msrs_restore(struct vcpu *v, const struct vcpu_state *s,
                                    struct vcpu_msrs *msrs)
{
    memset(msrs, 0, sizeof(*msrs));
    return vcpu_state_msrs_apply(s, &(struct msr_guest){ partition_view, v, msrs, rdtsc() });
}

void vcpu_state_restore_core(struct vcpu *v, const struct vcpu_state *s,
                             const struct vcpu_xstate_copy *x)
{
    *x->xcr0 = s->xcr0;
    memcpy(x->area, s->xsave, s->xsave_size);
    memset(x->area + s->xsave_size, 0, x->size - s->xsave_size);
    v->halted_irqs_off = s->halted_irqs_off;
    v->sipi_vector = s->sipi_vector;
    if (v->sipi_pending != s->sipi_pending)
        v->sipi_pending = s->sipi_pending;
    enum vcpu_run_state rs = s->run_state;
    enum vcpu_sched_state want = rs == VCPU_RS_HALTED ? VCPU_HALTED :
                                 rs == VCPU_RS_WAIT_SIPI ? VCPU_WAIT_SIPI : VCPU_RUNNABLE;
    enum vcpu_sched_state now = v->state;
    if (now != want)
        __atomic_compare_exchange_n(&v->state, &now, want, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE);
}
