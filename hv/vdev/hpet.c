/* HPET: main counter, three comparators, legacy replacement and IOAPIC routing. */
#include "hv/vdev/hpet.h"
#include "hv/lib/format.h"
#include "hv/state/state_desc.h"

#include <string.h>

#define REG_GCAP_ID   0x000
#define REG_GEN_CONF  0x010
#define REG_GINTR_STA 0x020
#define REG_MAIN_CNT  0x0f0
#define REG_TIMER0    0x100
#define TIMER_STRIDE  0x20
#define TN_CONF       0x00
#define TN_CMP        0x08

#define GEN_ENABLE    (1ull << 0)
#define GEN_LEG_RT    (1ull << 1)
#define TN_LEVEL      (1ull << 1)
#define TN_INT_ENB    (1ull << 2)
#define TN_PERIODIC   (1ull << 3)
#define TN_PER_CAP    (1ull << 4)
#define TN_SIZE_CAP   (1ull << 5)
#define TN_VAL_SET    (1ull << 6)
#define TN_32BIT      (1ull << 8)
#define TN_ROUTE_SHIFT 9
#define TN_ROUTE_MASK (0x1full << TN_ROUTE_SHIFT)
#define TN_WRITABLE   (TN_LEVEL | TN_INT_ENB | TN_PERIODIC | TN_VAL_SET | TN_32BIT | TN_ROUTE_MASK)
#define TN_READ_ONLY  (TN_PER_CAP | TN_SIZE_CAP | (uint64_t)VHPET_ROUTE_CAP << 32)

#define NS_PER_TICK   (1000000000ull / VHPET_HZ)
#define ISA_IRQ0      0u
#define ISA_IRQ8      8u

static uint64_t now_ns(const struct vhpet *h)
{
    return h->plat->now_ns ? h->plat->now_ns(h->plat->ctx) : 0;
}

static bool running(const struct vhpet *h)
{
    return h->config & GEN_ENABLE;
}

static uint64_t counter(const struct vhpet *h)
{
    if (!running(h))
        return h->counter_at;
    uint64_t now = now_ns(h);
    return h->counter_at + (now > h->ns_at ? (now - h->ns_at) / NS_PER_TICK : 0);
}

/* Restarts the counter's reckoning at value, now. */
static void set_counter(struct vhpet *h, uint64_t value)
{
    h->counter_at = value;
    h->ns_at = now_ns(h);
}

static uint64_t width_mask(const struct vhpet_timer *t)
{
    return t->config & TN_32BIT ? 0xffffffffull : ~0ull;
}

/* The first absolute counter value from `from` on whose low bits (the timer's width)
 * equal cmp; false when that lies beyond the 64-bit counter's wrap. */
static bool next_match(const struct vhpet_timer *t, uint64_t from, uint64_t *due)
{
    uint64_t mask = width_mask(t);
    uint64_t c = (from & ~mask) | (t->cmp & mask);
    if (c < from) {
        if (mask == ~0ull || c > ~0ull - (mask + 1))
            return false;
        c += mask + 1;
    }
    *due = c;
    return true;
}

static int line_of(const struct vhpet *h, unsigned i)
{
    if ((h->config & GEN_LEG_RT) && i < 2)
        return i == 0 ? (int)ISA_IRQ0 : (int)ISA_IRQ8;
    unsigned route = (unsigned)((h->t[i].config & TN_ROUTE_MASK) >> TN_ROUTE_SHIFT);
    return VHPET_ROUTE_CAP & (1u << route) ? (int)route : -1;
}

static bool level_mode(const struct vhpet *h, unsigned i)
{
    return (h->t[i].config & TN_LEVEL) && line_of(h, i) >= 0 &&
           !((h->config & GEN_LEG_RT) && i < 2);
}

static void drive(struct vhpet *h, int line, bool level)
{
    if (line >= 0 && h->plat->irq_set)
        h->plat->irq_set(h->plat->ctx, (unsigned)line, level);
}

/* Lowers timer i's held line (level mode) if it is held. */
static void release(struct vhpet *h, unsigned i, int line)
{
    if (!h->t[i].line)
        return;
    h->t[i].line = false;
    drive(h, line, false);
}

