/*
 * What CPUID tells a guest: the host's view, filtered.  Documented leaf by leaf in
 * cpuid_policy.c; the hypervisor bit is set and leaf 0x40000000 carries "AtollAtollHv".
 */
#ifndef ATOLL_HV_CORE_CPUID_POLICY_H
#define ATOLL_HV_CORE_CPUID_POLICY_H
#include <stdint.h>
#include "hv/core/vcpu.h"

struct cpuid_result { uint32_t eax, ebx, ecx, edx; };

/* The host's raw answer; replaceable in host tests. */
typedef struct cpuid_result (*cpuid_source)(uint32_t leaf, uint32_t subleaf);

void cpuid_filter(uint32_t leaf, uint32_t subleaf, unsigned vcpu_index, unsigned vcpu_count,
                  cpuid_source host, struct cpuid_result *out);
void cpuid_policy(struct vcpu *v, uint32_t leaf, uint32_t subleaf, struct cpuid_result *out);

#endif
