/* Emulating a guest's load or store to an emulated device's MMIO range: the instruction
 * at the guest's RIP is fetched through its page tables and decoded by Zydis. */
#ifndef ATOLL_HV_CORE_MMIO_H
#define ATOLL_HV_CORE_MMIO_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/core/vcpu.h"

struct mmio_access {
    uint64_t gpa;
    bool write;             /* as the exit reported it */
    uint64_t rip;
    uint32_t instr_len;     /* filled in from the decoded instruction */
};

enum mmio_result { MMIO_DONE, MMIO_NO_DEVICE, MMIO_UNSUPPORTED };

enum mmio_result mmio_emulate(struct vcpu *v, struct mmio_access *a);

#endif
