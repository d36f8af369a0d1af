/*
 * A local APIC per vCPU: xAPIC registers through its MMIO page (0xFEE00000 unless the
 * guest moves it) and x2APIC registers through MSRs 0x800-0x8ff, plus IA32_APIC_BASE
 * (0x1b) and IA32_TSC_DEADLINE (0x6e0).
 *
 * The VT-x layer asks lapic_pending_vector() what to inject and reports the injection
 * with lapic_accept().  IPIs leave through ops.send_ipi (the partition routes them to
 * sibling LAPICs and hands INIT/SIPI to the VT-x layer); EOIs of level-triggered
 * vectors leave through ops.eoi (to the IOAPIC).  The timer counts a 1 GHz bus clock
 * (LAPIC_BUS_HZ) through the divider; TSC-deadline values are guest TSC ticks at
 * plat->tsc_hz.  Not thread-safe: the partition serialises calls.
 */
#ifndef ATOLL_HV_VDEV_LAPIC_H
#define ATOLL_HV_VDEV_LAPIC_H

#include "hv/vdev/vdev.h"

#define LAPIC_DEFAULT_BASE  0xfee00000ull
#define LAPIC_BUS_HZ        1000000000ull
#define LAPIC_VERSION       0x00050014u   /* version 0x14, 6 LVT entries */

#define MSR_IA32_APIC_BASE    0x1b
#define MSR_IA32_TSC_DEADLINE 0x6e0
#define MSR_X2APIC_FIRST      0x800
#define MSR_X2APIC_LAST       0x8ff

#define APIC_BASE_BSP   (1ull << 8)
#define APIC_BASE_EXTD  (1ull << 10)
#define APIC_BASE_EN    (1ull << 11)

enum lapic_delivery_mode {
    LAPIC_DM_FIXED = 0, LAPIC_DM_LOWEST = 1, LAPIC_DM_SMI = 2, LAPIC_DM_NMI = 4,
    LAPIC_DM_INIT = 5, LAPIC_DM_SIPI = 6, LAPIC_DM_EXTINT = 7,
};

enum lapic_shorthand {
    LAPIC_SH_NONE = 0, LAPIC_SH_SELF = 1, LAPIC_SH_ALL = 2, LAPIC_SH_OTHERS = 3,
};

enum lapic_lvt {
    LAPIC_LVT_TIMER, LAPIC_LVT_THERMAL, LAPIC_LVT_PERF, LAPIC_LVT_LINT0, LAPIC_LVT_LINT1,
    LAPIC_LVT_ERROR, LAPIC_LVT_COUNT,
};

enum lapic_timer_mode { LAPIC_TIMER_ONESHOT = 0, LAPIC_TIMER_PERIODIC = 1, LAPIC_TIMER_TSC_DEADLINE = 2 };

/* Result of an MSR access routed to the LAPIC. */
enum lapic_msr_result { LAPIC_MSR_OK = 0, LAPIC_MSR_GP = 1, LAPIC_MSR_NOT_MINE = 2 };

/* An interrupt message: from an ICR write or an MSI. */
struct lapic_ipi {
    uint32_t dest;          /* 8-bit (xAPIC/MSI format) or 32-bit (x2APIC format) */
    uint8_t vector, mode, shorthand;
    bool logical, level_trig, x2apic_format;
};

struct lapic;

struct lapic_ops {
    void *ctx;
    void (*send_ipi)(void *ctx, struct lapic *from, const struct lapic_ipi *ipi);
    void (*eoi)(void *ctx, uint8_t vector);     /* EOI of a level-triggered vector */
    void (*kick)(void *ctx, struct lapic *l);   /* something became pending on l */
};

struct lapic_stats {
    uint64_t timer_fires, ipis_sent, eois, dropped, errors;
};

struct lapic {
    const struct vdev_platform *plat;
    struct lapic_ops ops;
    unsigned index, timer_id, phys_bits;
    uint32_t id;
    uint64_t apic_base;
    uint32_t tpr, ldr, dfr, svr, esr, esr_pending, icr_lo, icr_hi;
    uint32_t lvt[LAPIC_LVT_COUNT];
    uint32_t irr[8], isr[8], tmr[8];
    uint32_t timer_initial, dcr;
    bool timer_running;            /* one-shot/periodic counting */
    uint64_t timer_start_ns, timer_next_ns;
    uint64_t tsc_deadline;
    unsigned nmi_pending;
    bool extint_pending;           /* an ExtINT message: ask the PIC */
    struct lapic_stats stats;
};

/* Power-on state; the BSP gets IA32_APIC_BASE.BSP.  timer_id goes to plat->timer_arm. */
void lapic_init(struct lapic *l, const struct vdev_platform *plat, const struct lapic_ops *ops,
                unsigned index, uint32_t apic_id, unsigned timer_id, bool bsp);
/* State after INIT: registers reset, ID and IA32_APIC_BASE kept. */
void lapic_reset(struct lapic *l);

bool lapic_hw_enabled(const struct lapic *l);
bool lapic_x2apic_mode(const struct lapic *l);
/* Guest-physical base of the xAPIC page, or 0 when the LAPIC is hardware-disabled.
 * In x2APIC mode the page is still claimed: reads give 0, writes are dropped. */
uint64_t lapic_mmio_base(const struct lapic *l);
/* Access at offset within the 4 KiB page; any size/alignment is safe. */
void lapic_mmio_read(struct lapic *l, uint64_t offset, unsigned size, uint64_t *value);
void lapic_mmio_write(struct lapic *l, uint64_t offset, unsigned size, uint64_t value);
/* MSRs 0x1b, 0x6e0 and 0x800-0x8ff; others are LAPIC_MSR_NOT_MINE. */
enum lapic_msr_result lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *value);
enum lapic_msr_result lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t value);

/* An interrupt arriving at this LAPIC (fixed/lowest-priority vector, or NMI/ExtINT). */
void lapic_deliver(struct lapic *l, unsigned mode, uint8_t vector, bool level_trig);
/* Whether this LAPIC is a target of dest (the sender's addressing). */
bool lapic_match_dest(const struct lapic *l, uint32_t dest, bool logical, bool x2apic_format);

/* Highest IRR vector above the processor priority, or -1. */
int lapic_pending_vector(struct lapic *l);
/* The VT-x layer injected vector: IRR -> ISR.  False if it was not pending. */
bool lapic_accept(struct lapic *l, uint8_t vector);
/* An NMI is pending (and is consumed by this call). */
bool lapic_take_nmi(struct lapic *l);
/* LINT0 passes the PIC's INTR (hardware-disabled, or LINT0 unmasked in ExtINT mode). */
bool lapic_accepts_pic(const struct lapic *l);
uint8_t lapic_ppr(const struct lapic *l);
/* CR8 view of the TPR (bits 7:4). */
uint8_t lapic_get_cr8(const struct lapic *l);
void lapic_set_cr8(struct lapic *l, uint8_t cr8);

/* Next timer expiry in platform ns, 0 when none. */
uint64_t lapic_timer_deadline(const struct lapic *l);
/* Fires the timer if due and re-arms plat->timer_arm. */
void lapic_tick(struct lapic *l);
/* Current count register (one-shot/periodic). */
uint32_t lapic_timer_current(const struct lapic *l);

#endif
