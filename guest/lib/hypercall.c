#include "guest/lib/hypercall.h"

#include <string.h>

#include "guest/lib/safe.h"
#include "guest/lib/x86.h"

bool atoll_present(void)
{
    if (!cpu_has(1, 'c', 31))
        return false;
    struct cpuid_regs r = cpuid(HV_CPUID_BASE, 0);
    char sig[13];
    memcpy(sig + 0, &r.ebx, 4);
    memcpy(sig + 4, &r.ecx, 4);
    memcpy(sig + 8, &r.edx, 4);
    sig[12] = 0;
    return r.eax >= HV_CPUID_BASE && memcmp(sig, HV_CPUID_SIGNATURE, 12) == 0;
}

int64_t hypercall_safe(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                       int *fault)
{
    register uint64_t r10 __asm__("r10") = a3;
    register uint64_t vec __asm__("r11") = (uint64_t)NO_FAULT;
    uint64_t ret = nr;
    __asm__ volatile(SAFE_INSN("vmcall")
                     : "+a"(ret), "+r"(vec)
                     : "D"(a0), "S"(a1), "d"(a2), "r"(r10)
                     : "memory");
    *fault = (int)vec;
    return (int64_t)ret;
}
