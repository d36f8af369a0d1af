/* Local APIC model: registers, priorities, IPIs, timer (one-shot, periodic, TSC-deadline). */
#include "hv/vdev/lapic.h"
#include "hv/vdev/vdev_util.h"
#include "hv/lib/format.h"
#include "hv/state/state_desc.h"

#include <string.h>

/* Register numbers: xAPIC offset >> 4, x2APIC MSR - 0x800. */
enum {
    REG_ID = 0x02, REG_VERSION = 0x03, REG_TPR = 0x08, REG_APR = 0x09, REG_PPR = 0x0a,
    REG_EOI = 0x0b, REG_RRD = 0x0c, REG_LDR = 0x0d, REG_DFR = 0x0e, REG_SVR = 0x0f,
    REG_ISR = 0x10, REG_TMR = 0x18, REG_IRR = 0x20, REG_ESR = 0x28, REG_ICR = 0x30,
    REG_ICR2 = 0x31, REG_LVT0 = 0x32, REG_INITIAL = 0x38, REG_CURRENT = 0x39,
    REG_DCR = 0x3e, REG_SELF_IPI = 0x3f,
};

#define LVT_MASKED       (1u << 16)
#define LVT_DELIV_STATUS (1u << 12)    /* read-only, always idle here */
#define LVT_REMOTE_IRR   (1u << 14)    /* read-only, LINT0/LINT1 only */
#define SVR_WRITABLE     0x3ffu        /* vector, APIC enable, focus checking */
#define SVR_ENABLED      (1u << 8)
#define TPR_WRITABLE     0xffu
#define DCR_WRITABLE     0xbu          /* bits 0, 1, 3; bit 2 is reserved */
#define ICR_WRITABLE     0x000ccfffu
/* x2APIC ICR (SDM Figure 10-28): bits 12 (no delivery status), 13, 17:16 and 31:20 are
 * reserved; WRMSR with any of them set #GPs (10.12.1.3). */
#define X2APIC_ICR_RESERVED 0xfff33000ull
#define ICR_LOGICAL      (1u << 11)
#define ICR_ASSERT       (1u << 14)
#define ICR_LEVEL        (1u << 15)
#define ESR_SEND_ILLEGAL (1u << 5)
#define ESR_RECV_ILLEGAL (1u << 6)
#define ESR_ILLEGAL_REG  (1u << 7)

static const uint32_t lvt_writable[VLAPIC_LVT_COUNT] = {
    [VLAPIC_LVT_TIMER] = 0x000700ff, [VLAPIC_LVT_THERMAL] = 0x000107ff,
    [VLAPIC_LVT_PERF] = 0x000107ff, [VLAPIC_LVT_LINT0] = 0x0001a7ff,
    [VLAPIC_LVT_LINT1] = 0x0001a7ff, [VLAPIC_LVT_ERROR] = 0x000100ff,
};

enum write_result { W_OK, W_GP, W_ILLEGAL };

static uint64_t now(const struct vlapic *l)
{
    return l->plat->now_ns ? l->plat->now_ns(l->plat->ctx) : 0;
}

static uint64_t tsc_hz(const struct vlapic *l)
{
    return l->plat->tsc_hz ? l->plat->tsc_hz : VDEV_NS_PER_S;
}

static uint64_t guest_tsc(const struct vlapic *l, uint64_t t)
{
    if (l->plat->guest_tsc)
        return l->plat->guest_tsc(l->plat->ctx, l->index);
    return vdev_muldiv(t, tsc_hz(l), VDEV_NS_PER_S);
}

static bool test_bit(const uint32_t *v, unsigned bit)
{
    return (v[bit >> 5] >> (bit & 31)) & 1;
}

static void set_bit(uint32_t *v, unsigned bit)
{
    v[bit >> 5] |= 1u << (bit & 31);
}

static void clear_bit(uint32_t *v, unsigned bit)
{
    v[bit >> 5] &= ~(1u << (bit & 31));
}

static int highest_bit(const uint32_t *v)
{
    for (int i = 7; i >= 0; i--)
        if (v[i])
            return i * 32 + 31 - __builtin_clz(v[i]);
    return -1;
}

static void kick(struct vlapic *l)
{
    if (l->ops.kick)
        l->ops.kick(l->ops.ctx, l);
}

bool vlapic_hw_enabled(const struct vlapic *l)
{
    return (l->apic_base & VLAPIC_BASE_EN) != 0;
}

bool vlapic_x2apic_mode(const struct vlapic *l)
{
    return vlapic_hw_enabled(l) && (l->apic_base & VLAPIC_BASE_EXTD);
}

static bool sw_enabled(const struct vlapic *l)
{
    return (l->svr & SVR_ENABLED) != 0;
}

static unsigned timer_mode(const struct vlapic *l)
{
    return (l->lvt[VLAPIC_LVT_TIMER] >> 17) & 3;
}

