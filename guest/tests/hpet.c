/*
 * The HPET at 0xFED00000 (IA-PC HPET specification 1.0a): the main counter runs at the
 * rate GCAP_ID advertises, measured against the TSC; 32-bit halves match 64-bit reads;
 * a one-shot timer routed through the IOAPIC interrupts once; a periodic timer interrupts
 * again and again until it is disabled; and legacy replacement routes timer 0 to IRQ0
 * (IOAPIC pin 2, as the MADT's interrupt source override says).
 */
#include "guest/lib/guest.h"

DEFINE_TEST("hpet");

#define HPET_BASE     0xfed00000ul
#define IOAPIC_BASE   0xfec00000ul
#define GCAP_ID       0x000
#define GEN_CONF      0x010
#define GINTR_STA     0x020
#define MAIN_CNT      0x0f0
#define TN_CONF(n)    (0x100 + 0x20 * (n))
#define TN_CMP(n)     (0x108 + 0x20 * (n))
#define CONF_ENABLE   (1u << 0)
#define CONF_LEG_RT   (1u << 1)
#define TN_INT_ENB    (1u << 2)
#define TN_PERIODIC   (1u << 3)
#define TN_PER_CAP    (1u << 4)
#define TN_VAL_SET    (1u << 6)
#define TN_ROUTE(g)   ((uint32_t)(g) << 9)
#define VEC_ONESHOT   0x40
#define VEC_PERIODIC  0x41
#define VEC_LEGACY    0x42
#define PIT_GSI       2

static volatile unsigned fired[3];

static uint64_t hpet_read(unsigned off) { return *(volatile uint64_t *)(HPET_BASE + off); }
static uint64_t read_main_counter(void *ctx) { (void)ctx; return hpet_read(MAIN_CNT); }
static void hpet_write(unsigned off, uint64_t v) { *(volatile uint64_t *)(HPET_BASE + off) = v; }

static void ioapic_route(unsigned gsi, uint8_t vector, bool masked)
{
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * gsi + 1);
    mmio_write32(IOAPIC_BASE + 0x10, lapic_id() << 24);
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * gsi);
    mmio_write32(IOAPIC_BASE + 0x10, vector | (masked ? 1u << 16 : 0));
}

static void on_oneshot(struct irq_frame *f) { fired[0]++; lapic_eoi(); }
static void on_periodic(struct irq_frame *f) { fired[1]++; lapic_eoi(); }
static void on_legacy(struct irq_frame *f) { fired[2]++; lapic_eoi(); }

static uint64_t ticks_per_ms;

static void wait_ms(unsigned ms)
{
    udelay(1000ull * ms);
}

static unsigned free_route(unsigned timer)
{
    uint32_t cap = (uint32_t)(hpet_read(TN_CONF(timer)) >> 32);
    for (unsigned g = 16; g < 24; g++)
        if (cap & (1u << g))
            return g;
    return 0;
}

static void counter_rate(uint64_t cap)
{
    uint32_t period_fs = (uint32_t)(cap >> 32);
    report(period_fs > 0 && period_fs <= 100000000u, "counter period %u fs (at most 100 ns)",
           period_fs);
    report(((cap >> 8) & 0x1f) >= 2, "%lu timers", ((cap >> 8) & 0x1f) + 1);
    report(cap & (1u << 15), "legacy replacement capable");
    uint64_t want_hz = 1000000000000000ull / period_fs;
    ticks_per_ms = want_hz / 1000;
    uint64_t hz = tsc_hz();
    hpet_write(GEN_CONF, CONF_ENABLE);
    uint64_t t0, t1;
    uint64_t c0 = tsc_paired_read(read_main_counter, NULL, &t0);
    wait_ms(50);
    uint64_t c1 = tsc_paired_read(read_main_counter, NULL, &t1);
    uint64_t rate = (c1 - c0) * hz / (t1 - t0);
    report(rate > want_hz * 95 / 100 && rate < want_hz * 105 / 100,
           "main counter counts at %lu Hz against the TSC (%lu advertised, +-5%%)", rate, want_hz);
    uint32_t lo = mmio_read32(HPET_BASE + MAIN_CNT), hi = mmio_read32(HPET_BASE + MAIN_CNT + 4);
    uint64_t both = hpet_read(MAIN_CNT);
    report(hi == (uint32_t)(both >> 32) && lo <= (uint32_t)both,
           "32-bit halves of the counter match a 64-bit read");
}

