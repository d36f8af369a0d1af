/*
 * XSETBV with every XCR0 value the SDM refuses that this CPU can express: each must raise
 * #GP in the guest and leave XCR0 as it was, and the guest (and whatever shares its CPU)
 * must carry on.  Then a valid XCR0 with every state component offered, whose AVX (and
 * AVX-512) registers must survive the guest being descheduled for a while.
 *
 * XSETBV at CPL 3 must fault too: under Bochs it exits to the hypervisor before the CPU
 * checks the privilege level, so the hypervisor must check it (the test drops to ring 3
 * once, with user segments, a TSS and user pages of its own).
 *
 * Refused (SDM, XSETBV): CPL above 0; ECX other than 0; bit 0 clear; a bit CPUID.(EAX=0DH,ECX=0) does
 * not report; AVX (bit 2) without SSE (bit 1); AVX-512 (bits 5-7) not all or none, or
 * without AVX; MPX (bits 3 and 4) not both or neither; AMX (bits 17 and 18) not both or
 * neither.  Values naming a component the CPU lacks are refused as reserved bits.
 */
#include "guest/lib/descriptors.h"
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

/* ---- one XSETBV at CPL 3 ---------------------------------------------------------------- */

#define SEL_USER_DATA 0x23      /* GDT index 4, RPL 3 */
#define SEL_USER_CODE 0x2b      /* index 5 */
#define SEL_TSS       0x30      /* index 6 (two slots) */
#define VEC_BACK      0x81      /* ring 3 comes back to ring 0 through this gate */
#define PTE_US        (1ull << 2)

/* The asm that enters ring 3 at its next instruction on ring3_stack, the caller's RSP kept in
 * ring0_rsp (operand [saved]; RBX is clobbered), and the way back: INT VEC_BACK, whose
 * handler (back_to_ring0) resumes ring 0 at label with the vector seen in ring3_vector. */
#define RING3_ENTER                                                                        \
    "movq %%rsp, %[saved]\n"                                                               \
    "pushq %[ss]\n"                                                                        \
    "pushq %[usp]\n"                                                                       \
    "pushfq\n"                                                                             \
    "pushq %[cs]\n"                                                                        \
    "leaq 3f(%%rip), %%rbx\n"                                                              \
    "pushq %%rbx\n"                                                                        \
    "iretq\n"                                                                              \
    "3:\n"
#define RING3_LEAVE(label) "int %[back]\n.globl " label "\n" label ":\n"
#define RING3_OPERANDS                                                                     \
    [ss] "i"(SEL_USER_DATA), [cs] "i"(SEL_USER_CODE), [back] "i"(VEC_BACK),               \
    [usp] "r"((uint64_t)(uintptr_t)(ring3_stack + sizeof(ring3_stack)))

static struct tss64 tss __attribute__((aligned(16)));
static uint64_t gdt3[8] __attribute__((aligned(16)));
static uint8_t ring0_stack[8192] __attribute__((aligned(16)));
static uint8_t ring3_stack[4096] __attribute__((aligned(16)));
static uint64_t ring0_rsp;
static volatile uint64_t ring3_vector;
extern char ring3_back[];

extern char ring3_back_vmcall[];
static char *volatile ring3_return;

static void back_to_ring0(struct irq_frame *f)
{
    ring3_vector = f->r11;
    f->cs = 0x08;
    f->ss = 0x10;
    f->rsp = ring0_rsp;
    f->rip = (uint64_t)(uintptr_t)ring3_return;
}