static uint32_t x2apic_ldr(uint32_t id)
{
    return ((id >> 4) << 16) | (1u << (id & 0xf));
}

/* ---- timer --------------------------------------------------------------------------- */

static uint64_t timer_divisor(const struct vlapic *l)
{
    unsigned v = (l->dcr & 3) | ((l->dcr >> 1) & 4);
    return v == 7 ? 1 : 2u << v;
}

/* Bus clocks (1 ns each) of one full count. */
static uint64_t timer_period_ns(const struct vlapic *l)
{
    uint64_t clocks = (uint64_t)l->timer_initial * timer_divisor(l);
    return vdev_muldiv_up(clocks, VDEV_NS_PER_S, VLAPIC_BUS_HZ);
}

static uint64_t tsc_deadline_ns(const struct vlapic *l, uint64_t t)
{
    uint64_t tsc = guest_tsc(l, t);
    if (l->tsc_deadline <= tsc)
        return t ? t : 1;
    return vdev_add_sat(t, vdev_muldiv_up(l->tsc_deadline - tsc, VDEV_NS_PER_S, tsc_hz(l)));
}

static uint64_t next_expiry(const struct vlapic *l, uint64_t t)
{
    if (!vlapic_hw_enabled(l))
        return 0;
    if (timer_mode(l) == VLAPIC_TIMER_TSC_DEADLINE)
        return l->tsc_deadline ? tsc_deadline_ns(l, t) : 0;
    if (!l->timer_running || l->timer_initial == 0)
        return 0;
    uint64_t period = timer_period_ns(l);
    if (timer_mode(l) != VLAPIC_TIMER_PERIODIC || t < l->timer_start_ns)
        return vdev_add_sat(l->timer_start_ns, period);
    uint64_t k = (t - l->timer_start_ns) / period + 1;
    uint64_t span = k > UINT64_MAX / period ? UINT64_MAX : k * period;
    return vdev_add_sat(l->timer_start_ns, span);
}

static void timer_rearm(struct vlapic *l, uint64_t t)
{
    l->timer_next_ns = next_expiry(l, t);
    if (l->plat->timer_arm)
        l->plat->timer_arm(l->plat->ctx, l->timer_id, l->timer_next_ns);
}

/*
 * What a periodic timer owes a guest that did not run when its periods ended (another
 * partition held the CPU): one interrupt, not a burst.  The SDM's timer counts down and
 * reloads once per period whatever the CPU does, and a guest counts one tick per
 * interrupt (Linux accounts lost ticks from the clocksource, not by expecting a catch-up
 * burst).  So a tick delivered a tenth of a period or more after it was due stands for
 * every period missed, and the count restarts from its initial value now: the next one
 * is a whole period away.  A tick on time keeps the period's grid, without drift.
 */
static void periodic_coalesce(struct vlapic *l, uint64_t t, uint64_t due)
{
    uint64_t period = timer_period_ns(l);
    if (t - due >= period / 10)
        l->timer_start_ns = t;
}

/* Re-arms after a periodic interrupt (fired, or taken late): the next one is at least
 * VLAPIC_MIN_PERIOD_NS away, so a tiny initial count cannot make the partition's timer
 * fire continuously. */
static void timer_rearm_floor(struct vlapic *l, uint64_t t)
{
    l->timer_next_ns = next_expiry(l, t);
    if (timer_mode(l) == VLAPIC_TIMER_PERIODIC && l->timer_next_ns &&
        l->timer_next_ns - t < VLAPIC_MIN_PERIOD_NS)
        l->timer_next_ns = vdev_add_sat(t, VLAPIC_MIN_PERIOD_NS);
    if (l->plat->timer_arm)
        l->plat->timer_arm(l->plat->ctx, l->timer_id, l->timer_next_ns);
}

static void timer_rearm_after_fire(struct vlapic *l, uint64_t t)
{
    if (timer_mode(l) == VLAPIC_TIMER_PERIODIC && l->timer_running && l->timer_initial)
        periodic_coalesce(l, t, l->timer_next_ns);
    timer_rearm_floor(l, t);
}

static void timer_stop(struct vlapic *l)
{
    l->timer_running = false;
    l->timer_tick_due_ns = 0;
    l->tsc_deadline = 0;
    timer_rearm(l, now(l));
}

uint64_t vlapic_timer_deadline(const struct vlapic *l)
{
    return l->timer_next_ns;
}

uint32_t vlapic_timer_current(const struct vlapic *l)
{
    if (timer_mode(l) == VLAPIC_TIMER_TSC_DEADLINE || !l->timer_running || !l->timer_initial)
        return 0;
    uint64_t t = now(l);
    uint64_t elapsed = t > l->timer_start_ns ? t - l->timer_start_ns : 0;
    uint64_t dec = vdev_muldiv(elapsed, VLAPIC_BUS_HZ, VDEV_NS_PER_S) / timer_divisor(l);
    if (timer_mode(l) == VLAPIC_TIMER_PERIODIC)
        return (uint32_t)(l->timer_initial - dec % l->timer_initial);
    return dec >= l->timer_initial ? 0 : (uint32_t)(l->timer_initial - dec);
}

