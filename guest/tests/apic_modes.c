/*
 * The local APIC as software can switch it: globally disabled through IA32_APIC_BASE
 * (CPUID.1:EDX.APIC reads 0 and its page answers like unclaimed memory, all-ones), then
 * enabled again; and the timer's current count across a change between one-shot and
 * periodic mode (SDM 10.5.4: the change neither reloads nor starts the count); then in
 * x2APIC mode the MSR rules of SDM 10.12: reserved MSRs and reserved bits #GP, read-only
 * and write-only registers #GP the other way, the xAPIC page is gone, and the mode
 * transitions IA32_APIC_BASE refuses.
 */
#include "guest/lib/guest.h"

DEFINE_TEST("apic_modes");

#define APIC_BASE_EN    (1ull << 11)
#define APIC_BASE_EXTD  (1ull << 10)
#define GP              13
#define X2APIC_MSR(reg) (0x800u + ((reg) >> 4))
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

static bool read_gps(uint32_t msr)
{
    uint64_t v;
    return rdmsr_safe(msr, &v) == GP;
}

/* Each write #GPs; a write that took would send to APIC ID 0xff00, which no vCPU has. */
static bool icr_reserved_bits_gp(void)
{
    static const unsigned bits[] = { 12, 13, 16, 17, 20, 31 };
    for (unsigned i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
        if (wrmsr_safe(X2APIC_MSR(APIC_ICR), (0xff00ull << 32) | (1ull << bits[i]) | 0x40) != GP)
            return false;
    return wrmsr_safe(X2APIC_MSR(APIC_ICR), (0xff00ull << 32) | 0x40) == NO_FAULT;
}

static void x2apic_rules(void)
{
    if (!lapic_enable(LAPIC_X2APIC)) {
        report(false, "x2APIC mode could not be entered");
        return;
    }
    lapic_write(APIC_TIMER_DIV, 0xb);
    report(read_gps(0x809) && read_gps(0x80e) && read_gps(0x831) && read_gps(0x8ff) &&
           wrmsr_safe(0x80e, 0) == GP && wrmsr_safe(0x800, 0) == GP,
           "x2APIC: reserved MSRs (APR, DFR, ICR2, 0x800, 0x8ff) #GP");
    report(read_gps(X2APIC_MSR(APIC_EOI)) && read_gps(0x83f), "x2APIC: RDMSR of EOI and "
           "SELF IPI (write-only) #GPs");
    report(wrmsr_safe(X2APIC_MSR(APIC_ID), 0) == GP && wrmsr_safe(0x80d, 0) == GP &&
           wrmsr_safe(0x839, 0) == GP, "x2APIC: WRMSR of ID, LDR, current count (read-only) #GPs");
    report(wrmsr_safe(X2APIC_MSR(APIC_EOI), 1) == GP, "x2APIC: EOI of a non-zero value #GPs");
    report(icr_reserved_bits_gp(), "x2APIC: ICR with reserved bits 12, 13, 16, 17, 20, 31 #GPs");
    report(wrmsr_safe(X2APIC_MSR(APIC_TPR), 0x100) == GP &&
           wrmsr_safe(X2APIC_MSR(APIC_TPR), 1ull << 32) == GP &&
           wrmsr_safe(X2APIC_MSR(APIC_SVR), 0x1ff | (1u << 12)) == GP &&
           wrmsr_safe(X2APIC_MSR(APIC_LVT_TIMER), LVT_MASKED | 0x140) == GP &&
           wrmsr_safe(X2APIC_MSR(APIC_TIMER_DIV), 0x4) == GP && wrmsr_safe(0x83f, 0x140) == GP,
           "x2APIC: reserved bits of TPR, SVR, LVT timer, divide config, SELF IPI #GP");
    report(lapic_read(APIC_TPR) == 0 && (lapic_read(APIC_SVR) & 0x100) &&
           lapic_read(APIC_TIMER_DIV) == 0xb, "x2APIC: the refused writes changed nothing");
    uint32_t page = apic_page()[APIC_VERSION / 4];
    report(page == 0xffffffffu, "x2APIC: the xAPIC page is gone (reads %#x)", page);
    uint64_t base = rdmsr(MSR_APIC_BASE);
    report(wrmsr_safe(MSR_APIC_BASE, base & ~APIC_BASE_EXTD) == GP,
           "IA32_APIC_BASE: x2APIC to xAPIC #GPs");
    report(wrmsr_safe(MSR_APIC_BASE, base & ~(APIC_BASE_EXTD | APIC_BASE_EN)) == NO_FAULT &&
           wrmsr_safe(MSR_APIC_BASE, base) == GP && read_gps(X2APIC_MSR(APIC_ID)),
           "IA32_APIC_BASE: disabled to x2APIC #GPs");
    report(wrmsr_safe(MSR_APIC_BASE, base & ~APIC_BASE_EXTD) == NO_FAULT &&
           read_gps(X2APIC_MSR(APIC_ID)), "IA32_APIC_BASE: disabled to xAPIC; then x2APIC "
           "MSRs #GP");
    lapic_enable(LAPIC_XAPIC);
}

void test_main(void)
{
    lapic_enable(LAPIC_XAPIC);
    disable_and_enable();
    mode_change_keeps_count();
    x2apic_rules();
}
