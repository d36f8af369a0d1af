/*
 * CPUID and MSR behaviour: the hypervisor bit and Atoll's signature leaf, the filtered
 * feature view (no VMX, no SMX for guests), allowed MSR reads, and #GP for MSRs a guest may
 * not touch.  The Atoll-specific checks are SKIPs when no Atoll is underneath.
 */
#include "guest/lib/guest.h"

DEFINE_TEST("cpuid_msr");

#define MSR_NONEXISTENT 0xdead0000u
#define MSR_KVM_WALL_CLOCK 0x4b564d00u
#define APIC_BASE_BSP (1ull << 8)
#define MSR_TSC_ADJUST     0x3bu
#define MSR_SPEC_CTRL      0x48u
#define MSR_PRED_CMD       0x49u
#define MSR_ARCH_CAPS      0x10au
#define MSR_MCG_CAP        0x179u
#define MSR_MCG_CTL        0x17bu
#define MSR_MISC_ENABLE    0x1a0u
#define MSR_MC0_CTL        0x400u
#define MISC_FAST_STRINGS  1ull

static void check_signature(bool atoll)
{
    bool hv_bit = cpu_has(1, 'c', 31);
    if (!atoll) {
        report_skip("hypervisor bit (CPUID.1:ECX[31] = %d here, no Atoll)", hv_bit);
        report_skip("Atoll signature leaf 0x40000000 (not under Atoll)");
        return;
    }
    struct cpuid_regs r = cpuid(HV_CPUID_BASE, 0);
    report(hv_bit, "hypervisor bit set");
    report(r.eax >= HV_CPUID_BASE && r.eax < HV_CPUID_BASE + 0x100,
           "signature leaf: max leaf %#x, \"%s\"", r.eax, HV_CPUID_SIGNATURE);
}

static void check_filtered_features(void)
{
    report(!cpu_has(1, 'c', 5), "VMX not offered to the guest");
    report(!cpu_has(1, 'c', 6), "SMX not offered to the guest");
}

static void check_allowed_reads(void)
{
    uint64_t apic = 0, efer = 0, pat = 0;
    bool ok = rdmsr_safe(MSR_APIC_BASE, &apic) == NO_FAULT;
    report(ok && (apic & APIC_BASE_BSP) && (apic & ~0xfffull) == 0xfee00000ull,
           "IA32_APIC_BASE reads %#lx (BSP, base 0xfee00000)", apic);
    ok = rdmsr_safe(MSR_EFER, &efer) == NO_FAULT;
    report(ok && (efer & EFER_LME) && (efer & EFER_LMA), "IA32_EFER reads %#lx (LME, LMA)", efer);
    ok = rdmsr_safe(MSR_PAT, &pat) == NO_FAULT;
    report(ok, "IA32_PAT reads %#lx", pat);
}

static void check_allowed_write(void)
{
    uint64_t old = 0, v = 0;
    int f1 = rdmsr_safe(MSR_KERNEL_GS_BASE, &old);
    int f2 = wrmsr_safe(MSR_KERNEL_GS_BASE, 0x12345000);
    int f3 = rdmsr_safe(MSR_KERNEL_GS_BASE, &v);
    wrmsr_safe(MSR_KERNEL_GS_BASE, old);
    report(f1 == NO_FAULT && f2 == NO_FAULT && f3 == NO_FAULT && v == 0x12345000,
           "IA32_KERNEL_GS_BASE write/read round trip");
}

/* The MSR policy is the hypervisor's: QEMU's TCG reads unknown MSRs as 0 without #GP. */
static void check_msr_policy(void)
{
    uint64_t tsc1 = 0, tsc2 = 0, v = 0;
    bool ok = rdmsr_safe(MSR_TSC, &tsc1) == NO_FAULT;
    ok = ok && rdmsr_safe(MSR_TSC, &tsc2) == NO_FAULT;
    report(ok && tsc2 > tsc1, "IA32_TSC reads and advances (%#lx, %#lx)", tsc1, tsc2);
    report(rdmsr_safe(MSR_VMX_BASIC, &v) == VEC_GP, "IA32_VMX_BASIC read gets #GP");
    report(rdmsr_safe(MSR_NONEXISTENT, &v) == VEC_GP, "read of nonexistent MSR %#x gets #GP",
           MSR_NONEXISTENT);
    report(wrmsr_safe(MSR_NONEXISTENT, 1) == VEC_GP, "write to nonexistent MSR %#x gets #GP",
           MSR_NONEXISTENT);
    report(wrmsr_safe(MSR_KVM_WALL_CLOCK, 0) == VEC_GP, "write to KVM's MSR %#x gets #GP",
           MSR_KVM_WALL_CLOCK);
    uint64_t fc = 0;
    rdmsr_safe(MSR_FEATURE_CONTROL, &fc);
    report(wrmsr_safe(MSR_FEATURE_CONTROL, fc | 5) == VEC_GP, "IA32_FEATURE_CONTROL write gets #GP");
}