static void accept_vector(struct vlapic *l, uint8_t vector, bool level_trig);

static void timer_fire(struct vlapic *l, uint64_t t)
{
    l->stats.timer_fires++;
    uint32_t lvt = l->lvt[VLAPIC_LVT_TIMER];
    if (!(lvt & LVT_MASKED)) {
        accept_vector(l, (uint8_t)lvt, false);
        if (timer_mode(l) == VLAPIC_TIMER_PERIODIC && !l->timer_tick_due_ns)
            l->timer_tick_due_ns = l->timer_next_ns;
    }
    if (timer_mode(l) == VLAPIC_TIMER_TSC_DEADLINE)
        l->tsc_deadline = 0;
    else if (timer_mode(l) != VLAPIC_TIMER_PERIODIC)
        l->timer_running = false;
}

void vlapic_tick(struct vlapic *l)
{
    uint64_t t = now(l);
    if (!l->timer_next_ns || t < l->timer_next_ns)
        return;   /* not due: the armed deadline still stands */
    timer_fire(l, t);
    timer_rearm_after_fire(l, t);
}

static void write_initial_count(struct vlapic *l, uint32_t v)
{
    if (timer_mode(l) == VLAPIC_TIMER_TSC_DEADLINE)
        return;
    l->timer_initial = v;
    l->timer_tick_due_ns = 0;
    l->timer_start_ns = now(l);
    l->timer_running = v != 0;
    timer_rearm(l, l->timer_start_ns);
}

static void write_tsc_deadline(struct vlapic *l, uint64_t v)
{
    if (timer_mode(l) != VLAPIC_TIMER_TSC_DEADLINE)
        return;
    uint64_t t = now(l);
    l->tsc_deadline = v;
    timer_rearm(l, t);
    if (v && l->timer_next_ns <= t) {   /* already passed: fire now */
        timer_fire(l, t);
        timer_rearm(l, t);
    }
}

/* ---- interrupts ---------------------------------------------------------------------- */

/*
 * An error is logged for the next ESR write to latch (SDM 10.5.3).  Only the first error
 * since that write raises the LVT error interrupt: the write "rearms the APIC error
 * interrupt triggering mechanism", so until it comes further errors are only logged.
 */
static void raise_error(struct vlapic *l, uint32_t bits)
{
    l->stats.errors++;
    bool armed = l->esr_pending == 0;
    l->esr_pending |= bits;
    uint32_t lvt = l->lvt[VLAPIC_LVT_ERROR];
    if (armed && !(lvt & LVT_MASKED) && (lvt & 0xff) >= 16 && sw_enabled(l)) {
        set_bit(l->irr, lvt & 0xff);
        clear_bit(l->tmr, lvt & 0xff);
        kick(l);
    }
}

static void accept_vector(struct vlapic *l, uint8_t vector, bool level_trig)
{
    if (!vlapic_hw_enabled(l) || !sw_enabled(l)) {
        l->stats.dropped++;
        return;
    }
    if (vector < 16) {
        raise_error(l, ESR_RECV_ILLEGAL);
        return;
    }
    set_bit(l->irr, vector);
    if (level_trig)
        set_bit(l->tmr, vector);
    else
        clear_bit(l->tmr, vector);
    kick(l);
}

void vlapic_deliver(struct vlapic *l, unsigned mode, uint8_t vector, bool level_trig)
{
    switch (mode) {
    case VLAPIC_DM_FIXED:
    case VLAPIC_DM_LOWEST:
        accept_vector(l, vector, level_trig);
        break;
    case VLAPIC_DM_NMI:
        if (!vlapic_hw_enabled(l))
            break;
        /* Before delivery two may arrive (the first is taken, the second latched); while
         * one is handled, one more is latched and the rest are lost (SDM 6.7.1). */
        if (l->nmi_pending < (__atomic_load_n(&l->nmi_blocked, __ATOMIC_ACQUIRE) ? 1u : 2u))
            l->nmi_pending++;
        kick(l);
        break;
    case VLAPIC_DM_EXTINT:
        l->extint_pending = true;
        kick(l);
        break;
    default:
        l->stats.dropped++;   /* SMI, INIT, SIPI are the partition's business */
        break;
    }
}

uint8_t vlapic_ppr(const struct vlapic *l)
{
    int isrv = highest_bit(l->isr);
    uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
    return (uint8_t)((l->tpr & 0xf0) >= isr_class ? l->tpr & 0xff : isr_class);
}

int vlapic_pending_vector(struct vlapic *l)
{
    if (!vlapic_hw_enabled(l))
        return -1;
    int v = highest_bit(l->irr);
    if (v < 0 || (unsigned)(v & 0xf0) <= (vlapic_ppr(l) & 0xf0u))
        return -1;
    return v;
}

