/* CPUID as a guest sees it, on a fake CPU with AVX-512, PKRU and AMX: the XSAVE leaf lists
 * and sizes only the offered components, and leaves 7, 0x1D and 0x1E show no feature whose
 * state the hypervisor does not offer (AMX). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/exit/cpuid_policy.h"
#include "hv/core/exit/xcr0_policy.h"

#define CPU_XCR0 (XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_AVX512 | XCR0_PKRU | XCR0_AMX)
#define AMX_LEAF7_EDX ((1u << 22) | (1u << 24) | (1u << 25))
#define AVX512F (1u << 16)
#define PKU (1u << 3)

static const struct { uint32_t size, offset; } layout[19] = {
    [2] = { 256, 576 }, [5] = { 64, 1088 }, [6] = { 512, 1152 }, [7] = { 1024, 1664 },
    [9] = { 8, 2688 }, [17] = { 64, 2752 }, [18] = { 8192, 2816 },
};

static struct cpuid_result fake_cpuid(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid_result r = { 0, 0, 0, 0 };
    switch (leaf) {
    case 0:
        r.eax = 0x1e;
        break;
    case 1:
        r.ecx = (1u << 26) | (1u << 28);                    /* XSAVE, AVX */
        break;
    case 7:
        if (subleaf == 0) {
            r.ebx = AVX512F | (1u << 5);                    /* AVX-512F, AVX2 */
            r.ecx = PKU;
            r.edx = AMX_LEAF7_EDX | (1u << 23);             /* AMX, AVX512_FP16 */
        } else if (subleaf == 1) {
            r.eax = (1u << 21) | (1u << 5);                 /* AMX-FP16, AVX512_BF16 */
            r.edx = 1u << 8;                                /* AMX-COMPLEX */
        }
        break;
    case 0xd:
        if (subleaf == 0) {
            r.eax = (uint32_t)CPU_XCR0;
            r.ebx = 576;
            r.ecx = 11008;
        } else if (subleaf == 1) {
            r.eax = 0x1f;                   /* XSAVEOPT, XSAVEC, XGETBV1, XSAVES, XFD */
            r.ebx = 0x300;
            r.ecx = 0x1900;
        } else if (subleaf < 19) {
            r.eax = layout[subleaf].size;
            r.ebx = layout[subleaf].offset;
        }
        break;
    case 0x1d: case 0x1e:
        r.eax = 1;
        r.ebx = 0x4002000;
        break;
    case 0x80000000u:
        r.eax = 0x80000008u;
        break;
    }
    return r;
}

static struct cpuid_result guest(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid_result r;
    cpuid_filter(leaf, subleaf, 0, 1, fake_cpuid, &r);
    return r;
}

static void xsave_leaf_lists_only_offered_components(void **state)
{
    (void)state;
    struct cpuid_result r = guest(0xd, 0);
    uint64_t listed = ((uint64_t)r.edx << 32) | r.eax;
    assert_int_equal(listed, CPU_XCR0 & ~XCR0_AMX);
    assert_int_equal(r.ecx, 2752);                  /* through PKRU, not the 11008 of AMX */
    assert_true(r.ebx <= r.ecx);
    assert_int_equal(xsave_area_size(listed, fake_cpuid), r.ecx);
}

static void xsave_subleaves_of_withheld_components_are_zero(void **state)
{
    (void)state;
    for (uint32_t i = 17; i <= 18; i++) {
        struct cpuid_result r = guest(0xd, i);
        assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
    }
    assert_int_equal(guest(0xd, 7).eax, 1024);
    assert_int_equal(guest(0xd, 9).ebx, 2688);
    assert_int_equal(guest(0xd, 63).eax, 0);
}

static void xsave_subleaf_1_has_no_compaction_or_xfd(void **state)
{
    (void)state;
    struct cpuid_result r = guest(0xd, 1);
    assert_int_equal(r.eax, (1u << 0) | (1u << 2));  /* XSAVEOPT, XGETBV with ECX=1 */
    assert_int_equal(r.ebx | r.ecx | r.edx, 0);
}

static void leaf_7_hides_amx_and_keeps_the_rest(void **state)
{
    (void)state;
    struct cpuid_result r = guest(7, 0);
    assert_int_equal(r.edx & AMX_LEAF7_EDX, 0);
    assert_true(r.edx & (1u << 23));
    assert_true(r.ebx & AVX512F);
    assert_true(r.ecx & PKU);
    r = guest(7, 1);
    assert_int_equal(r.eax, 1u << 5);
    assert_int_equal(r.edx, 0);
}

static void amx_leaves_are_zero(void **state)
{
    (void)state;
    for (uint32_t leaf = 0x1d; leaf <= 0x1e; leaf++) {
        struct cpuid_result r = guest(leaf, 0);
        assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
    }
}

static struct cpuid_result avx_only_cpuid(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid_result r = fake_cpuid(leaf, subleaf);
    if (leaf == 0xd && subleaf == 0)
        r.eax = (uint32_t)(XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_OPMASK);   /* AVX-512 in part */
    return r;
}

static void features_follow_the_offered_state(void **state)
{
    (void)state;
    struct cpuid_result r;
    cpuid_filter(7, 0, 0, 1, avx_only_cpuid, &r);
    assert_int_equal(r.ebx & AVX512F, 0);
    assert_true(r.ebx & (1u << 5));                 /* AVX2 stays */
    assert_int_equal(r.ecx & PKU, 0);
    assert_int_equal(r.edx & (1u << 23), 0);
    cpuid_filter(0xd, 0, 0, 1, avx_only_cpuid, &r);
    assert_int_equal(r.eax, XCR0_X87 | XCR0_SSE | XCR0_AVX);
    assert_int_equal(r.ecx, 832);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(xsave_leaf_lists_only_offered_components),
        cmocka_unit_test(xsave_subleaves_of_withheld_components_are_zero),
        cmocka_unit_test(xsave_subleaf_1_has_no_compaction_or_xfd),
        cmocka_unit_test(leaf_7_hides_amx_and_keeps_the_rest),
        cmocka_unit_test(amx_leaves_are_zero),
        cmocka_unit_test(features_follow_the_offered_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
