/* Starting the other CPUs. */
#ifndef ATOLL_HV_ARCH_X86_SMP_H
#define ATOLL_HV_ARCH_X86_SMP_H
#include <stdint.h>

/* Function every AP runs once it is in the high half with its per-CPU block installed. */
typedef void (*ap_main_fn)(void);

/* Starts each APIC id other than the boot CPU's; returns how many came online. */
unsigned smp_start(const uint32_t *apic_ids, unsigned count, ap_main_fn ap_main);

#endif