static void interrupt(struct vhpet *h, unsigned i)
{
    struct vhpet_timer *t = &h->t[i];
    if (!(t->config & TN_INT_ENB))
        return;
    int line = line_of(h, i);
    if (line < 0)
        return;
    h->interrupts++;
    if (level_mode(h, i)) {
        h->isr |= 1ull << i;
        if (!t->line) {
            t->line = true;
            drive(h, line, true);
        }
        return;
    }
    drive(h, line, true);
    drive(h, line, false);
}

/* Timer i reached its comparator at counter value now_c. */
static void fire(struct vhpet *h, unsigned i, uint64_t now_c)
{
    struct vhpet_timer *t = &h->t[i];
    interrupt(h, i);
    if (!(t->config & TN_PERIODIC)) {
        t->armed = t->due < ~0ull && next_match(t, t->due + 1, &t->due);
        return;
    }
    uint64_t period = t->period & width_mask(t);
    if (period == 0) {
        t->armed = false;
        return;
    }
    /* Missed periods are skipped, not replayed: one interrupt, then the next period. */
    uint64_t late = now_c - t->due;
    uint64_t steps = late / period + 1;
    if (period < VHPET_MIN_TICK) {  /* the floor: whole periods, VHPET_MIN_TICK or more on */
        if (late > ~0ull - VHPET_MIN_TICK) {
            t->armed = false;
            return;
        }
        steps = (late + VHPET_MIN_TICK) / period + 1;
    }
    if (steps > (~0ull - t->due) / period) {
        t->armed = false;
        return;
    }
    t->due += steps * period;
    t->cmp = (t->cmp + steps * period) & width_mask(t);
}

static void rearm(struct vhpet *h)
{
    uint64_t first = 0;
    bool any = false;
    if (running(h))
        for (unsigned i = 0; i < VHPET_TIMERS; i++)
            if (h->t[i].armed && (!any || h->t[i].due - h->counter_at < first - h->counter_at))
                first = h->t[i].due, any = true;
    uint64_t deadline = 0;
    if (any) {
        uint64_t ticks = first - h->counter_at;
        if (ticks <= (~0ull - h->ns_at) / NS_PER_TICK)
            deadline = h->ns_at + ticks * NS_PER_TICK;
        if (!deadline && ticks <= (~0ull - h->ns_at) / NS_PER_TICK)
            deadline = 1;
    }
    if (h->plat->timer_arm)
        h->plat->timer_arm(h->plat->ctx, h->timer_id, deadline);
}

/* Recomputes timer i's next match from the counter's current value; a timer whose
 * interrupt is off is not followed (its matches have no effect). */
static void schedule(struct vhpet *h, unsigned i)
{
    struct vhpet_timer *t = &h->t[i];
    t->armed = running(h) && (t->config & TN_INT_ENB) && next_match(t, counter(h), &t->due);
}

void vhpet_tick(struct vhpet *h)
{
    if (running(h)) {
        uint64_t now_c = counter(h);
        /* From the counter's set point on, modulo 2^64: a guest may set it just short of
         * its wrap, and a due of ~0 is then reached by a counter that reads small. */
        for (unsigned i = 0; i < VHPET_TIMERS; i++)
            if (h->t[i].armed && h->t[i].due - h->counter_at <= now_c - h->counter_at)
                fire(h, i, now_c);
    }
    rearm(h);
}

void vhpet_init(struct vhpet *h, const struct vdev_platform *plat, unsigned timer_id,
                uint64_t base)
{
    memset(h, 0, sizeof(*h));
    h->plat = plat;
    h->timer_id = timer_id;
    h->base = base;
    for (unsigned i = 0; i < VHPET_TIMERS; i++)
        h->t[i].cmp = ~0ull;
}

/* ---- registers ------------------------------------------------------------------------ */

static bool timer_reg(uint64_t off, unsigned *i, uint64_t *reg)
{
    if (off < REG_TIMER0 || off >= REG_TIMER0 + VHPET_TIMERS * TIMER_STRIDE)
        return false;
    *i = (unsigned)((off - REG_TIMER0) / TIMER_STRIDE);
    *reg = (off - REG_TIMER0) % TIMER_STRIDE;
    return true;
}

