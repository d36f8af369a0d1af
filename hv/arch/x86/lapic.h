/* The physical CPU's local APIC (xAPIC MMIO through the direct map). */
#ifndef ATOLL_HV_ARCH_X86_LAPIC_H
#define ATOLL_HV_ARCH_X86_LAPIC_H
#include <stdint.h>

void lapic_init(void);                  /* on every CPU */
uint32_t lapic_id(void);
void lapic_eoi(void);
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
void lapic_send_init(uint32_t apic_id);
void lapic_send_sipi(uint32_t apic_id, uint8_t page);
void lapic_broadcast_init(void);           /* to all CPUs but this one */
void lapic_broadcast_sipi(uint8_t page);
/* One-shot timer interrupt on VEC_LAPIC_TIMER after ns (0 stops it). */
void lapic_timer_oneshot_ns(uint64_t ns);
/* Halts this CPU until an interrupt arrives or ns have passed (at least 1 us); returns
 * with interrupts enabled. */
void lapic_halt_ns(uint64_t ns);
/* TSC ticks the calling CPU has spent in lapic_halt_ns (with the interrupts that woke it). */
uint64_t lapic_halted_tsc(void);
/* Counts of the timer per millisecond, measured against the PIT. */
void lapic_timer_calibrate(void);

#endif
