/* Host stand-in for hv/arch/x86/cpu.h, found first through -iquote by tests that compile
 * hypervisor code taking spinlocks (tests/unit/test_channel.c): one thread, no interrupts. */
#ifndef ATOLL_HV_ARCH_X86_CPU_H
#define ATOLL_HV_ARCH_X86_CPU_H
#include <stdint.h>

static inline void cpu_relax(void) {}
static inline uint64_t irq_save(void) { return 0; }
static inline void irq_restore(uint64_t flags) { (void)flags; }

#endif