/*
 * The vCPU takes a periodic tick a tenth of a period or more after it was due (its
 * partition did not hold the CPU when the device fired it on time): as for a tick the
 * device itself fired late, the count restarts now, so the guest never sees the next
 * tick come sooner than most of a period after this one.
 */
static void periodic_taken(struct vlapic *l, uint8_t vector)
{
    uint64_t due = l->timer_tick_due_ns;
    if (!due || vector != (uint8_t)l->lvt[VLAPIC_LVT_TIMER])
        return;
    l->timer_tick_due_ns = 0;
    l->taken_tick_due_ns = due;
    if (timer_mode(l) != VLAPIC_TIMER_PERIODIC || !l->timer_running || !l->timer_initial)
        return;
    uint64_t t = now(l);
    if (t > due && t - due >= timer_period_ns(l) / 10) {
        l->timer_start_ns = t;
        timer_rearm_floor(l, t);
    }
}

bool vlapic_accept(struct vlapic *l, uint8_t vector)
{
    if (!test_bit(l->irr, vector))
        return false;
    clear_bit(l->irr, vector);
    set_bit(l->isr, vector);
    l->taken = true;
    l->taken_vector = vector;
    l->taken_tick_due_ns = 0;
    periodic_taken(l, vector);
    return true;
}

bool vlapic_untake(struct vlapic *l, uint8_t vector)
{
    if (!l->taken || l->taken_vector != vector || highest_bit(l->isr) != vector)
        return false;
    l->taken = false;
    clear_bit(l->isr, vector);
    set_bit(l->irr, vector);
    uint64_t due = l->taken_tick_due_ns;
    if (due && (!l->timer_tick_due_ns || due < l->timer_tick_due_ns))
        l->timer_tick_due_ns = due;
    return true;
}

bool vlapic_nmi_pending(const struct vlapic *l)
{
    return __atomic_load_n(&l->nmi_pending, __ATOMIC_ACQUIRE) != 0;
}

bool vlapic_take_nmi(struct vlapic *l)
{
    if (!l->nmi_pending)
        return false;
    l->nmi_pending--;
    __atomic_store_n(&l->nmi_blocked, true, __ATOMIC_RELEASE);
    return true;
}

void vlapic_nmi_unblocked(struct vlapic *l)
{
    __atomic_store_n(&l->nmi_blocked, false, __ATOMIC_RELEASE);
}

bool vlapic_accepts_pic(const struct vlapic *l)
{
    if (!vlapic_hw_enabled(l))
        return true;
    uint32_t lint0 = l->lvt[VLAPIC_LVT_LINT0];
    return !(lint0 & LVT_MASKED) && ((lint0 >> 8) & 7) == VLAPIC_DM_EXTINT;
}

uint8_t vlapic_get_cr8(const struct vlapic *l)
{
    return (uint8_t)((l->tpr >> 4) & 0xf);
}

void vlapic_set_cr8(struct vlapic *l, uint8_t cr8)
{
    l->tpr = (uint32_t)(cr8 & 0xf) << 4;
    kick(l);
}

static void do_eoi(struct vlapic *l)
{
    int v = highest_bit(l->isr);
    if (v < 0)
        return;
    l->stats.eois++;
    clear_bit(l->isr, (unsigned)v);
    if (test_bit(l->tmr, (unsigned)v) && l->ops.eoi)
        l->ops.eoi(l->ops.ctx, (uint8_t)v);
    if (vlapic_pending_vector(l) >= 0)
        kick(l);
}

bool vlapic_match_dest(const struct vlapic *l, uint32_t dest, bool logical, bool x2apic_format)
{
    uint32_t broadcast = x2apic_format ? 0xffffffffu : 0xffu;
    if (dest == broadcast)
        return true;
    if (!logical)
        return dest == l->id;
    if (vlapic_x2apic_mode(l)) {
        if (!x2apic_format)
            return false;
        return (dest >> 16) == (l->ldr >> 16) && (dest & l->ldr & 0xffff) != 0;
    }
    uint32_t ldr = l->ldr >> 24, d = dest & 0xff;
    if ((l->dfr >> 28) == 0xf)   /* flat model */
        return (ldr & d) != 0;
    return (d >> 4) == (ldr >> 4) && (d & ldr & 0xf) != 0;
}

