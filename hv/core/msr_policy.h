/*
 * Which MSRs a guest may read and write (an allow list), and what it sees.  The MSRs VT-x
 * switches itself (FS/GS base, SYSCALL, SYSENTER, PAT) pass straight through; the LAPIC's
 * go to the partition's devices; anything else not listed in msr_policy.c raises #GP.
 */
#ifndef ATOLL_HV_CORE_MSR_POLICY_H
#define ATOLL_HV_CORE_MSR_POLICY_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/core/vcpu.h"

/* False: the guest gets #GP. */
bool msr_policy_read(struct vcpu *v, uint32_t msr, uint64_t *value);
bool msr_policy_write(struct vcpu *v, uint32_t msr, uint64_t value);

#endif
