/* The hypercall ABI of hv/core/hypercall_abi.h: the call number and arguments as the exit
 * record carries them from the vCPU's registers (exit_vmcall puts the result in RAX).
 * Every guest address and length is checked against the partition. */
#ifndef ATOLL_HV_CORE_HYPERCALL_H
#define ATOLL_HV_CORE_HYPERCALL_H
#include "hv/core/vcpu.h"

int64_t hypercall_dispatch(struct vcpu *v, uint64_t nr, const uint64_t arg[4]);

#endif
