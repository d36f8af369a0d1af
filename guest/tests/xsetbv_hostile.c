/*
 * XSETBV with every XCR0 value the SDM refuses that this CPU can express: each must raise
 * #GP in the guest and leave XCR0 as it was, and the guest (and whatever shares its CPU)
 * must carry on.  Then a valid XCR0 with every state component offered, whose AVX (and
 * AVX-512) registers must survive the guest being descheduled for a while.
 *
 * Refused (SDM, XSETBV): ECX other than 0; bit 0 clear; a bit CPUID.(EAX=0DH,ECX=0) does
 * not report; AVX (bit 2) without SSE (bit 1); AVX-512 (bits 5-7) not all or none, or
 * without AVX; MPX (bits 3 and 4) not both or neither; AMX (bits 17 and 18) not both or
 * neither.  Values naming a component the CPU lacks are refused as reserved bits.
 */
#include "guest/lib/guest.h"

DEFINE_TEST("xsetbv_hostile");

#define CR4_OSXSAVE (1ull << 18)
#define X87     (1ull << 0)
#define SSE     (1ull << 1)
#define AVX     (1ull << 2)
#define BNDREGS (1ull << 3)
#define BNDCSR  (1ull << 4)
#define OPMASK  (1ull << 5)
#define ZMM_HI  (1ull << 6)
#define HI_ZMM  (1ull << 7)
#define AVX512  (OPMASK | ZMM_HI | HI_ZMM)
#define TILECFG  (1ull << 17)
#define TILEDATA (1ull << 18)

static int xsetbv_safe(uint32_t index, uint64_t value)
{
    register uint64_t vec __asm__("r11") = (uint64_t)NO_FAULT;
    __asm__ volatile(SAFE_INSN("xsetbv") : "+r"(vec)
                     : "c"(index), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)) : "memory");
    return (int)vec;
}

static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* One refused value: #GP, and XCR0 unchanged. */
static void refused(const char *what, uint32_t index, uint64_t value)
{
    uint64_t before = xgetbv0();
    int vec = xsetbv_safe(index, value);
    report(vec == VEC_GP && xgetbv0() == before,
           "XSETBV XCR%u=%#lx (%s): #GP, XCR0 stays %#lx (vector %d, XCR0 %#lx)",
           index, value, what, before, vec, xgetbv0());
}

static void refused_if(bool expressible, const char *what, uint64_t value)
{
    if (expressible)
        refused(what, 0, value);
    else
        report_skip("XSETBV %s: the CPU has no such state component", what);
}

static uint64_t lowest_unsupported_bit(uint64_t supported)
{
    for (unsigned bit = 1; bit < 63; bit++)
        if (!(supported & (1ull << bit)))
            return 1ull << bit;
    return 1ull << 63;
}

static void bad_values(uint64_t supported)
{
    bool avx = supported & AVX, mpx = (supported & (BNDREGS | BNDCSR)) == (BNDREGS | BNDCSR);
    bool avx512 = (supported & AVX512) == AVX512 && avx;
    bool amx = (supported & (TILECFG | TILEDATA)) == (TILECFG | TILEDATA);
    refused("XCR1 (XINUSE is read-only)", 1, X87);
    refused("XCR 0x100", 0x100, X87);
    refused("x87 clear", 0, SSE);
    refused("zero", 0, 0);
    refused("a bit the CPU does not report", 0, X87 | SSE | lowest_unsupported_bit(supported));
    refused("bit 63", 0, X87 | SSE | (1ull << 63));
    refused_if(avx, "AVX without SSE", X87 | AVX);
    refused_if(avx512, "AVX-512 without AVX", X87 | SSE | AVX512);
    refused_if(avx512, "AVX-512 without SSE or AVX", X87 | AVX512);
    refused_if(avx512, "opmask alone", X87 | SSE | AVX | OPMASK);
    refused_if(avx512, "ZMM_Hi256 alone", X87 | SSE | AVX | ZMM_HI);
    refused_if(avx512, "Hi16_ZMM alone", X87 | SSE | AVX | HI_ZMM);
    refused_if(avx512, "AVX-512 without Hi16_ZMM", X87 | SSE | AVX | OPMASK | ZMM_HI);
    refused_if(avx512, "AVX-512 without opmask", X87 | SSE | AVX | ZMM_HI | HI_ZMM);
    refused_if(mpx, "BNDREGS without BNDCSR", X87 | SSE | BNDREGS);
    refused_if(mpx, "BNDCSR without BNDREGS", X87 | SSE | BNDCSR);
    refused_if(amx, "TILECFG without TILEDATA", X87 | SSE | AVX | TILECFG);
    refused_if(amx, "TILEDATA without TILECFG", X87 | SSE | AVX | TILEDATA);
}

/* The largest valid XCR0 this CPU offers. */
static uint64_t full_xcr0(uint64_t supported)
{
    uint64_t v = supported;
    if (!(v & SSE))
        v &= ~(AVX | AVX512);
    if (!(v & AVX) || (v & AVX512) != AVX512)
        v &= ~AVX512;
    if ((v & (BNDREGS | BNDCSR)) != (BNDREGS | BNDCSR))
        v &= ~(BNDREGS | BNDCSR);
    if ((v & (TILECFG | TILEDATA)) != (TILECFG | TILEDATA))
        v &= ~(TILECFG | TILEDATA);
    return v;
}

static bool all_ones(const uint8_t *p, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (p[i] != 0xff)
            return false;
    return true;
}

/* Vector registers set to all ones must read back so after other guests ran here. */
static void state_survives(uint64_t xcr0)
{
    static uint8_t ymm[32] __attribute__((aligned(64))), zmm[64] __attribute__((aligned(64)));
    bool with512 = (xcr0 & AVX512) == AVX512;
    if (!(xcr0 & AVX)) {
        report_skip("AVX state across a deschedule: no AVX");
        return;
    }
    __asm__ volatile("vpcmpeqd %%ymm7, %%ymm7, %%ymm7" ::: "memory");
    if (with512)
        __asm__ volatile("vpternlogd $0xff, %%zmm29, %%zmm29, %%zmm29" ::: "memory");
    udelay(50000);      /* other partitions on this CPU run meanwhile */
    __asm__ volatile("vmovdqu %%ymm7, %0" : "=m"(ymm));
    report(all_ones(ymm, sizeof(ymm)), "YMM7 kept across 50 ms of other guests");
    if (with512) {
        __asm__ volatile("vmovdqu64 %%zmm29, %0" : "=m"(zmm));
        report(all_ones(zmm, sizeof(zmm)), "ZMM29 kept across 50 ms of other guests");
    } else {
        report_skip("ZMM state across a deschedule: no AVX-512");
    }
}

void test_main(void)
{
    if (!(cpuid(1, 0).ecx & (1u << 26))) {
        report_skip("no XSAVE on this CPU");
        return;
    }
    write_cr4(read_cr4() | CR4_OSXSAVE);
    struct cpuid_regs d = cpuid(0xd, 0);
    uint64_t supported = ((uint64_t)d.edx << 32) | d.eax;
    printf("xsetbv_hostile: XCR0 may hold %#lx\n", supported);
    /* First, while the partitions beside it are still busy. */
    uint64_t full = full_xcr0(supported);
    report(xsetbv_safe(0, full) == NO_FAULT && xgetbv0() == full,
           "XSETBV %#lx (every component offered) accepted", full);
    state_survives(full);
    bad_values(supported);
    report(xsetbv_safe(0, X87 | SSE) == NO_FAULT && xgetbv0() == (X87 | SSE),
           "XSETBV x87|SSE accepted");
    bad_values(supported);
}
