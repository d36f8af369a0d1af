/*
 * Running a function on another CPU: it runs there in the handler of an IPI (VEC_IPI_CALL,
 * interrupts off) and the caller waits for it, up to a timeout.  For short work only a
 * CPU can do for itself (VMCLEAR of the VMCS it holds).  Call with interrupts on: a CPU
 * waiting here must still answer calls from others.
 */
#ifndef ATOLL_HV_ARCH_X86_IPI_CALL_H
#define ATOLL_HV_ARCH_X86_IPI_CALL_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/arch/x86/idt.h"

typedef void (*ipi_call_fn)(void *arg);

/* Runs fn(arg) on CPU `cpu` (this one: directly); false if it had not run by the timeout,
 * and then it never will. */
bool ipi_call(unsigned cpu, ipi_call_fn fn, void *arg, uint64_t timeout_ns);
/* The VEC_IPI_CALL handler (idt.c installs it). */
void ipi_call_handle(struct trap_frame *f);

#endif