static void send_icr(struct vlapic *l)
{
    struct vlapic_ipi ipi = {
        .vector = (uint8_t)l->icr_lo,
        .mode = (uint8_t)((l->icr_lo >> 8) & 7),
        .shorthand = (uint8_t)((l->icr_lo >> 18) & 3),
        .logical = (l->icr_lo & ICR_LOGICAL) != 0,
        .level_trig = (l->icr_lo & ICR_LEVEL) != 0,
        .x2apic_format = vlapic_x2apic_mode(l),
    };
    ipi.dest = ipi.x2apic_format ? l->icr_hi : l->icr_hi >> 24;
    if (ipi.mode == VLAPIC_DM_INIT && ipi.level_trig && !(l->icr_lo & ICR_ASSERT))
        return;   /* INIT level de-assert: no effect on this processor family */
    bool vectored = ipi.mode == VLAPIC_DM_FIXED || ipi.mode == VLAPIC_DM_LOWEST;
    if (vectored && ipi.vector < 16) {
        raise_error(l, ESR_SEND_ILLEGAL);
        return;
    }
    l->stats.ipis_sent++;
    if (ipi.shorthand == VLAPIC_SH_SELF) {
        if (vectored)
            accept_vector(l, ipi.vector, ipi.level_trig);
        return;
    }
    if (l->ops.send_ipi)
        l->ops.send_ipi(l->ops.ctx, l, &ipi);
}

/* ---- registers ----------------------------------------------------------------------- */

static void reset_registers(struct vlapic *l)
{
    l->tpr = 0;
    l->ldr = vlapic_x2apic_mode(l) ? x2apic_ldr(l->id) : 0;
    l->dfr = 0xffffffffu;
    l->svr = 0xff;
    l->esr = l->esr_pending = 0;
    l->icr_lo = l->icr_hi = 0;
    for (unsigned i = 0; i < VLAPIC_LVT_COUNT; i++)
        l->lvt[i] = LVT_MASKED;
    memset(l->irr, 0, sizeof(l->irr));
    memset(l->isr, 0, sizeof(l->isr));
    memset(l->tmr, 0, sizeof(l->tmr));
    l->timer_initial = 0;
    l->dcr = 0;
    l->nmi_pending = 0;
    l->nmi_blocked = false;
    l->extint_pending = false;
    l->taken = false;
    timer_stop(l);
}

void vlapic_init(struct vlapic *l, const struct vdev_platform *plat, const struct vlapic_ops *ops,
                unsigned index, uint32_t apic_id, unsigned timer_id, bool bsp)
{
    memset(l, 0, sizeof(*l));
    l->plat = plat;
    if (ops)
        l->ops = *ops;
    l->index = index;
    l->id = apic_id;
    l->timer_id = timer_id;
    /* IA32_APIC_BASE bits from MAXPHYADDR up are reserved (SDM 10.4.4). */
    unsigned bits = plat->phys_addr_bits;
    l->phys_bits = bits >= 36 && bits <= 52 ? bits : 36;
    l->apic_base = VLAPIC_DEFAULT_BASE | VLAPIC_BASE_EN | (bsp ? VLAPIC_BASE_BSP : 0);
    reset_registers(l);
}

void vlapic_reset(struct vlapic *l)
{
    reset_registers(l);
}

static bool read_reg(struct vlapic *l, unsigned reg, bool x2, uint32_t *v)
{
    *v = 0;
    if (reg >= REG_ISR && reg < REG_ISR + 8)  { *v = l->isr[reg - REG_ISR]; return true; }
    if (reg >= REG_TMR && reg < REG_TMR + 8)  { *v = l->tmr[reg - REG_TMR]; return true; }
    if (reg >= REG_IRR && reg < REG_IRR + 8)  { *v = l->irr[reg - REG_IRR]; return true; }
    if (reg >= REG_LVT0 && reg < REG_LVT0 + VLAPIC_LVT_COUNT) {
        *v = l->lvt[reg - REG_LVT0];
        return true;
    }
    switch (reg) {
    case REG_ID:      *v = x2 ? l->id : l->id << 24; return true;
    case REG_VERSION: *v = VLAPIC_VERSION; return true;
    case REG_TPR:     *v = l->tpr; return true;
    case REG_APR:     return !x2;
    case REG_PPR:     *v = vlapic_ppr(l); return true;
    case REG_EOI:     return !x2;
    case REG_RRD:     return !x2;
    case REG_LDR:     *v = l->ldr; return true;
    case REG_DFR:     *v = l->dfr; return !x2;
    case REG_SVR:     *v = l->svr; return true;
    case REG_ESR:     *v = l->esr; return true;
    case REG_ICR:     *v = l->icr_lo; return true;
    case REG_ICR2:    *v = l->icr_hi; return !x2;
    case REG_INITIAL: *v = l->timer_initial; return true;
    case REG_CURRENT: *v = vlapic_timer_current(l); return true;
    case REG_DCR:     *v = l->dcr; return true;
    default:          return false;
    }
}

static void write_lvt(struct vlapic *l, unsigned idx, uint32_t v)
{
    uint32_t old_mode = timer_mode(l);
    v &= lvt_writable[idx];
    if (!sw_enabled(l))
        v |= LVT_MASKED;
    l->lvt[idx] = v;
    if (idx == VLAPIC_LVT_TIMER && timer_mode(l) != old_mode &&
        (old_mode == VLAPIC_TIMER_TSC_DEADLINE || timer_mode(l) == VLAPIC_TIMER_TSC_DEADLINE)) {
        l->timer_initial = 0;   /* switching to or from TSC-deadline disarms */
        timer_stop(l);
    } else if (idx == VLAPIC_LVT_TIMER) {
        timer_rearm(l, now(l));
    }
}

