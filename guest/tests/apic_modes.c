/*
 * The local APIC as software can switch it: globally disabled through IA32_APIC_BASE
 * (CPUID.1:EDX.APIC reads 0 and its page answers like unclaimed memory, all-ones), then
 * enabled again; and the timer's current count across a change between one-shot and
 * periodic mode (SDM 10.5.4: the change neither reloads nor starts the count).
 */
#include "guest/lib/guest.h"

DEFINE_TEST("apic_modes");

#define APIC_BASE_EN    (1ull << 11)
#define LVT_PERIODIC_M  (1u << 17)
#define TIMER_VECTOR    0x44

static volatile uint32_t *apic_page(void)
{
    return (volatile uint32_t *)(uintptr_t)(rdmsr(MSR_APIC_BASE) & 0xfffff000ull);
}

static void disable_and_enable(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);
    volatile uint32_t *page = apic_page();
    report(cpuid(1, 0).edx & (1u << 9), "CPUID.1:EDX.APIC set while the APIC is enabled");
    wrmsr(MSR_APIC_BASE, base & ~APIC_BASE_EN);
    report(!(cpuid(1, 0).edx & (1u << 9)), "CPUID.1:EDX.APIC reads 0 with IA32_APIC_BASE.EN "
           "clear");
    uint32_t version = page[APIC_VERSION / 4];
    report(version == 0xffffffffu, "the disabled APIC's page reads all-ones (%#x)", version);
    page[APIC_TIMER_INIT / 4] = 1234;       /* dropped, and the partition lives on */
    wrmsr(MSR_APIC_BASE, base);
    report(cpuid(1, 0).edx & (1u << 9), "CPUID.1:EDX.APIC set again once re-enabled");
    lapic_enable(LAPIC_XAPIC);
    report((lapic_read(APIC_VERSION) & 0xff) >= 0x10, "the re-enabled APIC answers (version "
           "%#x)", lapic_read(APIC_VERSION));
}

static void mode_change_keeps_count(void)
{
    lapic_write(APIC_TIMER_DIV, 0xb);                           /* divide by 1 */
    lapic_write(APIC_LVT_TIMER, LVT_MASKED | TIMER_VECTOR);      /* one-shot, masked */
    lapic_write(APIC_TIMER_INIT, 0xf0000000u);
    udelay(1000);
    uint32_t before = lapic_read(APIC_TIMER_CUR);
    lapic_write(APIC_LVT_TIMER, LVT_MASKED | LVT_PERIODIC_M | TIMER_VECTOR);
    uint32_t after = lapic_read(APIC_TIMER_CUR);
    report(after <= before && after > 0 && before < 0xf0000000u,
           "one-shot to periodic mid-count: the count goes on (%#x, then %#x)", before, after);
    lapic_write(APIC_TIMER_INIT, 0);                             /* stops it */
    lapic_write(APIC_LVT_TIMER, LVT_MASKED | TIMER_VECTOR);      /* one-shot */
    lapic_write(APIC_TIMER_INIT, 1000);
    udelay(2000);
    uint32_t expired = lapic_read(APIC_TIMER_CUR);
    lapic_write(APIC_LVT_TIMER, LVT_MASKED | LVT_PERIODIC_M | TIMER_VECTOR);
    udelay(100);
    uint32_t later = lapic_read(APIC_TIMER_CUR);
    report(expired == 0 && later == 0, "an expired one-shot switched to periodic stays at 0 "
           "(%#x, then %#x): the change does not start it", expired, later);
    lapic_write(APIC_TIMER_INIT, 0);
}

void test_main(void)
{
    lapic_enable(LAPIC_XAPIC);
    disable_and_enable();
    mode_change_keeps_count();
}
