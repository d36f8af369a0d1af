/*
 * Instructions that may fault, run so that a fault is caught instead of killing the test.
 *
 * Each *_safe() returns NO_FAULT, or the vector of the exception the instruction raised
 * (13 for #GP, 6 for #UD).  The instruction's address goes into the .ex_table section;
 * the exception handler finds it there, writes the vector into the saved R11 and resumes
 * after the instruction (see exceptions.c).  Safe on every CPU at once: nothing is global.
 */
#ifndef ATOLL_GUEST_SAFE_H
#define ATOLL_GUEST_SAFE_H

#include <stdint.h>

#define NO_FAULT (-1)
#define VEC_NMI 2
#define VEC_UD 6
#define VEC_GP 13
#define VEC_PF 14

#define SAFE_INSN(insn)                                     \
    "1: " insn "\n"                                         \
    "2:\n"                                                  \
    "\t.pushsection .ex_table, \"a\"\n"                     \
    "\t.balign 8\n"                                         \
    "\t.quad 1b, 2b\n"                                      \
    "\t.popsection\n"

static inline int rdmsr_safe(uint32_t msr, uint64_t *val)
{
    uint32_t lo = 0, hi = 0;
    register uint64_t vec __asm__("r11") = (uint64_t)NO_FAULT;
    __asm__ volatile(SAFE_INSN("rdmsr") : "+a"(lo), "+d"(hi), "+r"(vec) : "c"(msr) : "memory");
    *val = ((uint64_t)hi << 32) | lo;
    return (int)vec;
}

static inline int wrmsr_safe(uint32_t msr, uint64_t val)
{
    register uint64_t vec __asm__("r11") = (uint64_t)NO_FAULT;
    __asm__ volatile(SAFE_INSN("wrmsr") : "+r"(vec)
                     : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)) : "memory");
    return (int)vec;
}

#define DEFINE_WRITE_CR_SAFE(n)                                                   \
    static inline int write_cr##n##_safe(uint64_t v)                              \
    {                                                                             \
        register uint64_t vec __asm__("r11") = (uint64_t)NO_FAULT;                \
        __asm__ volatile(SAFE_INSN("mov %1, %%cr" #n) : "+r"(vec) : "r"(v) : "memory"); \
        return (int)vec;                                                          \
    }
DEFINE_WRITE_CR_SAFE(0)
DEFINE_WRITE_CR_SAFE(3)
DEFINE_WRITE_CR_SAFE(4)
#undef DEFINE_WRITE_CR_SAFE

static inline int read64_safe(uintptr_t addr, uint64_t *val)
{
    uint64_t v = 0;
    register uint64_t vec __asm__("r11") = (uint64_t)NO_FAULT;
    __asm__ volatile(SAFE_INSN("movq (%2), %0") : "+r"(v), "+r"(vec) : "r"(addr) : "memory");
    *val = v;
    return (int)vec;
}

#endif
