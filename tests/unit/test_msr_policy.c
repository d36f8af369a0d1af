/* msr_policy: every MSR it knows, read and write, allowed and #GP, with the CPUID view
 * cpuid_filter makes of a fake host CPU that shows (or hides) each feature. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/exit/msr_policy.h"

/* ---- a fake host CPU, seen through cpuid_filter -------------------------------------- */
static struct cpuid_result host_leaf[0x20], host_ext[0x10];

static struct cpuid_result fake_host(uint32_t leaf, uint32_t subleaf)
{
    (void)subleaf;
    if (leaf < 0x20)
        return host_leaf[leaf];
    if (leaf >= 0x80000000u && leaf < 0x80000010u)
        return host_ext[leaf - 0x80000000u];
    return (struct cpuid_result){ 0, 0, 0, 0 };
}

static void guest_view(void *ctx, uint32_t leaf, uint32_t subleaf, struct cpuid_result *out)
{
    (void)ctx;
    cpuid_filter(leaf, subleaf, 0, 1, fake_host, out);
}

static struct vcpu_msrs regs;
static struct msr_guest g = { guest_view, NULL, &regs, 0 };

#define L1_EDX_TSC   (1u << 4)
#define L1_EDX_MCE   (1u << 7)
#define L1_EDX_MTRR  (1u << 12)
#define L1_EDX_MCA   (1u << 14)
#define L1_EDX_DS    (1u << 21)
#define L1_ECX_MON   (1u << 3)
#define L1_ECX_EST   (1u << 7)
#define L1_ECX_XTPR  (1u << 14)
#define L1_ECX_PDCM  (1u << 15)
#define L7_EBX_TSC_ADJUST (1u << 1)
#define L7_EDX_IBRS  (1u << 26)
#define L7_EDX_STIBP (1u << 27)
#define L7_EDX_ARCH_CAPS (1u << 29)
#define L7_EDX_SSBD  (1u << 31)

/* A host that has everything the policy knows about, with MONITOR, EIST, DS and a PMU
 * that cpuid_filter hides from guests. */
static int host_with_everything(void **state)
{
    (void)state;
    memset(host_leaf, 0, sizeof(host_leaf));
    memset(host_ext, 0, sizeof(host_ext));
    memset(&regs, 0, sizeof(regs));
    host_leaf[0].eax = 0x16;
    host_leaf[1].edx = L1_EDX_TSC | L1_EDX_MCE | L1_EDX_MTRR | L1_EDX_MCA | L1_EDX_DS;
    host_leaf[1].ecx = L1_ECX_MON | L1_ECX_EST | L1_ECX_XTPR | L1_ECX_PDCM;
    host_leaf[7].ebx = L7_EBX_TSC_ADJUST;
    host_leaf[7].edx = L7_EDX_IBRS | L7_EDX_STIBP | L7_EDX_ARCH_CAPS | L7_EDX_SSBD;
    host_leaf[0xa].eax = 0x07300404;
    host_ext[0].eax = 0x80000008u;
    g.tsc = 0x123456789ull;
    return 0;
}

/* A host without any of them. */
static int host_with_nothing(void **state)
{
    host_with_everything(state);
    host_leaf[1] = (struct cpuid_result){ 0, 0, 0, 0 };
    host_leaf[7] = (struct cpuid_result){ 0, 0, 0, 0 };
    return 0;
}

static bool rd(uint32_t msr, uint64_t *v) { *v = 0xbad; return msr_guest_read(&g, msr, v); }
static bool wr(uint32_t msr, uint64_t v) { return msr_guest_write(&g, msr, v); }

static void assert_gp_both_ways(uint32_t msr)
{
    uint64_t v;
    if (rd(msr, &v) || wr(msr, 0) || wr(msr, 1))
        fail_msg("MSR %#x answers", msr);
}

