/*
 * A local APIC per vCPU: xAPIC registers through its MMIO page (0xFEE00000 unless the
 * guest moves it) and x2APIC registers through MSRs 0x800-0x8ff, plus IA32_APIC_BASE
 * (0x1b) and IA32_TSC_DEADLINE (0x6e0).
 *
 * The VT-x layer asks vlapic_pending_vector() what to inject and reports the injection
 * with vlapic_accept().  IPIs leave through ops.send_ipi (the partition routes them to
 * sibling LAPICs and hands INIT/SIPI to the VT-x layer); EOIs of level-triggered
 * vectors leave through ops.eoi (to the IOAPIC).  The timer counts a 1 GHz bus clock
 * (VLAPIC_BUS_HZ) through the divider; TSC-deadline values are guest TSC ticks at
 * plat->tsc_hz.  Not thread-safe: the partition serialises calls.  apic.md lists the
 * SDM's rules and what the model does with each.
 */
#ifndef ATOLL_HV_VDEV_LAPIC_H
#define ATOLL_HV_VDEV_LAPIC_H

#include "hv/vdev/vdev.h"

#define VLAPIC_DEFAULT_BASE  0xfee00000ull
#define VLAPIC_BUS_HZ        1000000000ull
#define VLAPIC_MIN_PERIOD_NS 50000ull   /* periodic interrupts at most every 50 us */
#define VLAPIC_VERSION       0x00050014u   /* version 0x14, 6 LVT entries */

#define VLAPIC_MSR_APIC_BASE    0x1b
#define VLAPIC_MSR_TSC_DEADLINE 0x6e0
#define VLAPIC_MSR_X2APIC_FIRST      0x800
#define VLAPIC_MSR_X2APIC_LAST       0x8ff

#define VLAPIC_BASE_BSP   (1ull << 8)
#define VLAPIC_BASE_EXTD  (1ull << 10)
#define VLAPIC_BASE_EN    (1ull << 11)

enum vlapic_delivery_mode {
    VLAPIC_DM_FIXED = 0, VLAPIC_DM_LOWEST = 1, VLAPIC_DM_SMI = 2, VLAPIC_DM_NMI = 4,
    VLAPIC_DM_INIT = 5, VLAPIC_DM_SIPI = 6, VLAPIC_DM_EXTINT = 7,
};

enum vlapic_shorthand {
    VLAPIC_SH_NONE = 0, VLAPIC_SH_SELF = 1, VLAPIC_SH_ALL = 2, VLAPIC_SH_OTHERS = 3,
};

enum vlapic_lvt {
    VLAPIC_LVT_TIMER, VLAPIC_LVT_THERMAL, VLAPIC_LVT_PERF, VLAPIC_LVT_LINT0, VLAPIC_LVT_LINT1,
    VLAPIC_LVT_ERROR, VLAPIC_LVT_COUNT,
};

enum vlapic_timer_mode { VLAPIC_TIMER_ONESHOT = 0, VLAPIC_TIMER_PERIODIC = 1, VLAPIC_TIMER_TSC_DEADLINE = 2 };

/* Result of an MSR access routed to the LAPIC. */
enum vlapic_msr_result { VLAPIC_MSR_OK = 0, VLAPIC_MSR_GP = 1, VLAPIC_MSR_NOT_MINE = 2 };

/* An interrupt message: from an ICR write or an MSI. */
struct vlapic_ipi {
    uint32_t dest;          /* 8-bit (xAPIC/MSI format) or 32-bit (x2APIC format) */
    uint8_t vector, mode, shorthand;
    bool logical, level_trig, x2apic_format;
};

struct vlapic;

struct vlapic_ops {
    void *ctx;
    void (*send_ipi)(void *ctx, struct vlapic *from, const struct vlapic_ipi *ipi);
    void (*eoi)(void *ctx, uint8_t vector);     /* EOI of a level-triggered vector */
    void (*kick)(void *ctx, struct vlapic *l);   /* something became pending on l */
};

struct vlapic_stats {
    uint64_t timer_fires, ipis_sent, eois, dropped, errors;
};

struct vlapic {
    const struct vdev_platform *plat;
    struct vlapic_ops ops;
    unsigned index, timer_id, phys_bits;
    uint32_t id;
    uint64_t apic_base;
    uint32_t tpr, ldr, dfr, svr, esr, esr_pending, icr_lo, icr_hi;
    uint32_t lvt[VLAPIC_LVT_COUNT];
    uint32_t irr[8], isr[8], tmr[8];
    uint32_t timer_initial, dcr;
    bool timer_running;            /* one-shot/periodic counting */
    uint64_t timer_start_ns, timer_next_ns;
    uint64_t timer_tick_due_ns;     /* a periodic tick in the IRR: when it was due (0: none) */
    bool taken;                     /* taken_vector is the vector vlapic_accept took last */
    uint8_t taken_vector;
    uint64_t taken_tick_due_ns;     /* the periodic tick it was, when it was due (0: none) */
    uint64_t tsc_deadline;
    unsigned nmi_pending;           /* NMIs accepted, not yet injected */
    bool nmi_blocked;               /* one is being handled (until the guest's IRET) */
    bool extint_pending;           /* an ExtINT message: ask the PIC */
    struct vlapic_stats stats;
};

