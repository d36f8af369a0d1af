/*
 * Which MSRs a guest may read and write, and what it sees.  The MSRs VT-x switches itself
 * (FS/GS base, SYSCALL, SYSENTER, PAT) pass straight through; the LAPIC's go to the
 * partition's devices; the rest are decided here, from the CPUID view the partition gets
 * (cpuid_policy), so the two never disagree: an MSR that belongs to a feature CPUID hides
 * raises #GP, both ways, like on a CPU without the feature.  Anything not known here
 * raises #GP too.
 */
#ifndef ATOLL_HV_CORE_MSR_POLICY_H
#define ATOLL_HV_CORE_MSR_POLICY_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/core/exit/cpuid_policy.h"
#include "hv/core/vcpu.h"

/* One vCPU as the policy sees it: its CPUID view, the MSR values it set, its TSC now. */
struct msr_guest {
    void (*cpuid)(void *ctx, uint32_t leaf, uint32_t subleaf, struct cpuid_result *out);
    void *ctx;
    struct vcpu_msrs *regs;
    uint64_t tsc;
};

/* False: the guest gets #GP.  Portable; host-tested with a fake CPUID view. */
bool msr_guest_read(const struct msr_guest *g, uint32_t msr, uint64_t *value);
bool msr_guest_write(const struct msr_guest *g, uint32_t msr, uint64_t value);

#ifdef ATOLL_KERNEL
/* The same for a running vCPU, after the partition's devices (LAPIC) had their say. */
bool msr_policy_read(struct vcpu *v, uint32_t msr, uint64_t *value);
bool msr_policy_write(struct vcpu *v, uint32_t msr, uint64_t value);
#endif

#endif
