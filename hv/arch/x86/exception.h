/*
 * What happens when the hypervisor itself faults: a full report, then that CPU stops;
 * unless the faulting instruction is one listed in the exception table (EXTABLE_INSN):
 * an instruction that acts on a value a guest chose (XSETBV with its XCR0, XRSTOR of its
 * state) and may fault where the hypervisor's checks fell short.  It then resumes after
 * the instruction with the vector in R11, and the caller ends that guest's partition
 * instead of the machine.
 */
#ifndef ATOLL_HV_ARCH_X86_EXCEPTION_H
#define ATOLL_HV_ARCH_X86_EXCEPTION_H
#include <stdbool.h>
#include "hv/arch/x86/idt.h"

#define EXTABLE_NO_FAULT (-1)

/* The instruction `insn`, listed in the exception table.  The asm statement must bind R11
 * ("+r" to a register variable set to EXTABLE_NO_FAULT): it holds the vector afterwards. */
#define EXTABLE_INSN(insn)                                  \
    "1: " insn "\n"                                         \
    "2:\n"                                                  \
    "\t.pushsection .ex_table, \"a\"\n"                     \
    "\t.balign 8\n"                                         \
    "\t.quad 1b, 2b\n"                                      \
    "\t.popsection\n"

/* A fault at a listed instruction: resume after it with the vector in R11. */
bool exception_fixup(struct trap_frame *f);

__attribute__((noreturn)) void exception_fatal(struct trap_frame *f);
void exception_unexpected_irq(struct trap_frame *f);
/* Stop everything with a message (and a backtrace from the caller). */
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

#endif