/* User segments, a TSS for the way back, user-accessible pages and a ring-3 gate. */
static void prepare_ring3(void)
{
    struct table_ptr gdtr, idtr;
    __asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
    memcpy(gdt3, (const void *)(uintptr_t)gdtr.base, 4 * 8);
    gdt3[4] = 0x00cff2000000ffffull;                /* data, DPL 3 */
    gdt3[5] = 0x00affa000000ffffull;                /* 64-bit code, DPL 3 */
    gdt_tss_descriptor(&gdt3[6], &tss, sizeof(tss));
    tss.rsp[0] = (uint64_t)(uintptr_t)(ring0_stack + sizeof(ring0_stack));
    tss.iomap_base = sizeof(tss);
    gdtr.base = (uint64_t)(uintptr_t)gdt3;
    gdtr.limit = sizeof(gdt3) - 1;
    __asm__ volatile("lgdt %0; ltr %w1" : : "m"(gdtr), "r"(SEL_TSS) : "memory");
    uint8_t *gate = (uint8_t *)(uintptr_t)idtr.base + 16 * VEC_BACK;
    gate[5] = 0xee;                                 /* present, DPL 3, interrupt gate */
    irq_set_handler(VEC_BACK, back_to_ring0);
    uint64_t *pml4 = (uint64_t *)(uintptr_t)(read_cr3() & ~0xfffull);
    pml4[0] |= PTE_US;
    uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & 0x000ffffffffff000ull);
    for (unsigned i = 0; i < 4; i++) {
        pdpt[i] |= PTE_US;
        uint64_t *pd = (uint64_t *)(uintptr_t)(pdpt[i] & 0x000ffffffffff000ull);
        for (unsigned j = 0; j < 512; j++)
            if (pd[j] & 1)
                pd[j] |= PTE_US;
    }
    write_cr3(read_cr3());
}

/* XSETBV with a valid value at CPL 3: the vector it raised, or NO_FAULT. */
static int xsetbv_at_cpl3(uint64_t value)
{
    register uint64_t vec __asm__("r11") = (uint64_t)NO_FAULT;
    ring3_return = ring3_back;
    __asm__ volatile(RING3_ENTER
                     SAFE_INSN("xsetbv")
                     RING3_LEAVE("ring3_back")
                     : "+r"(vec), [saved] "=m"(ring0_rsp)
                     : "c"(0), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)),
                       RING3_OPERANDS
                     : "rbx", "memory", "cc");
    return (int)ring3_vector;
}

/* VMCALL at CPL 3 (HC_EXIT, which would end this partition): RAX after it. */
static int64_t vmcall_at_cpl3(uint64_t nr, uint64_t arg0)
{
    register uint64_t vec __asm__("r11") = (uint64_t)NO_FAULT;
    uint64_t rax = nr;
    ring3_return = ring3_back_vmcall;
    __asm__ volatile(RING3_ENTER
                     SAFE_INSN("vmcall")
                     RING3_LEAVE("ring3_back_vmcall")
                     : "+r"(vec), "+a"(rax), [saved] "=m"(ring0_rsp)
                     : "D"(arg0), "S"(0ull), "d"(0ull),
                       RING3_OPERANDS
                     : "rbx", "r10", "memory", "cc");
    return ring3_vector == (uint64_t)NO_FAULT ? (int64_t)rax : -1000 - (int64_t)ring3_vector;
}

static void hypercall_refused_at_cpl3(void)
{
    if (!atoll_present()) {
        report_skip("VMCALL at CPL 3 (not under Atoll)");
        return;
    }
    int64_t r = vmcall_at_cpl3(HC_EXIT, 0x55);
    report(r == -HC_EPERM, "VMCALL HC_EXIT at CPL 3: -HC_EPERM, the partition goes on (got %ld)",
           (long)r);
    r = vmcall_at_cpl3(HC_VERSION, 0);
    report(r == -HC_EPERM, "VMCALL HC_VERSION at CPL 3: -HC_EPERM (got %ld)", (long)r);
}

static void refused_at_cpl3(uint64_t value)
{
    uint64_t before = xgetbv0();
    prepare_ring3();
    int vec = xsetbv_at_cpl3(value);
    report(vec == VEC_GP && xgetbv0() == before,
           "XSETBV XCR0=%#lx at CPL 3: #GP, XCR0 stays %#lx (vector %d, XCR0 %#lx)",
           value, before, vec, xgetbv0());
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
    refused_at_cpl3(full);
    hypercall_refused_at_cpl3();
}