static void write_svr(struct vlapic *l, uint32_t v)
{
    l->svr = v & SVR_WRITABLE;
    if (!sw_enabled(l))
        for (unsigned i = 0; i < VLAPIC_LVT_COUNT; i++)
            l->lvt[i] |= LVT_MASKED;
}

static enum write_result write_readonly(bool x2)
{
    return x2 ? W_GP : W_OK;   /* xAPIC ignores writes to read-only registers */
}

/* Registers whose writes are the same in both modes. */
static enum write_result write_common(struct vlapic *l, unsigned reg, uint32_t v)
{
    if (reg >= REG_LVT0 && reg < REG_LVT0 + VLAPIC_LVT_COUNT) {
        write_lvt(l, reg - REG_LVT0, v);
        return W_OK;
    }
    switch (reg) {
    case REG_TPR:     l->tpr = v & TPR_WRITABLE; kick(l); return W_OK;
    case REG_SVR:     write_svr(l, v); return W_OK;
    case REG_INITIAL: write_initial_count(l, v); return W_OK;
    case REG_DCR:     l->dcr = v & DCR_WRITABLE; timer_rearm(l, now(l)); return W_OK;
    default:          return W_ILLEGAL;
    }
}

static bool is_readonly(unsigned reg)
{
    return reg == REG_ID || reg == REG_VERSION || reg == REG_APR || reg == REG_PPR ||
           reg == REG_RRD || reg == REG_CURRENT || (reg >= REG_ISR && reg < REG_IRR + 8);
}

static enum write_result write_xapic(struct vlapic *l, unsigned reg, uint32_t v)
{
    if (is_readonly(reg))
        return write_readonly(false);
    switch (reg) {
    case REG_EOI:  do_eoi(l); return W_OK;
    case REG_LDR:  l->ldr = v & 0xff000000u; return W_OK;
    case REG_DFR:  l->dfr = v | 0x0fffffffu; return W_OK;
    case REG_ESR:  l->esr = l->esr_pending; l->esr_pending = 0; return W_OK;
    case REG_ICR:  l->icr_lo = v & ICR_WRITABLE; send_icr(l); return W_OK;
    case REG_ICR2: l->icr_hi = v & 0xff000000u; return W_OK;
    default:       return write_common(l, reg, v);
    }
}

/* Bits a WRMSR may set in an x2APIC register that write_common takes (10.12.1.3: setting
 * any other #GPs); read-only bits (delivery status, remote IRR) are not reserved and are
 * ignored.  0 for registers write_common does not take. */
static uint32_t x2apic_settable(unsigned reg)
{
    if (reg >= REG_LVT0 && reg < REG_LVT0 + VLAPIC_LVT_COUNT) {
        unsigned idx = reg - REG_LVT0;
        bool lint = idx == VLAPIC_LVT_LINT0 || idx == VLAPIC_LVT_LINT1;
        return lvt_writable[idx] | LVT_DELIV_STATUS | (lint ? LVT_REMOTE_IRR : 0);
    }
    switch (reg) {
    case REG_TPR:     return TPR_WRITABLE;
    case REG_SVR:     return SVR_WRITABLE;
    case REG_INITIAL: return 0xffffffffu;
    case REG_DCR:     return DCR_WRITABLE;
    default:          return 0;
    }
}

static enum write_result write_x2apic(struct vlapic *l, unsigned reg, uint64_t v)
{
    if (reg == REG_ICR) {
        if (v & X2APIC_ICR_RESERVED)
            return W_GP;
        l->icr_lo = (uint32_t)v & ICR_WRITABLE;
        l->icr_hi = (uint32_t)(v >> 32);
        send_icr(l);
        return W_OK;
    }
    if (v >> 32)
        return W_GP;
    if (is_readonly(reg) || reg == REG_LDR)
        return W_GP;
    switch (reg) {
    case REG_EOI:
        if (v)
            return W_GP;
        do_eoi(l);
        return W_OK;
    case REG_ESR:
        if (v)
            return W_GP;
        l->esr = l->esr_pending;
        l->esr_pending = 0;
        return W_OK;
    case REG_SELF_IPI:
        if (v & ~0xffull)
            return W_GP;
        if (v < 16)
            raise_error(l, ESR_SEND_ILLEGAL);
        else
            accept_vector(l, (uint8_t)v, false);
        return W_OK;
    default:
        if (v & ~(uint64_t)x2apic_settable(reg))
            return W_GP;
        return write_common(l, reg, (uint32_t)v) == W_OK ? W_OK : W_GP;
    }
}

