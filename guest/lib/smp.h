/*
 * Starting application processors with INIT-SIPI-SIPI.  APIC IDs are assumed to be
 * 0..cpus-1 (as Atoll and QEMU number vCPUs), the BSP being the one that runs test_main().
 */
#ifndef ATOLL_GUEST_SMP_H
#define ATOLL_GUEST_SMP_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*ap_main_fn)(unsigned cpu);

/*
 * Starts the CPU with this APIC ID; it enables its LAPIC in the BSP's mode, loads the IDT
 * and calls fn(cpu) on its own stack (cpu is an index below MAX_CPUS chosen by the caller).
 * Returns false if it did not check in within about a second.
 */
bool smp_start_ap(uint32_t apic_id, unsigned cpu, ap_main_fn fn);

/* How many CPUs have checked in, the BSP included. */
unsigned smp_cpus_online(void);

#endif
