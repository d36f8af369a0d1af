/* The hypercall ABI of hv/core/hypercall_abi.h: arguments from the vCPU's registers,
 * result in RAX.  Every guest address and length is checked against the partition. */
#ifndef ATOLL_HV_CORE_HYPERCALL_H
#define ATOLL_HV_CORE_HYPERCALL_H
#include "hv/core/vcpu.h"

void hypercall_dispatch(struct vcpu *v);

#endif
