/*
 * IA32_TSC and IA32_TSC_ADJUST as the SDM couples them (18.17.3): a write to TSC_ADJUST
 * moves the TSC by the difference, a write to IA32_TSC moves TSC_ADJUST by as much as the
 * TSC moved, RDTSC follows both, and the TSC-deadline timer keeps counting in the moved TSC.
 */
#include "guest/lib/guest.h"

DEFINE_TEST("tsc_adjust");

#define MSR_TSC_ADJUST 0x3bu
#define TIMER_VECTOR   0x41
#define BIG            (1ull << 40)
#define SLACK          200000000ull     /* TSC ticks the checks themselves may take */

static volatile unsigned fired;
static volatile uint64_t fired_tsc;

static void on_timer(struct irq_frame *f)
{
    fired_tsc = rdtsc();
    fired++;
    lapic_eoi();
}

static bool near(uint64_t got, uint64_t want)
{
    return got >= want && got - want < SLACK;
}

static void adjust_moves_tsc(void)
{
    uint64_t adj = rdmsr(MSR_TSC_ADJUST);
    report(adj == 0, "TSC_ADJUST reads 0 at start (%#lx)", adj);
    uint64_t before = rdtsc();
    wrmsr(MSR_TSC_ADJUST, BIG);
    uint64_t after = rdtsc();
    report(near(after, before + BIG), "writing 2^40 to TSC_ADJUST moves RDTSC by 2^40 "
           "(%#lx, then %#lx)", before, after);
    report(rdmsr(MSR_TSC_ADJUST) == BIG, "TSC_ADJUST reads back 2^40");
    report(near(rdmsr(MSR_TSC), rdtsc() - SLACK / 2) || near(rdmsr(MSR_TSC) + SLACK / 2, rdtsc()),
           "RDMSR IA32_TSC agrees with RDTSC");
}

static void tsc_write_moves_adjust(void)
{
    const uint64_t target = 1ull << 30;
    uint64_t adj0 = rdmsr(MSR_TSC_ADJUST), tsc0 = rdtsc();
    wrmsr(MSR_TSC, target);
    uint64_t tsc1 = rdtsc(), adj1 = rdmsr(MSR_TSC_ADJUST);
    report(near(tsc1, target), "writing 2^30 to IA32_TSC: RDTSC reads %#lx", tsc1);
    /* the TSC moved by (target - tsc0) minus the ticks between the read and the write */
    uint64_t moved = adj1 - adj0, expect = target - tsc0;
    report(moved <= expect && expect - moved < SLACK,
           "TSC_ADJUST moved with it: by %#lx (the TSC by about %#lx)", moved, expect);
}

static void deadline_in_moved_tsc(void)
{
    if (!lapic_has_tsc_deadline() || !lapic_enable(LAPIC_XAPIC)) {
        report_skip("TSC-deadline timer in the moved TSC (not offered)");
        return;
    }
    irq_set_handler(TIMER_VECTOR, on_timer);
    lapic_timer_deadline_mode(TIMER_VECTOR);
    uint64_t period = tsc_hz() / 1000;            /* 1 ms */
    uint64_t deadline = rdtsc() + period;
    wrmsr(MSR_TSC_DEADLINE, deadline);
    uint64_t start = rdtsc();
    sti();
    while (!fired && rdtsc() - start < 1000 * period)
        pause();
    cli();
    report(fired == 1 && fired_tsc >= deadline && fired_tsc - deadline < 100 * period,
           "a TSC deadline 1 ms ahead in the moved TSC fires once, not early (%u, %ld ticks "
           "after it)", fired, fired ? (long)(fired_tsc - deadline) : -1L);
}

void test_main(void)
{
    if (!(cpuid(7, 0).ebx & (1u << 1))) {
        report_skip("IA32_TSC_ADJUST (CPUID.7:EBX[1] not shown)");
        return;
    }
    adjust_moves_tsc();
    tsc_write_moves_adjust();
    deadline_in_moved_tsc();
}
