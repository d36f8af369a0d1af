/* The XSETBV rules of the SDM, each both ways, the offered set and XSAVE sizing, on a fake
 * CPU with every component up to AMX (as a Sapphire Rapids reports them, plus MPX). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/exit/xcr0_policy.h"

#define ALL_CPU (XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_MPX | XCR0_AVX512 | XCR0_PKRU | XCR0_AMX)
#define BASE    (XCR0_X87 | XCR0_SSE)
#define AVX     (BASE | XCR0_AVX)

static uint64_t fake_supported = ALL_CPU;

/* CPUID.(EAX=0DH,ECX=i): EAX size, EBX offset (standard format). */
static const struct { uint32_t size, offset; } layout[19] = {
    [2] = { 256, 576 }, [3] = { 64, 960 }, [4] = { 64, 1024 }, [5] = { 64, 1088 },
    [6] = { 512, 1152 }, [7] = { 1024, 1664 }, [9] = { 8, 2688 }, [17] = { 64, 2752 },
    [18] = { 8192, 2816 },
};

static struct cpuid_result fake_cpuid(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid_result r = { 0, 0, 0, 0 };
    if (leaf == 1)
        r.ecx = 1u << 26;                               /* XSAVE */
    else if (leaf == 0xd && subleaf == 0) {
        r.eax = (uint32_t)fake_supported;
        r.edx = (uint32_t)(fake_supported >> 32);
    } else if (leaf == 0xd && subleaf < 19) {
        r.eax = layout[subleaf].size;
        r.ebx = layout[subleaf].offset;
    }
    return r;
}

static uint64_t offered(void) { return xcr0_offered(xcr0_cpu_supported(fake_cpuid)); }

static void x87_must_stay_set(void **state)
{
    (void)state;
    assert_true(xcr0_value_valid(XCR0_X87, ALL_CPU));
    assert_false(xcr0_value_valid(0, ALL_CPU));
    assert_false(xcr0_value_valid(XCR0_SSE, ALL_CPU));
    assert_false(xcr0_value_valid(XCR0_SSE | XCR0_AVX, ALL_CPU));
}

static void avx_needs_sse(void **state)
{
    (void)state;
    assert_true(xcr0_value_valid(AVX, ALL_CPU));
    assert_false(xcr0_value_valid(XCR0_X87 | XCR0_AVX, ALL_CPU));
}

static void avx512_all_or_none_and_with_avx(void **state)
{
    (void)state;
    assert_true(xcr0_value_valid(AVX | XCR0_AVX512, ALL_CPU));
    assert_true(xcr0_value_valid(AVX, ALL_CPU));
    assert_false(xcr0_value_valid(BASE | XCR0_AVX512, ALL_CPU));            /* no AVX */
    assert_false(xcr0_value_valid(XCR0_X87 | XCR0_AVX512, ALL_CPU));
    for (uint64_t part = 1; part < 7; part++)                                /* each subset */
        assert_false(xcr0_value_valid(AVX | (part << 5), ALL_CPU));
}

static void mpx_both_or_neither(void **state)
{
    (void)state;
    assert_true(xcr0_value_valid(BASE | XCR0_MPX, ALL_CPU));
    assert_true(xcr0_value_valid(XCR0_X87 | XCR0_MPX, ALL_CPU));
    assert_false(xcr0_value_valid(BASE | XCR0_BNDREGS, ALL_CPU));
    assert_false(xcr0_value_valid(BASE | XCR0_BNDCSR, ALL_CPU));
}

static void amx_both_or_neither(void **state)
{
    (void)state;
    assert_true(xcr0_value_valid(AVX | XCR0_AMX, ALL_CPU));
    assert_false(xcr0_value_valid(AVX | XCR0_TILECFG, ALL_CPU));
    assert_false(xcr0_value_valid(AVX | XCR0_TILEDATA, ALL_CPU));
}