static uint64_t read_reg(struct vhpet *h, uint64_t off)
{
    unsigned i;
    uint64_t reg;
    switch (off) {
    case REG_GCAP_ID: return (uint64_t)VHPET_PERIOD_FS << 32 | VHPET_BLOCK_ID;
    case REG_GEN_CONF: return h->config;
    case REG_GINTR_STA: return h->isr;
    case REG_MAIN_CNT: return counter(h);
    }
    if (!timer_reg(off, &i, &reg))
        return 0;                       /* reserved: reads as zero */
    if (reg == TN_CONF)
        return h->t[i].config | TN_READ_ONLY;
    if (reg == TN_CMP)
        return h->t[i].cmp & width_mask(&h->t[i]);
    return 0;                           /* FSB route: not offered */
}

static void write_gen_conf(struct vhpet *h, uint64_t v)
{
    uint64_t old = h->config;
    uint64_t now_c = counter(h);
    for (unsigned i = 0; i < 2; i++)
        release(h, i, line_of(h, i));
    h->config = v & (GEN_ENABLE | GEN_LEG_RT);
    if ((old ^ h->config) & GEN_ENABLE)
        set_counter(h, now_c);
    for (unsigned i = 0; i < VHPET_TIMERS; i++)
        schedule(h, i);
}

static void write_timer_conf(struct vhpet *h, unsigned i, uint64_t v)
{
    struct vhpet_timer *t = &h->t[i];
    release(h, i, line_of(h, i));
    h->isr &= ~(1ull << i);
    t->config = v & TN_WRITABLE;
    if (t->config & TN_32BIT) {
        t->cmp &= 0xffffffffull;
        t->period &= 0xffffffffull;
    }
    schedule(h, i);
}

/* Periodic mode: a write sets the period, and the comparator too when VAL_SET was set
 * just before (how software starts a periodic timer at a given count). */
static void write_timer_cmp(struct vhpet *h, unsigned i, uint64_t v, uint64_t mask)
{
    struct vhpet_timer *t = &h->t[i];
    v &= width_mask(t);
    if (!(t->config & TN_PERIODIC) || (t->config & TN_VAL_SET))
        t->cmp = ((t->cmp & ~mask) | (v & mask)) & width_mask(t);
    if (t->config & TN_PERIODIC)
        t->period = ((t->period & ~mask) | (v & mask)) & width_mask(t);
    t->config &= ~TN_VAL_SET;
    schedule(h, i);
}

/* v holds the bits mask selects (a 32-bit write selects one half). */
static void write_reg(struct vhpet *h, uint64_t off, uint64_t v, uint64_t mask)
{
    unsigned i;
    uint64_t reg;
    switch (off) {
    case REG_GEN_CONF:
        write_gen_conf(h, (h->config & ~mask) | (v & mask));
        return;
    case REG_GINTR_STA:
        for (i = 0; i < VHPET_TIMERS; i++)
            if (v & mask & h->isr & (1ull << i)) {
                h->isr &= ~(1ull << i);
                release(h, i, line_of(h, i));
            }
        return;
    case REG_MAIN_CNT:
        set_counter(h, (counter(h) & ~mask) | (v & mask));
        for (i = 0; i < VHPET_TIMERS; i++)
            schedule(h, i);
        return;
    }
    if (!timer_reg(off, &i, &reg))
        return;
    if (reg == TN_CONF)
        write_timer_conf(h, i, (h->t[i].config & ~mask) | (v & mask));
    else if (reg == TN_CMP)
        write_timer_cmp(h, i, v, mask);
}

static bool access_ok(uint64_t offset, unsigned size)
{
    return (size == 4 || size == 8) && offset < VHPET_MMIO_SIZE && (offset & (size - 1)) == 0;
}

bool vhpet_mmio_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
    struct vhpet *h = dev;
    if (!access_ok(offset, size))
        return false;
    uint64_t v = read_reg(h, offset & ~7ull);
    unsigned shift = (unsigned)(offset & 4) * 8;
    *value = size == 8 ? v : (v >> shift) & 0xffffffffull;
    return true;
}

