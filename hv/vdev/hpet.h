/*
 * HPET (IA-PC HPET specification 1.0a): a 64-bit main counter at VHPET_HZ and three
 * comparators, each one-shot or periodic, 64- or 32-bit, at 1 KiB of MMIO.
 *
 * The counter is derived from the platform's now_ns, so it never drifts from the other
 * clocks the guest sees.  A timer interrupts when the counter reaches its comparator
 * (in its width): edge-triggered by a pulse, or level-triggered by holding its line and
 * its GINTR_STA bit until the guest writes the bit back.  Lines: with legacy replacement
 * (GEN_CONF.LEG_RT_CNF) timer 0 drives ISA IRQ 0 and timer 1 IRQ 8, as the HPET spec's
 * table 2-6 says; otherwise each timer drives the IOAPIC input its Tn_INT_ROUTE_CNF names,
 * one of VHPET_ROUTE_CAP (IRQ 11 and GSIs 20-23, as Intel's ICH offers).  FSB (MSI)
 * delivery is not offered.  Registers take 32- and 64-bit accesses, naturally aligned;
 * anything else is refused (the bus reads all-ones and drops writes).
 *
 * One platform timer (timer_id) is armed for the earliest comparator due; the owner calls
 * vhpet_tick when it expires.  Not thread-safe (the partition's device lock).
 */
#ifndef ATOLL_HV_VDEV_HPET_H
#define ATOLL_HV_VDEV_HPET_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/vdev/vdev.h"

#define VHPET_DEFAULT_BASE 0xfed00000ull
#define VHPET_MMIO_SIZE    0x400u
#define VHPET_TIMERS       3u
#define VHPET_HZ           100000000ull         /* 100 MHz: one tick per 10 ns */
#define VHPET_PERIOD_FS    10000000u            /* femtoseconds per tick, in GCAP_ID */
#define VHPET_ROUTE_CAP    0x00f00800u          /* IOAPIC inputs 11, 20, 21, 22, 23 */
/* GCAP_ID bits 31:0: revision 1, 3 timers, 64-bit counter, legacy replacement, Intel. */
#define VHPET_BLOCK_ID     (0x8086u << 16 | 1u << 15 | 1u << 13 | (VHPET_TIMERS - 1) << 8 | 1u)
/* The smallest period it promises (the ACPI HPET table's minimum tick) and keeps: a
 * periodic timer set faster interrupts at most every VHPET_MIN_TICK ticks (50 us, as the
 * LAPIC's and the PIT's floors), skipping the periods between, so a tiny period cannot
 * keep the partition's timer due at every VM entry. */
#define VHPET_MIN_TICK     5000u

struct vhpet_timer {
    uint64_t config;        /* the writable bits of Tn_CONF */
    uint64_t cmp;           /* comparator (32-bit mode: bits 31:0) */
    uint64_t period;        /* periodic mode: what a comparator write last set */
    uint64_t due;           /* absolute counter value of the next match */
    bool armed;             /* due is meaningful */
    bool line;              /* level mode: the line is held */
};

struct vhpet {
    const struct vdev_platform *plat;
    unsigned timer_id;
    uint64_t base;
    uint64_t config;        /* GEN_CONF */
    uint64_t isr;           /* GINTR_STA */
    uint64_t counter_at;    /* main counter value at ns_at (the value, while halted) */
    uint64_t ns_at;
    struct vhpet_timer t[VHPET_TIMERS];
    uint64_t interrupts;    /* delivered, for tests and statistics */
};

/* Legacy replacement is on: timers 0 and 1 own ISA IRQ 0 and 8, and the platform must
 * keep the PIT and the RTC off those lines (HPET spec 2.3.9.2.2). */
static inline bool vhpet_legacy_replacement(const struct vhpet *h)
{
    return h->config & 2u;
}

void vhpet_init(struct vhpet *h, const struct vdev_platform *plat, unsigned timer_id,
                uint64_t base);
bool vhpet_register(struct vhpet *h, struct vdev_bus *bus);
/* Reset, save and restore on bus (section 'HPET': configuration, status, the counter's
 * reckoning in guest time, each comparator and its next match). */
bool vhpet_register_state(struct vhpet *h, struct vdev_bus *bus);
/* Fires every comparator that is due and re-arms the platform timer. */
void vhpet_tick(struct vhpet *h);

bool vhpet_mmio_read(void *dev, uint64_t offset, unsigned size, uint64_t *value);
bool vhpet_mmio_write(void *dev, uint64_t offset, unsigned size, uint64_t value);

#endif