/* Power-on state; the BSP gets IA32_APIC_BASE.BSP.  timer_id goes to plat->timer_arm. */
void vlapic_init(struct vlapic *l, const struct vdev_platform *plat, const struct vlapic_ops *ops,
                unsigned index, uint32_t apic_id, unsigned timer_id, bool bsp);
/* State after INIT: registers reset, ID and IA32_APIC_BASE kept. */
void vlapic_reset(struct vlapic *l);

bool vlapic_hw_enabled(const struct vlapic *l);
bool vlapic_x2apic_mode(const struct vlapic *l);
/* Guest-physical base of the xAPIC page, or 0 when the LAPIC is hardware-disabled or in
 * x2APIC mode: the page is then not the LAPIC's (SDM 10.12.2: in x2APIC mode MMIO behaves
 * as with the APIC globally disabled), and reads of it are all-ones like any unassigned
 * address. */
uint64_t vlapic_mmio_base(const struct vlapic *l);
/* Access at offset within the 4 KiB page; any size/alignment is safe. */
void vlapic_mmio_read(struct vlapic *l, uint64_t offset, unsigned size, uint64_t *value);
void vlapic_mmio_write(struct vlapic *l, uint64_t offset, unsigned size, uint64_t value);
/* MSRs 0x1b, 0x6e0 and 0x800-0x8ff; others are VLAPIC_MSR_NOT_MINE. */
enum vlapic_msr_result vlapic_msr_read(struct vlapic *l, uint32_t msr, uint64_t *value);
enum vlapic_msr_result vlapic_msr_write(struct vlapic *l, uint32_t msr, uint64_t value);

/* An interrupt arriving at this LAPIC (fixed/lowest-priority vector, or NMI/ExtINT). */
void vlapic_deliver(struct vlapic *l, unsigned mode, uint8_t vector, bool level_trig);
/* Whether this LAPIC is a target of dest (the sender's addressing). */
bool vlapic_match_dest(const struct vlapic *l, uint32_t dest, bool logical, bool x2apic_format);

/* Highest IRR vector above the processor priority, or -1. */
int vlapic_pending_vector(struct vlapic *l);
/* The VT-x layer injected vector: IRR -> ISR.  False if it was not pending. */
bool vlapic_accept(struct vlapic *l, uint8_t vector);
/* The vector vlapic_accept took last was not delivered, and the vCPU waits before it can
 * be (its delivery touched a page not there yet): ISR -> IRR, as if never taken.  A
 * periodic tick keeps when it was due, so that when it is taken it counts as late as it
 * is.  False (nothing changed) if vector is not the one taken last, or not the highest in
 * service. */
bool vlapic_untake(struct vlapic *l, uint8_t vector);
/* An NMI is pending (and is consumed by this call). */
bool vlapic_take_nmi(struct vlapic *l);
/* The backend saw the guest leave its NMI handler (NMI blocking clear). */
void vlapic_nmi_unblocked(struct vlapic *l);
/* An NMI is pending; nothing is consumed.  Safe without the partition's lock. */
bool vlapic_nmi_pending(const struct vlapic *l);
/* LINT0 passes the PIC's INTR (hardware-disabled, or LINT0 unmasked in ExtINT mode). */
bool vlapic_accepts_pic(const struct vlapic *l);
uint8_t vlapic_ppr(const struct vlapic *l);
/* CR8 view of the TPR (bits 7:4). */
uint8_t vlapic_get_cr8(const struct vlapic *l);
void vlapic_set_cr8(struct vlapic *l, uint8_t cr8);

/* Save and restore (section 'LAPC', instance = vCPU index): registers, IRR/ISR/TMR,
 * the timer (initial count, start and next deadline in guest time, TSC deadline in guest
 * TSC ticks), latched NMIs, NMI blocking, a pending ExtINT.  INIT and SIPI are not
 * latched here (the VT-x layer's vCPU state holds wait-for-SIPI).  Restore refuses state
 * no LAPIC can be in (another APIC ID included), re-arms the saved deadline and kicks the
 * vCPU when something is pending. */
struct state_kind vlapic_state_kind(void);
bool vlapic_save(const struct vlapic *l, struct state_writer *w, uint16_t instance);
int vlapic_restore(struct vlapic *l, const struct state_section *s, char *err, size_t err_size);

/* Next timer expiry in platform ns, 0 when none. */
uint64_t vlapic_timer_deadline(const struct vlapic *l);
/* Fires the timer if due and re-arms plat->timer_arm. */
void vlapic_tick(struct vlapic *l);
/* Current count register (one-shot/periodic). */
uint32_t vlapic_timer_current(const struct vlapic *l);

#endif