/* ---- the tests ----------------------------------------------------------------------- */
static void unknown_msrs_gp(void **state)
{
    (void)state;
    uint32_t unknown[] = { 0, 0x11, 0x79, 0x140, 0x1a2, 0x200, 0x201, 0x251, 0x257, 0x25a,
                           0x267, 0x270, 0x480, 0x10b, 0xc001011fu, 0x4b564d00u, 0xdead0000u };
    for (unsigned i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        assert_gp_both_ways(unknown[i]);
}

static void tsc(void **state)
{
    (void)state;
    uint64_t v;
    assert_true(rd(0x10, &v));
    assert_int_equal(v, 0x123456789ull);
    assert_true(wr(0x10, 5));
    host_leaf[1].edx &= ~L1_EDX_TSC;
    assert_gp_both_ways(0x10);
}

/* IA32_TSC_ADJUST is emulated whole, so CPUID.7:EBX[1] shows it whatever the host has
 * (QEMU's TCG CPU has none); only a leaf 7 beyond the maximum hides it. */
static void tsc_adjust_follows_leaf_7(void **state)
{
    (void)state;
    uint64_t v;
    assert_true(rd(0x3b, &v));
    assert_int_equal(v, 0);
    assert_true(wr(0x3b, 0));
    host_leaf[7].ebx = 0;
    assert_true(rd(0x3b, &v));
    assert_true(wr(0x3b, 0));
    host_leaf[7].ebx = L7_EBX_TSC_ADJUST;
    host_leaf[0].eax = 6;                   /* leaf 7 beyond the maximum: not shown */
    assert_gp_both_ways(0x3b);
}

/* SDM 18.17.3: a write to IA32_TSC moves IA32_TSC_ADJUST by the same amount, and a
 * write to IA32_TSC_ADJUST moves the TSC by the difference. */
static void tsc_and_adjust_are_coupled(void **state)
{
    (void)state;
    uint64_t v;
    g.tsc = 1000;                           /* the host's TSC now */
    assert_true(wr(0x10, 5000));            /* +4000 */
    assert_true(rd(0x10, &v));
    assert_int_equal(v, 5000);
    assert_true(rd(0x3b, &v));
    assert_int_equal(v, 4000);
    g.tsc = 2000;                           /* time passes: the guest's TSC with it */
    assert_true(rd(0x10, &v));
    assert_int_equal(v, 6000);
    assert_true(wr(0x3b, 1000));            /* adjust -3000: the TSC follows */
    assert_true(rd(0x10, &v));
    assert_int_equal(v, 3000);
    assert_int_equal(regs.tsc_offset, 1000);
    assert_true(wr(0x10, 0));               /* backwards, below the host's: wraps as hardware */
    assert_true(rd(0x3b, &v));
    assert_int_equal(v, 1000 - 3000);
    assert_true(rd(0x10, &v));
    assert_int_equal(v, 0);
    host_leaf[7].ebx = 0;                   /* without TSC_ADJUST the TSC still takes writes */
    assert_true(wr(0x10, 7));
    assert_true(rd(0x10, &v));
    assert_int_equal(v, 7);
}

static void feature_control_is_locked(void **state)
{
    (void)state;
    uint64_t v;
    assert_true(rd(0x3a, &v));
    assert_int_equal(v, 1);
    assert_false(wr(0x3a, 1));
    assert_false(wr(0x3a, 5));
}

static void bios_sign_id(void **state)
{
    (void)state;
    uint64_t v;
    assert_true(rd(0x8b, &v));
    assert_int_equal(v >> 32, 0xff);
    assert_true(wr(0x8b, 0));
}

static void machine_check_msrs(void **state)
{
    (void)state;
    uint64_t v;
    assert_true(rd(0x179, &v));
    assert_int_equal(v, 0);                 /* no banks, no MCG_CTL */
    assert_false(wr(0x179, 0));             /* read-only */
    assert_true(rd(0x17a, &v));
    assert_int_equal(v, 0);
    assert_true(wr(0x17a, 0));
    assert_false(wr(0x17a, 4));
    assert_gp_both_ways(0x17b);
    for (uint32_t msr = 0x400; msr < 0x480; msr++)
        assert_gp_both_ways(msr);
    host_leaf[1].edx &= ~L1_EDX_MCA;
    assert_gp_both_ways(0x179);
    assert_gp_both_ways(0x17a);
}

static void misc_enable(void **state)
{
    (void)state;
    uint64_t v, reset;
    assert_true(rd(0x1a0, &reset));
    /* Fast strings on; CPUID hides DS, PDCM and the PMU, so BTS and PEBS are unavailable. */
    assert_int_equal(reset, (1ull << 0) | (1ull << 11) | (1ull << 12));
    assert_true(wr(0x1a0, reset & ~1ull));
    assert_true(rd(0x1a0, &v));
    assert_int_equal(v, reset & ~1ull);
    assert_true(wr(0x1a0, reset | (1ull << 23)));        /* xTPR disable: CPUID shows xTPR */
    assert_true(rd(0x1a0, &v));
    assert_int_equal(v, reset | (1ull << 23));
    assert_true(wr(0x1a0, 1));                          /* read-only bits: ignored */
    assert_true(rd(0x1a0, &v));
    assert_int_equal(v, reset);
    assert_true(wr(0x1a0, reset | (1ull << 7)));
    assert_true(rd(0x1a0, &v));
    assert_int_equal(v, reset);
    /* MONITOR and EIST are hidden; limit-CPUID and XD-disable are not offered. */
    unsigned refused[] = { 3, 16, 18, 22, 34, 38, 63 };
    for (unsigned i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        assert_false(wr(0x1a0, reset | (1ull << refused[i])));
    assert_true(rd(0x1a0, &v));
    assert_int_equal(v, reset);
    host_leaf[1].ecx &= ~L1_ECX_XTPR;
    assert_false(wr(0x1a0, reset | (1ull << 23)));
}

static void misc_enable_without_ds(void **state)
{
    (void)state;
    uint64_t v;
    assert_true(rd(0x1a0, &v));
    assert_int_equal(v, (1ull << 0) | (1ull << 11) | (1ull << 12));
    assert_true(wr(0x1a0, 0));
    assert_true(rd(0x1a0, &v));
    assert_int_equal(v, (1ull << 11) | (1ull << 12));
}

static void spec_ctrl_shows_what_cpuid_shows(void **state)
{
    (void)state;
    uint64_t v;
    assert_true(rd(0x48, &v));
    assert_int_equal(v, 0);
    assert_true(wr(0x48, 7));
    assert_true(rd(0x48, &v));
    assert_int_equal(v, 7);
    assert_false(wr(0x48, 8));
    assert_false(wr(0x48, 1ull << 32));
    host_leaf[7].edx = L7_EDX_IBRS;          /* IBRS only */
    assert_true(wr(0x48, 1));
    assert_false(wr(0x48, 2));
    assert_false(wr(0x48, 4));
    host_leaf[7].edx = 0;
    assert_gp_both_ways(0x48);
    host_ext[8].ebx = 1u << 24;              /* AMD's SSBD alone */
    assert_true(wr(0x48, 4));
    assert_false(wr(0x48, 1));
    assert_true(rd(0x48, &v));
    assert_int_equal(v, 4);
}

static void pred_cmd_is_write_only(void **state)
{
    (void)state;
    uint64_t v;
    assert_false(rd(0x49, &v));
    assert_true(wr(0x49, 1));
    assert_true(wr(0x49, 0));
    assert_false(wr(0x49, 2));
    host_leaf[7].edx = L7_EDX_STIBP | L7_EDX_SSBD;   /* SPEC_CTRL without IBPB */
    assert_gp_both_ways(0x49);
    host_ext[8].ebx = 1u << 12;                       /* AMD's IBPB */
    assert_true(wr(0x49, 1));
    assert_false(rd(0x49, &v));
}

static void arch_capabilities(void **state)
{
    (void)state;
    uint64_t v;
    assert_true(rd(0x10a, &v));
    assert_int_equal(v, 0);
    assert_false(wr(0x10a, 0));
    host_leaf[7].edx &= ~L7_EDX_ARCH_CAPS;
    assert_gp_both_ways(0x10a);
}

static void mtrrs(void **state)
{
    (void)state;
    uint64_t v;
    static const uint32_t fixed[] = { 0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b,
                                      0x26c, 0x26d, 0x26e, 0x26f };
    assert_true(rd(0xfe, &v));
    assert_int_equal(v, 0x500);             /* fixed ranges and WC, no variable ranges */
    assert_false(wr(0xfe, 0x500));
    assert_true(rd(0x2ff, &v));
    assert_int_equal(v, 0xc06);
    assert_true(wr(0x2ff, 0x800));          /* enabled, uncacheable by default */
    assert_true(rd(0x2ff, &v));
    assert_int_equal(v, 0x800);
    assert_false(wr(0x2ff, 0xc02));         /* type 2 is reserved */
    assert_false(wr(0x2ff, 0xd06));         /* bit 8 is reserved */
    assert_false(wr(0x2ff, 1ull << 12));
    for (unsigned i = 0; i < 11; i++) {
        assert_true(rd(fixed[i], &v));
        assert_int_equal(v, 0x0606060606060606ull);
        uint64_t types = 0x0001040506000106ull + i;
        assert_true(wr(fixed[i], i % 2 ? types - i : 0x0504010006060606ull));
        assert_true(rd(fixed[i], &v));
        assert_int_equal(v, i % 2 ? types - i : 0x0504010006060606ull);
        assert_false(wr(fixed[i], 0x0606060606060602ull));
        assert_false(wr(fixed[i], 0x0706060606060606ull));
    }
    host_leaf[1].edx &= ~L1_EDX_MTRR;
    assert_gp_both_ways(0xfe);
    assert_gp_both_ways(0x2ff);
    for (unsigned i = 0; i < 11; i++)
        assert_gp_both_ways(fixed[i]);
}

static void debugctl(void **state)
{
    (void)state;
    uint64_t v;
    assert_true(rd(0x1d9, &v));
    assert_int_equal(v, 0);
    for (uint64_t bits = 0; bits < 4; bits++)
        assert_true(wr(0x1d9, bits));
    assert_false(wr(0x1d9, 4));
    assert_false(wr(0x1d9, 1ull << 14));
}

static void nothing_shown_nothing_answers(void **state)
{
    (void)state;
    uint32_t gated[] = { 0x10, 0x48, 0x49, 0xfe, 0x10a, 0x179, 0x17a, 0x2ff, 0x250 };
    for (unsigned i = 0; i < sizeof(gated) / sizeof(gated[0]); i++)
        assert_gp_both_ways(gated[i]);
    uint64_t v;
    assert_true(rd(0x3b, &v));              /* TSC_ADJUST: emulated, shown by leaf 7 anyway */
    assert_true(rd(0x3a, &v));              /* these belong to no CPUID feature */
    assert_true(rd(0x8b, &v));
    assert_true(rd(0x1a0, &v));
    assert_true(rd(0x1d9, &v));
}

/* Each vCPU keeps its own values. */
static void values_are_per_vcpu(void **state)
{
    (void)state;
    struct vcpu_msrs other;
    memset(&other, 0, sizeof(other));
    assert_true(wr(0x48, 2));
    assert_true(wr(0x1a0, 0x1800));
    struct msr_guest g2 = { guest_view, NULL, &other, 0 };
    uint64_t v;
    assert_true(msr_guest_read(&g2, 0x48, &v));
    assert_int_equal(v, 0);
    assert_true(msr_guest_read(&g2, 0x1a0, &v));
    assert_int_equal(v, 0x1801);
}

int main(void)
{
#define T(name, setup) cmocka_unit_test_setup(name, setup)
    const struct CMUnitTest tests[] = {
        T(unknown_msrs_gp, host_with_everything),
        T(tsc, host_with_everything),
        T(tsc_adjust_follows_leaf_7, host_with_everything),
        T(tsc_and_adjust_are_coupled, host_with_everything),
        T(feature_control_is_locked, host_with_everything),
        T(bios_sign_id, host_with_everything),
        T(machine_check_msrs, host_with_everything),
        T(misc_enable, host_with_everything),
        T(misc_enable_without_ds, host_with_nothing),
        T(spec_ctrl_shows_what_cpuid_shows, host_with_everything),
        T(pred_cmd_is_write_only, host_with_everything),
        T(arch_capabilities, host_with_everything),
        T(mtrrs, host_with_everything),
        T(debugctl, host_with_everything),
        T(nothing_shown_nothing_answers, host_with_nothing),
        T(values_are_per_vcpu, host_with_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