/* Every MSR a feature brings #GPs when CPUID hides the feature (issue 19, item 1). */
static void check_msrs_match_cpuid(void)
{
    uint64_t cap = 0, v = 0;
    if (cpu_has(1, 'd', 14) && rdmsr_safe(MSR_MCG_CAP, &cap) == NO_FAULT) {
        unsigned banks = cap & 0xff, present = 0;
        for (uint32_t msr = MSR_MC0_CTL; msr < MSR_MC0_CTL + 4 * 32; msr++)
            if ((msr - MSR_MC0_CTL) / 4 >= banks && rdmsr_safe(msr, &v) != VEC_GP)
                present++;
        report(present == 0, "MCG_CAP %#lx: %u banks; no MSR of a bank past them answers (%u do)",
               cap, banks, present);
        report((cap & (1u << 8)) || rdmsr_safe(MSR_MCG_CTL, &v) == VEC_GP,
               "IA32_MCG_CTL #GPs without MCG_CAP.MCG_CTL_P");
    } else {
        report(rdmsr_safe(MSR_MCG_CAP, &v) == VEC_GP, "IA32_MCG_CAP #GPs without CPUID MCA");
    }
    bool ibrs = cpu_has(7, 'd', 26), stibp = cpu_has(7, 'd', 27), ssbd = cpu_has(7, 'd', 31);
    if (!ibrs && !stibp && !ssbd)
        report(rdmsr_safe(MSR_SPEC_CTRL, &v) == VEC_GP && wrmsr_safe(MSR_SPEC_CTRL, 0) == VEC_GP,
               "IA32_SPEC_CTRL #GPs (read and write): CPUID shows no IBRS, STIBP or SSBD");
    else
        report(wrmsr_safe(MSR_SPEC_CTRL, 0) == NO_FAULT && rdmsr_safe(MSR_SPEC_CTRL, &v) == NO_FAULT
               && v == 0, "IA32_SPEC_CTRL writes and reads 0: CPUID shows it");
    if (!ibrs)
        report(wrmsr_safe(MSR_PRED_CMD, 1) == VEC_GP, "IA32_PRED_CMD #GPs: CPUID shows no IBPB");
    else
        report(wrmsr_safe(MSR_PRED_CMD, 1) == NO_FAULT, "IA32_PRED_CMD takes IBPB: CPUID shows it");
    report(rdmsr_safe(MSR_PRED_CMD, &v) == VEC_GP, "IA32_PRED_CMD read #GPs (write-only)");
    if (!cpu_has(7, 'd', 29))
        report(rdmsr_safe(MSR_ARCH_CAPS, &v) == VEC_GP,
               "IA32_ARCH_CAPABILITIES #GPs: CPUID hides it");
    if (!cpu_has(7, 'b', 1))
        report(rdmsr_safe(MSR_TSC_ADJUST, &v) == VEC_GP, "IA32_TSC_ADJUST #GPs: CPUID hides it");
}

/* IA32_MISC_ENABLE: what software may set reads back; bits it may not, #GP. */
static void check_misc_enable(void)
{
    uint64_t old = 0, flipped = 0, back = 0;
    bool ok = rdmsr_safe(MSR_MISC_ENABLE, &old) == NO_FAULT;
    ok = ok && wrmsr_safe(MSR_MISC_ENABLE, old ^ MISC_FAST_STRINGS) == NO_FAULT;
    ok = ok && rdmsr_safe(MSR_MISC_ENABLE, &flipped) == NO_FAULT;
    ok = ok && wrmsr_safe(MSR_MISC_ENABLE, old) == NO_FAULT;
    ok = ok && rdmsr_safe(MSR_MISC_ENABLE, &back) == NO_FAULT;
    report(ok && flipped == (old ^ MISC_FAST_STRINGS) && back == old,
           "IA32_MISC_ENABLE fast-strings bit reads back as written (%#lx, %#lx, %#lx)",
           old, flipped, back);
    if (!cpu_has(1, 'c', 3))
        report(wrmsr_safe(MSR_MISC_ENABLE, old | (1ull << 18)) == VEC_GP,
               "IA32_MISC_ENABLE: enabling MONITOR FSM #GPs (CPUID hides MONITOR)");
}

void test_main(void)
{
    bool atoll = atoll_present();
    printf("cpuid_msr: %s\n", atoll ? "under Atoll" : "no Atoll: Atoll-specific checks skip");
    check_signature(atoll);
    if (atoll)
        check_filtered_features();
    else
        report_skip("filtered CPUID view (Atoll's; a bare VT-x CPU offers VMX)");
    check_allowed_reads();
    check_allowed_write();
    if (atoll) {
        check_msr_policy();
        check_msrs_match_cpuid();
        check_misc_enable();
    } else {
        report_skip("MSR allow-list and #GP checks (Atoll's policy; not under Atoll)");
    }
}
