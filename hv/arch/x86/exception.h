/* What happens when the hypervisor itself faults: a full report, then that CPU stops. */
#ifndef ATOLL_HV_ARCH_X86_EXCEPTION_H
#define ATOLL_HV_ARCH_X86_EXCEPTION_H
#include "hv/arch/x86/idt.h"

__attribute__((noreturn)) void exception_fatal(struct trap_frame *f);
void exception_unexpected_irq(struct trap_frame *f);
/* Stop everything with a message (and a backtrace from the caller). */
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

#endif