static void nothing_outside_what_is_allowed(void **state)
{
    (void)state;
    assert_true(xcr0_value_valid(AVX, AVX));
    assert_false(xcr0_value_valid(AVX, BASE));                  /* the CPU lacks AVX */
    assert_false(xcr0_value_valid(BASE | (1ull << 10), ALL_CPU));
    assert_false(xcr0_value_valid(BASE | (1ull << 63), ~(1ull << 63)));
    assert_false(xcr0_value_valid(BASE | (1ull << 32), ALL_CPU));
}

static void xsetbv_faults(void **state)
{
    (void)state;
    uint64_t o = offered();
    assert_int_equal(xsetbv_check(0, AVX, 0, true, o), XSETBV_OK);
    assert_int_equal(xsetbv_check(0, AVX, 0, false, o), XSETBV_UD);        /* CR4.OSXSAVE clear */
    assert_int_equal(xsetbv_check(0, AVX, 3, true, o), XSETBV_GP);         /* CPL 3 */
    assert_int_equal(xsetbv_check(0, AVX, 1, true, o), XSETBV_GP);
    assert_int_equal(xsetbv_check(1, XCR0_X87, 0, true, o), XSETBV_GP);    /* XCR1 is read-only */
    assert_int_equal(xsetbv_check(0x80000000u, XCR0_X87, 0, true, o), XSETBV_GP);
    assert_int_equal(xsetbv_check(0, XCR0_X87 | XCR0_AVX, 0, true, o), XSETBV_GP);
    /* AMX: valid to the CPU, but not offered */
    assert_int_equal(xsetbv_check(0, AVX | XCR0_AMX, 0, true, o), XSETBV_GP);
    assert_int_equal(xsetbv_check(0, o, 0, true, o), XSETBV_OK);
}

static void offered_set(void **state)
{
    (void)state;
    assert_int_equal(offered(), ALL_CPU & ~XCR0_AMX);
    assert_true(xcr0_value_valid(offered(), offered()));
    fake_supported = XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_BNDREGS;
    assert_int_equal(offered(), AVX);                            /* halves are left out */
    fake_supported = XCR0_X87 | XCR0_SSE | XCR0_AVX512;
    assert_int_equal(offered(), BASE);                           /* AVX-512 needs AVX */
    fake_supported = XCR0_X87 | XCR0_AVX;
    assert_int_equal(offered(), XCR0_X87);
    fake_supported = ALL_CPU | XCR0_APX | (1ull << 40);
    assert_int_equal(offered(), ALL_CPU & ~XCR0_AMX);
    fake_supported = ALL_CPU;
    assert_int_equal(xcr0_offered(0), 0);
}

static struct cpuid_result no_xsave(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid_result r = fake_cpuid(leaf, subleaf);
    if (leaf == 1)
        r.ecx = 0;
    return r;
}

static void no_xsave_no_xcr0(void **state)
{
    (void)state;
    assert_int_equal(xcr0_cpu_supported(no_xsave), 0);
}

static void area_size_follows_the_components(void **state)
{
    (void)state;
    assert_int_equal(xsave_area_size(BASE, fake_cpuid), 576);
    assert_int_equal(xsave_area_size(AVX, fake_cpuid), 832);
    assert_int_equal(xsave_area_size(AVX | XCR0_AVX512, fake_cpuid), 2688);
    assert_int_equal(xsave_area_size(offered(), fake_cpuid), 2752);     /* PKRU ends at 2696 */
    assert_int_equal(xsave_area_size(ALL_CPU, fake_cpuid), 11008);      /* AMX: above 4 KiB */
    assert_true(xsave_area_size(ALL_CPU, fake_cpuid) > 4096);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(x87_must_stay_set),
        cmocka_unit_test(avx_needs_sse),
        cmocka_unit_test(avx512_all_or_none_and_with_avx),
        cmocka_unit_test(mpx_both_or_neither),
        cmocka_unit_test(amx_both_or_neither),
        cmocka_unit_test(nothing_outside_what_is_allowed),
        cmocka_unit_test(xsetbv_faults),
        cmocka_unit_test(offered_set),
        cmocka_unit_test(no_xsave_no_xcr0),
        cmocka_unit_test(area_size_follows_the_components),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
