/*
 * The local APIC, in xAPIC (MMIO at the APIC base) or x2APIC (MSRs 0x800+) mode, chosen
 * per CPU by lapic_enable().  Register numbers are the xAPIC MMIO offsets in both modes.
 */
#ifndef ATOLL_GUEST_LAPIC_H
#define ATOLL_GUEST_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define APIC_ID       0x020
#define APIC_VERSION  0x030
#define APIC_TPR      0x080
#define APIC_EOI      0x0b0
#define APIC_SVR      0x0f0
#define APIC_ICR      0x300
#define APIC_ICR_HIGH 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR  0x390
#define APIC_TIMER_DIV  0x3e0

#define LVT_MASKED        (1u << 16)
#define LVT_TIMER_PERIODIC (1u << 17)
#define LVT_TIMER_DEADLINE (2u << 17)
#define APIC_SPURIOUS_VECTOR 0xff

enum lapic_mode { LAPIC_XAPIC, LAPIC_X2APIC };

bool lapic_has_x2apic(void);
bool lapic_has_tsc_deadline(void);

/* Enables this CPU's LAPIC in the given mode (x2APIC only if offered); returns success. */
bool lapic_enable(enum lapic_mode mode);
enum lapic_mode lapic_mode(void);

uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t val);
uint32_t lapic_id(void);
void lapic_eoi(void);

/* Fixed IPI, INIT and STARTUP to one APIC ID (physical destination). */
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
void lapic_send_init(uint32_t apic_id);
void lapic_send_nmi(uint32_t apic_id);
void lapic_send_sipi(uint32_t apic_id, uint8_t page);

/* Timer, divide by 1. */
void lapic_timer_oneshot(uint8_t vector, uint32_t count);
void lapic_timer_periodic(uint8_t vector, uint32_t count);
void lapic_timer_deadline_mode(uint8_t vector);
void lapic_timer_stop(void);

#endif
