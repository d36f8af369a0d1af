/* Atoll hypercalls (hv/core/hypercall_abi.h) and detecting that Atoll is underneath. */
#ifndef ATOLL_GUEST_HYPERCALL_H
#define ATOLL_GUEST_HYPERCALL_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/core/hypercall_abi.h"

/* CPUID.1:ECX.hypervisor set and leaf 0x40000000 signed "AtollAtollHv". */
bool atoll_present(void);

/* VMCALL; only meaningful under Atoll (elsewhere VMCALL raises #UD). */
static inline int64_t hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
    register uint64_t r10 __asm__("r10") = a3;
    int64_t ret;
    __asm__ volatile("vmcall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10)
                     : "memory");
    return ret;
}

/* Like hypercall(), but a fault is caught: returns NO_FAULT or the vector in *fault. */
int64_t hypercall_safe(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                       int *fault);

#endif