uint64_t vlapic_mmio_base(const struct vlapic *l)
{
    if (!vlapic_hw_enabled(l) || vlapic_x2apic_mode(l))
        return 0;
    return l->apic_base & ~0xfffull & ((1ull << l->phys_bits) - 1);
}

/* Registers sit at 16-byte strides; bytes 4-15 of each slot read as zero. */
void vlapic_mmio_read(struct vlapic *l, uint64_t offset, unsigned size, uint64_t *value)
{
    *value = 0;
    if (offset >= 0x1000 || vlapic_x2apic_mode(l))
        return;
    unsigned reg = (unsigned)(offset >> 4), byte = (unsigned)(offset & 0xf);
    uint32_t r;
    if (!read_reg(l, reg, false, &r)) {
        raise_error(l, ESR_ILLEGAL_REG);
        return;
    }
    uint64_t wide = byte < 4 ? (uint64_t)r >> (8 * byte) : 0;
    *value = wide & vdev_size_mask(size);
}

/* Only 32-bit (or 64-bit, low half used) writes at the start of a slot take effect. */
void vlapic_mmio_write(struct vlapic *l, uint64_t offset, unsigned size, uint64_t value)
{
    if (offset >= 0x1000 || vlapic_x2apic_mode(l) || (offset & 0xf) || (size != 4 && size != 8))
        return;
    if (write_xapic(l, (unsigned)(offset >> 4), (uint32_t)value) == W_ILLEGAL)
        raise_error(l, ESR_ILLEGAL_REG);
}

static bool x2apic_write_only(unsigned reg)
{
    return reg == REG_EOI || reg == REG_SELF_IPI;
}

static enum vlapic_msr_result read_apic_base(struct vlapic *l, uint64_t *value)
{
    *value = l->apic_base;
    return VLAPIC_MSR_OK;
}

static enum vlapic_msr_result write_apic_base(struct vlapic *l, uint64_t v)
{
    uint64_t reserved = 0x2ffull | ~((1ull << l->phys_bits) - 1);
    if (v & reserved)
        return VLAPIC_MSR_GP;
    bool en = v & VLAPIC_BASE_EN, extd = v & VLAPIC_BASE_EXTD;
    bool was_en = vlapic_hw_enabled(l), was_x2 = vlapic_x2apic_mode(l);
    if (extd && !en)
        return VLAPIC_MSR_GP;                 /* invalid state */
    if (was_x2 && en && !extd)
        return VLAPIC_MSR_GP;                 /* x2APIC -> xAPIC needs a disable first */
    if (!was_en && extd)
        return VLAPIC_MSR_GP;                 /* disabled -> x2APIC needs xAPIC first */
    l->apic_base = (v & ~VLAPIC_BASE_BSP) | (l->apic_base & VLAPIC_BASE_BSP);
    if (!en && was_en) {
        reset_registers(l);
    } else if (extd && !was_x2) {
        l->ldr = x2apic_ldr(l->id);
        l->icr_hi = 0;
    } else if (en && !was_en) {
        timer_rearm(l, now(l));
    }
    return VLAPIC_MSR_OK;
}

enum vlapic_msr_result vlapic_msr_read(struct vlapic *l, uint32_t msr, uint64_t *value)
{
    *value = 0;
    if (msr == VLAPIC_MSR_APIC_BASE)
        return read_apic_base(l, value);
    if (msr == VLAPIC_MSR_TSC_DEADLINE) {
        if (vlapic_hw_enabled(l) && timer_mode(l) == VLAPIC_TIMER_TSC_DEADLINE)
            *value = l->tsc_deadline;
        return VLAPIC_MSR_OK;
    }
    if (msr < VLAPIC_MSR_X2APIC_FIRST || msr > VLAPIC_MSR_X2APIC_LAST)
        return VLAPIC_MSR_NOT_MINE;
    unsigned reg = msr - VLAPIC_MSR_X2APIC_FIRST;
    uint32_t r;
    if (!vlapic_x2apic_mode(l) || x2apic_write_only(reg) || !read_reg(l, reg, true, &r))
        return VLAPIC_MSR_GP;
    *value = reg == REG_ICR ? (uint64_t)l->icr_hi << 32 | r : r;
    return VLAPIC_MSR_OK;
}

enum vlapic_msr_result vlapic_msr_write(struct vlapic *l, uint32_t msr, uint64_t value)
{
    if (msr == VLAPIC_MSR_APIC_BASE)
        return write_apic_base(l, value);
    if (msr == VLAPIC_MSR_TSC_DEADLINE) {
        if (vlapic_hw_enabled(l))
            write_tsc_deadline(l, value);
        return VLAPIC_MSR_OK;
    }
    if (msr < VLAPIC_MSR_X2APIC_FIRST || msr > VLAPIC_MSR_X2APIC_LAST)
        return VLAPIC_MSR_NOT_MINE;
    if (!vlapic_x2apic_mode(l))
        return VLAPIC_MSR_GP;
    return write_x2apic(l, msr - VLAPIC_MSR_X2APIC_FIRST, value) == W_OK ? VLAPIC_MSR_OK : VLAPIC_MSR_GP;
}