static void oneshot(void)
{
    unsigned gsi = free_route(2);
    if (!report(gsi != 0, "timer 2 may be routed to IOAPIC pin %u", gsi))
        return;
    ioapic_route(gsi, VEC_ONESHOT, false);
    hpet_write(TN_CONF(2), TN_ROUTE(gsi) | TN_INT_ENB);
    report(((hpet_read(TN_CONF(2)) >> 9) & 0x1f) == gsi, "timer 2 route reads back");
    hpet_write(TN_CMP(2), hpet_read(MAIN_CNT) + 2 * ticks_per_ms);
    wait_ms(30);
    unsigned first = fired[0];
    wait_ms(30);
    report(first == 1 && fired[0] == 1, "one-shot timer 2 interrupted once through the IOAPIC "
           "(%u, then %u)", first, fired[0]);
    hpet_write(TN_CONF(2), 0);
    ioapic_route(gsi, VEC_ONESHOT, true);
}

static void periodic(void)
{
    uint64_t conf = hpet_read(TN_CONF(0));
    unsigned gsi = free_route(0);
    if (!report((conf & TN_PER_CAP) && gsi, "timer 0 is periodic-capable, routable to pin %u", gsi))
        return;
    ioapic_route(gsi, VEC_PERIODIC, false);
    hpet_write(TN_CONF(0), TN_ROUTE(gsi) | TN_INT_ENB | TN_PERIODIC | TN_VAL_SET);
    hpet_write(TN_CMP(0), hpet_read(MAIN_CNT) + ticks_per_ms);
    hpet_write(TN_CMP(0), ticks_per_ms);
    wait_ms(50);
    unsigned got = fired[1];
    report(got >= 10 && got <= 60, "periodic timer 0 (1 ms) interrupted %u times in 50 ms", got);
    hpet_write(TN_CONF(0), 0);
    wait_ms(5);
    unsigned after = fired[1];
    wait_ms(20);
    report(fired[1] == after, "disabled, it stops (%u, then %u)", after, fired[1]);
    ioapic_route(gsi, VEC_PERIODIC, true);
}

static void pit_channel0(uint8_t control, uint16_t count, bool load)
{
    outb(0x43, control);
    if (load) {
        outb(0x40, (uint8_t)count);
        outb(0x40, (uint8_t)(count >> 8));
    }
}

/* Legacy replacement owns IRQ0: the PIT, ticking every 1 ms meanwhile, must not reach it.
 * (An edge latched while pin 2 was masked may arrive when it is unmasked: not counted.) */
static void legacy(void)
{
    pit_channel0(0x30, 0, false);                       /* PIT channel 0 quiet: mode 0, no count */
    ioapic_route(PIT_GSI, VEC_LEGACY, false);
    wait_ms(10);
    unsigned quiet = fired[2];
    wait_ms(10);
    unsigned before = fired[2];
    hpet_write(GEN_CONF, CONF_ENABLE | CONF_LEG_RT);
    pit_channel0(0x34, 1193, true);                     /* mode 2, 1 ms */
    hpet_write(TN_CONF(0), TN_INT_ENB);
    hpet_write(TN_CMP(0), hpet_read(MAIN_CNT) + 2 * ticks_per_ms);
    wait_ms(30);
    unsigned after = fired[2];
    pit_channel0(0x30, 0, false);
    report(quiet == before && after - before == 1,
           "legacy replacement: timer 0 reached IRQ0 (IOAPIC pin 2) once, the PIT's 1 ms ticks "
           "did not (%u before, %u after)", before, after);
    hpet_write(TN_CONF(0), 0);
    hpet_write(GEN_CONF, CONF_ENABLE);
    ioapic_route(PIT_GSI, VEC_LEGACY, true);
}

void test_main(void)
{
    tsc_hz();
    uint64_t cap = 0;
    int fault = read64_safe(HPET_BASE + GCAP_ID, &cap);
    if (!report(fault == NO_FAULT && cap != ~0ull && (cap & 0xff),
                "HPET at %#lx answers (GCAP_ID %#lx)", HPET_BASE, cap))
        return;
    lapic_enable(LAPIC_XAPIC);
    irq_set_handler(VEC_ONESHOT, on_oneshot);
    irq_set_handler(VEC_PERIODIC, on_periodic);
    irq_set_handler(VEC_LEGACY, on_legacy);
    sti();
    counter_rate(cap);
    oneshot();
    periodic();
    legacy();
    cli();
    hpet_write(GEN_CONF, 0);
}