bool vhpet_mmio_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
    struct vhpet *h = dev;
    if (!access_ok(offset, size))
        return false;
    unsigned shift = (unsigned)(offset & 4) * 8;
    uint64_t mask = size == 8 ? ~0ull : 0xffffffffull << shift;
    write_reg(h, offset & ~7ull, size == 8 ? value : (value & 0xffffffffull) << shift, mask);
    rearm(h);
    return true;
}

bool vhpet_register(struct vhpet *h, struct vdev_bus *bus)
{
    struct vdev_mmio_range r = { h->base, VHPET_MMIO_SIZE, vhpet_mmio_read, vhpet_mmio_write, h };
    return vdev_bus_add_mmio(bus, &r);
}

/* ---- reset, save and restore (section 'HPET') ---------------------------------------- */

static const struct state_field vhpet_timer_fields[] = {
    STATE_U64(struct vhpet_timer, config, 1), STATE_U64(struct vhpet_timer, cmp, 1),
    STATE_U64(struct vhpet_timer, period, 1), STATE_U64(struct vhpet_timer, due, 1),
    STATE_BOOL(struct vhpet_timer, armed, 1), STATE_BOOL(struct vhpet_timer, line, 1),
};

static const struct state_field vhpet_fields[] = {
    STATE_U64(struct vhpet, config, 1), STATE_U64(struct vhpet, isr, 1),
    STATE_U64(struct vhpet, counter_at, 1), STATE_U64(struct vhpet, ns_at, 1),
    STATE_STRUCTS(struct vhpet, t, struct vhpet_timer, vhpet_timer_fields, 1),
};

static const struct state_desc vhpet_desc =
    STATE_DESC("hpet", STATE_ID('H', 'P', 'E', 'T'), 1, 1, vhpet_fields);

static void release_all(struct vhpet *h)
{
    for (unsigned i = 0; i < VHPET_TIMERS; i++)
        release(h, i, line_of(h, i));
}

static void vhpet_state_reset(void *dev)
{
    struct vhpet *h = dev;
    release_all(h);
    vhpet_init(h, h->plat, h->timer_id, h->base);
    rearm(h);
}

static bool vhpet_state_save(void *dev, struct state_writer *w)
{
    return state_save(w, &vhpet_desc, 0, dev);
}

static const char *vhpet_invalid(const struct vhpet *h, unsigned *bad)
{
    *bad = 0;
    if (h->config & ~(GEN_ENABLE | GEN_LEG_RT))
        return "reserved GEN_CONF bits set";
    if (h->isr & ~((1ull << VHPET_TIMERS) - 1))
        return "interrupt status of a timer that does not exist";
    for (*bad = 0; *bad < VHPET_TIMERS; (*bad)++) {
        const struct vhpet_timer *t = &h->t[*bad];
        if (t->config & ~TN_WRITABLE)
            return "reserved Tn_CONF bits set";
        if ((t->config & TN_32BIT) && ((t->cmp | t->period) >> 32))
            return "32-bit timer with a comparator or period above 32 bits";
        if (t->line && !level_mode(h, *bad))
            return "line held by a timer that is not level-triggered";
        if (t->armed && (!running(h) || !(t->config & TN_INT_ENB)))
            return "armed while the counter is halted or its interrupt is off";
    }
    return NULL;
}

static int vhpet_state_restore(void *dev, const struct state_section *s, char *err, size_t n)
{
    struct vhpet *h = dev;
    struct vhpet t = *h;
    if (state_load(s, &vhpet_desc, &t, err, n))
        return -1;
    unsigned bad;
    const char *why = vhpet_invalid(&t, &bad);
    if (why) {
        fmt_snprintf(err, n, "state: 'hpet' instance %u: timer %u: %s", s->instance, bad, why);
        return -1;
    }
    release_all(h);
    *h = t;
    for (unsigned i = 0; i < VHPET_TIMERS; i++)
        if (h->t[i].line)
            drive(h, line_of(h, i), true);
    rearm(h);
    return 0;
}

bool vhpet_register_state(struct vhpet *h, struct vdev_bus *bus)
{
    struct vdev_state_ops ops = {
        .name = "hpet", .kind = state_desc_kind(&vhpet_desc), .dev = h,
        .reset = vhpet_state_reset, .save = vhpet_state_save, .restore = vhpet_state_restore,
    };
    return vdev_bus_add_state(bus, &ops);
}