/* ---- save and restore (section 'LAPC', one per vCPU) ---------------------------------- */

static const struct state_field vlapic_fields[] = {
    STATE_U32(struct vlapic, id, 1), STATE_U64(struct vlapic, apic_base, 1),
    STATE_U32(struct vlapic, tpr, 1), STATE_U32(struct vlapic, ldr, 1),
    STATE_U32(struct vlapic, dfr, 1), STATE_U32(struct vlapic, svr, 1),
    STATE_U32(struct vlapic, esr, 1), STATE_U32(struct vlapic, esr_pending, 1),
    STATE_U32(struct vlapic, icr_lo, 1), STATE_U32(struct vlapic, icr_hi, 1),
    STATE_BYTES(struct vlapic, lvt, 1),
    STATE_BYTES(struct vlapic, irr, 1), STATE_BYTES(struct vlapic, isr, 1),
    STATE_BYTES(struct vlapic, tmr, 1),
    STATE_U32(struct vlapic, timer_initial, 1), STATE_U32(struct vlapic, dcr, 1),
    STATE_BOOL(struct vlapic, timer_running, 1),
    STATE_U64(struct vlapic, timer_start_ns, 1), STATE_U64(struct vlapic, timer_next_ns, 1),
    STATE_U64(struct vlapic, tsc_deadline, 1),
    STATE_U32(struct vlapic, nmi_pending, 1), STATE_BOOL(struct vlapic, nmi_blocked, 1),
    STATE_BOOL(struct vlapic, extint_pending, 1),
    STATE_U64(struct vlapic, timer_tick_due_ns, 2),
};

/* The u32 arrays (LVT, IRR, ISR, TMR) travel as their byte image: little-endian, as on
 * every host Atoll runs on (x86-64). */
static const struct state_desc vlapic_desc =
    STATE_DESC("lapic", STATE_ID('L', 'A', 'P', 'C'), 2, 1, vlapic_fields);

struct state_kind vlapic_state_kind(void)
{
    return state_desc_kind(&vlapic_desc);
}

bool vlapic_save(const struct vlapic *l, struct state_writer *w, uint16_t instance)
{
    return state_save(w, &vlapic_desc, instance, l);
}

/* What the register writes, the MSR writes and deliveries can leave in a LAPIC. */
static const char *vlapic_invalid(const struct vlapic *t, const struct vlapic *now)
{
    uint64_t reserved = 0x2ffull | ~((1ull << now->phys_bits) - 1);
    if (t->id != now->id)
        return "APIC ID differs from this vCPU's";
    if ((t->apic_base & reserved) || (t->apic_base & VLAPIC_BASE_BSP) !=
        (now->apic_base & VLAPIC_BASE_BSP))
        return "IA32_APIC_BASE reserved or BSP bit differs";
    if ((t->apic_base & VLAPIC_BASE_EXTD) && !(t->apic_base & VLAPIC_BASE_EN))
        return "x2APIC mode while disabled";
    if (vlapic_x2apic_mode(t) && t->ldr != x2apic_ldr(t->id))
        return "x2APIC logical ID does not follow the APIC ID";
    if ((t->tpr & ~0xffu) || (t->svr & ~0x3ffu) || (t->dcr & ~0xbu))
        return "reserved TPR, SVR or divide configuration bits set";
    for (unsigned i = 0; i < VLAPIC_LVT_COUNT; i++) {
        if (t->lvt[i] & ~lvt_writable[i])
            return "reserved LVT bits set";
        if (!sw_enabled(t) && !(t->lvt[i] & LVT_MASKED))
            return "LVT entry unmasked while software-disabled";
    }
    if ((t->irr[0] | t->isr[0] | t->tmr[0]) & 0xffffu)
        return "vector below 16 requested or in service";
    if (t->nmi_pending > 2)
        return "more than two NMIs latched";
    return NULL;
}

int vlapic_restore(struct vlapic *l, const struct state_section *s, char *err, size_t err_size)
{
    struct vlapic t = *l;
    if (state_load(s, &vlapic_desc, &t, err, err_size))
        return -1;
    const char *why = vlapic_invalid(&t, l);
    if (why) {
        fmt_snprintf(err, err_size, "state: 'lapic' instance %u: %s", s->instance, why);
        return -1;
    }
    *l = t;
    l->taken = false;
    /* The saved deadline as it stood, not one recomputed from a TSC the vCPU's own
     * restore may not have set yet. */
    if (l->plat->timer_arm)
        l->plat->timer_arm(l->plat->ctx, l->timer_id, l->timer_next_ns);
    if (vlapic_pending_vector(l) >= 0 || l->nmi_pending || l->extint_pending)
        kick(l);
    return 0;
}
