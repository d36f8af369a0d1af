/*
 * Instructions the hypervisor emulates must behave as the CPU would:
 *  - string I/O: REP OUTSB prints a line on the UART, REP INSB reads fw_cfg's signature;
 *  - string MMIO: REP STOS/MOVS to and from device and unassigned pages, forwards and
 *    backwards (DF), one element and a count large enough to span many exits;
 *  - string operands that cross from one guest page to another mapped elsewhere, and SMAP
 *    on them (a CPL 0 read of a user page faults unless EFLAGS.AC is set);
 *  - read-modify-write on a device register (OR, AND, XOR, ADD, SUB) with the flags;
 *  - the other forms on device registers: ADC, SBB, BT* (bit offsets reaching other
 *    registers), XADD, CMPXCHG, CMPXCHG8B, SETcc, MOVBE, MOVNTI, shifts and rotates;
 *  - RSP as the register operand of an MMIO store;
 *  - EIP wraps at 4 GiB after an emulated instruction in 32-bit code;
 *  - single-step (TF=1) over CPUID, OUT, HLT and an MMIO store: one #DB, RIP after it;
 *  - STI and MOV SS blocking end after an emulated instruction (an interrupt made pending
 *    by the emulated store is taken before the next instruction);
 *  - RF in the RFLAGS pushed by an injected #GP (a reserved CR4 bit);
 *  - reads of a guest-physical address outside RAM and every device return all-ones.
 * Command line: `only WORD...` runs just the groups named (rep-io, string-mmio, rmw, forms,
 * page-cross, rip-wrap, rsp, single-step, blocking, rf, unassigned); nothing runs them all.
 */
#include <stdarg.h>
#include "guest/lib/guest.h"
#include "hv/lib/format.h"

DEFINE_TEST("emulate");

#define LAPIC_BASE      0xfee00000ul
#define UNASSIGNED      0xd0000000ul        /* no RAM, no device in Atoll or QEMU's pc */
#define RFLAGS_CF       (1ul << 0)
#define RFLAGS_ZF       (1ul << 6)
#define RFLAGS_SF       (1ul << 7)
#define RFLAGS_TF       (1ul << 8)
#define RFLAGS_OF       (1ul << 11)
#define RFLAGS_RF       (1ul << 16)
#define DR6_BS          (1ul << 14)
#define DR6_BD          (1ul << 13)
#define DR7_GD          (1ul << 13)
#define VEC_DB          1
#define VEC_IPI         0x42
#define VEC_TIMER       0x43

/* Where bare QEMU TCG departs from the hardware (unassigned reads give 0 there, a wakeup
 * interrupt beats HLT's single-step trap, the MOV SS shadow lasts longer), the check is
 * Atoll's alone: SKIP without it. */
static void report_atoll(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report_atoll(bool ok, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (atoll_present())
        report(ok, "%s", msg);
    else
        report_skip("%s (bare TCG differs from the hardware here)", msg);
}

static bool wanted(const char *group)
{
    return !cmdline_has("only") || cmdline_has(group);
}

static volatile uint32_t *lapic_reg(uint32_t reg)
{
    return (volatile uint32_t *)(LAPIC_BASE + reg);
}

/* ---- string I/O ----------------------------------------------------------------------- */

static void rep_io(void)
{
    static const char line[] = "emulate: this line came through REP OUTSB\n";
    const char *p = line;
    uint64_t n = sizeof(line) - 1;
    __asm__ volatile("cld; rep outsb" : "+S"(p), "+c"(n) : "d"(0x3f8) : "memory");
    report(n == 0 && p == line + sizeof(line) - 1, "REP OUTSB: RCX %lu, RSI advanced by %ld",
           n, (long)(p - line));

    char sig[8] = { 0 };
    char *d = sig;
    n = 4;
    outw(0x510, FWCFG_SIGNATURE);
    __asm__ volatile("cld; rep insb" : "+D"(d), "+c"(n) : "d"(0x511) : "memory");
    report(n == 0 && d == sig + 4 && !memcmp(sig, "QEMU", 4),
           "REP INSB read fw_cfg's signature '%s' (RCX %lu)", sig, n);

    /* A zero count under the address size: with 32-bit addresses (0x67) ECX counts, not
     * RCX, and nothing moves: fw_cfg's data stays at its first byte. */
    n = 0xffffffff00000000ull;
    outw(0x510, FWCFG_SIGNATURE);
    __asm__ volatile("cld; .byte 0x67; rep insb" : "+D"(d), "+c"(n) : "d"(0x511) : "memory");
    uint8_t first = inb(0x511);
    report(n == 0xffffffff00000000ull && d == sig + 4 && !sig[4] && first == 'Q',
           "REP INSB with ECX 0 (RCX %#lx) moved nothing; fw_cfg still gave '%c'", n, first);

    static const uint16_t words[2] = { FWCFG_SIGNATURE, FWCFG_SIGNATURE };
    const uint16_t *w = words;
    n = 1;
    __asm__ volatile("cld; rep outsw" : "+S"(w), "+c"(n) : "d"(0x510) : "memory");
    uint8_t b = inb(0x511);
    report(n == 0 && w == words + 1 && b == 'Q', "REP OUTSW selected fw_cfg's signature ('%c')", b);
}

/* ---- string MMIO ---------------------------------------------------------------------- */

static uint32_t buf32[1024];

static void string_mmio(void)
{
    /* Many exits' worth: the hypervisor must bound each exit and resume the rest. */
    uint64_t n = 100000;
    uintptr_t dst = UNASSIGNED;
    __asm__ volatile("cld; rep stosl" : "+D"(dst), "+c"(n) : "a"(0x12345678) : "memory");
    report(n == 0 && dst == UNASSIGNED + 400000, "REP STOSD of 100000 to unassigned space: RCX %lu, RDI +%lu",
           n, dst - UNASSIGNED);

    memset(buf32, 0, sizeof(buf32));
    uintptr_t src = UNASSIGNED;
    uint32_t *to = buf32;
    n = 1024;
    __asm__ volatile("cld; rep movsl" : "+S"(src), "+D"(to), "+c"(n) : : "memory");
    unsigned ones = 0;
    for (unsigned i = 0; i < 1024; i++)
        ones += buf32[i] == 0xffffffffu;
    report_atoll(n == 0 && ones == 1024 && to == buf32 + 1024,
           "REP MOVSD of 1024 from unassigned space to RAM: %u all-ones, RCX %lu", ones, n);

    memset(buf32, 0, sizeof(buf32));
    uint8_t *bytes = (uint8_t *)buf32;
    uint8_t *bto = bytes + 15;
    src = UNASSIGNED + 15;
    n = 16;
    __asm__ volatile("std; rep movsb; cld" : "+S"(src), "+D"(bto), "+c"(n) : : "memory");
    report_atoll(n == 0 && src == UNASSIGNED - 1 && (uintptr_t)bto == (uintptr_t)bytes - 1 && bytes[0] == 0xff &&
           bytes[15] == 0xff && bytes[16] == 0,
           "REP MOVSB backwards (DF=1): RSI and RDI decremented, 16 bytes copied");

    uint32_t version = *lapic_reg(APIC_VERSION), copy = 0;
    src = LAPIC_BASE + APIC_VERSION;
    to = &copy;
    n = 1;
    __asm__ volatile("cld; rep movsl" : "+S"(src), "+D"(to), "+c"(n) : : "memory");
    report(copy == version && n == 0, "REP MOVSD from the LAPIC version register: %#x", copy);

    uint32_t tpr = 0x30;
    const uint32_t *from = &tpr;
    dst = LAPIC_BASE + APIC_TPR;
    __asm__ volatile("cld; movsl" : "+S"(from), "+D"(dst) : : "memory");
    uint32_t got = *lapic_reg(APIC_TPR) & 0xff;
    dst = LAPIC_BASE + APIC_TPR;
    n = 1;
    __asm__ volatile("cld; rep stosl" : "+D"(dst), "+c"(n) : "a"(0) : "memory");
    uint32_t cleared = *lapic_reg(APIC_TPR) & 0xff;
    report(got == 0x30 && cleared == 0, "MOVSD and REP STOSD to the LAPIC TPR (%#x, then %#x)",
           got, cleared);

    uint32_t loaded;
    src = LAPIC_BASE + APIC_VERSION;
    __asm__ volatile("cld; lodsl" : "=a"(loaded), "+S"(src) : : "memory");
    report(loaded == version && src == LAPIC_BASE + APIC_VERSION + 4, "LODSD from the LAPIC");
}

/* Two consecutive linear 2 MiB pages at ALIAS that the guest's page tables map to distant
 * physical ones, ALIAS_FIRST then ALIAS_SECOND: an operand that crosses from one to the
 * other lands in two places that only a page walk per page finds. */
#define ALIAS           0x40000000ul
#define ALIAS_FIRST     0x800000ul
#define ALIAS_SECOND    0x400000ul
#define PAGE_2M         0x200000ul

static bool alias_pages(void)
{
    if (image_end() > ALIAS_SECOND || boot.ram_size < ALIAS_FIRST + PAGE_2M) {
        report_skip("page-crossing operands: no room (image end %#lx, RAM %lu KiB)", image_end(),
                    (unsigned long)(boot.ram_size >> 10));
        return false;
    }
    uint64_t *pml4 = (uint64_t *)(read_cr3() & ~0xffful);
    uint64_t *pdpt = (uint64_t *)(pml4[0] & ~0xffful);
    uint64_t *pd = (uint64_t *)(pdpt[0] & ~0xffful);        /* the four PDs are contiguous */
    pd[ALIAS / PAGE_2M] = ALIAS_FIRST | 0x83;
    pd[ALIAS / PAGE_2M + 1] = ALIAS_SECOND | 0x83;
    write_cr3(read_cr3());
    return true;
}

static volatile unsigned pfs;
static volatile uint64_t pf_cr2, pf_error, pf_rcx, pf_rdi, pf_rip;

static void on_pf(struct irq_frame *f)
{
    pfs++;
    pf_cr2 = read_cr2();
    pf_error = f->error;
    pf_rcx = f->rcx;
    pf_rdi = f->rdi;
    pf_rip = f->rip;
    f->rip += 2;                                    /* past the rep movsb */
}

/* REP MOVSB from the LAPIC into a buffer whose end runs into an unmapped page: the bytes
 * before it are copied, then a #PF (write, not present) at the first unmapped byte, on the
 * instruction, with RCX and RDI saying how far it got. */
static void page_fault_mid_string(void)
{
    uint64_t *pml4 = (uint64_t *)(read_cr3() & ~0xffful);
    uint64_t *pdpt = (uint64_t *)(pml4[0] & ~0xffful);
    uint64_t *pd = (uint64_t *)(pdpt[0] & ~0xffful);
    uint64_t saved = pd[ALIAS / PAGE_2M + 2];
    pd[ALIAS / PAGE_2M + 2] = 0;
    write_cr3(read_cr3());
    irq_set_handler(VEC_PF, on_pf);
    pfs = 0;
    uintptr_t src = LAPIC_BASE + APIC_VERSION, dst = ALIAS + 2 * PAGE_2M - 2, start;
    uint64_t n = 4;
    __asm__ volatile("leaq 1f(%%rip), %0\n1: cld; rep movsb"
                     : "=&r"(start), "+S"(src), "+D"(dst), "+c"(n) : : "memory");
    irq_set_handler(VEC_PF, 0);
    pd[ALIAS / PAGE_2M + 2] = saved;
    write_cr3(read_cr3());
    uint64_t fault_at = ALIAS + 2 * PAGE_2M;
    report(pfs == 1 && pf_cr2 == fault_at && (pf_error & 3) == 2 && pf_rcx == 2 &&
           pf_rdi == fault_at && pf_rip == start + 1,
           "REP MOVSB into an unmapped page: #PF at %#lx (CR2 %#lx, error %#lx), RCX %lu, RDI %#lx",
           pf_rip, pf_cr2, pf_error, pf_rcx, pf_rdi);
}

/* SMAP, where the CPU has it: REP OUTSB at CPL 0 from a user page (U/S at every level) is
 * refused with a #PF (P, a supervisor read) before a byte goes out, and runs with EFLAGS.AC
 * set (STAC).  The I/O exit comes before the operand is read: the check is the emulator's. */
#define CR4_SMAP        (1ul << 21)
#define CPUID_7_SMAP    (1u << 20)
#define PTE_US          4ul

static void smap_string_io(void)
{
    if (!(cpuid(7, 0).ebx & CPUID_7_SMAP)) {
        report_skip("SMAP: the CPU does not offer it");
        return;
    }
    uint64_t *pml4 = (uint64_t *)(read_cr3() & ~0xffful);
    uint64_t *pdpt = (uint64_t *)(pml4[0] & ~0xffful);
    uint64_t *pd = (uint64_t *)(pdpt[0] & ~0xffful);
    uint64_t *pdpte = &pdpt[ALIAS >> 30];          /* the four PDs are contiguous */
    uint64_t saved_pml4 = pml4[0], saved_pdpte = *pdpte, saved_pd = pd[ALIAS / PAGE_2M];
    pml4[0] |= PTE_US;
    *pdpte |= PTE_US;
    pd[ALIAS / PAGE_2M] = ALIAS_FIRST | 0x83 | PTE_US;
    static const char text[] = "emulate: REP OUTSB read this line from a user page with AC set\n";
    memcpy((void *)ALIAS_FIRST, text, sizeof(text) - 1);
    write_cr3(read_cr3());
    uint64_t cr4 = read_cr4();
    write_cr4(cr4 | CR4_SMAP);
    irq_set_handler(VEC_PF, on_pf);
    pfs = 0;
    const char *p = (const char *)ALIAS;
    uint64_t n = sizeof(text) - 1;
    uintptr_t start;
    __asm__ volatile("leaq 1f(%%rip), %0\n1: cld; rep outsb"
                     : "=&r"(start), "+S"(p), "+c"(n) : "d"(0x3f8) : "memory");
    irq_set_handler(VEC_PF, 0);
    report(pfs == 1 && pf_cr2 == ALIAS && pf_error == 1 && n == sizeof(text) - 1 &&
           pf_rip == start + 1,
           "SMAP: REP OUTSB at CPL 0 from a user page: #PF at %#lx (CR2 %#lx, error %#lx), RCX %lu",
           pf_rip, pf_cr2, pf_error, n);
    p = (const char *)ALIAS;
    n = sizeof(text) - 1;
    __asm__ volatile("stac; cld; rep outsb; clac" : "+S"(p), "+c"(n) : "d"(0x3f8) : "memory");
    report(n == 0, "SMAP: with EFLAGS.AC set (STAC) the same REP OUTSB runs");
    write_cr4(cr4);
    pml4[0] = saved_pml4;
    *pdpte = saved_pdpte;
    pd[ALIAS / PAGE_2M] = saved_pd;
    write_cr3(read_cr3());
}

static void page_crossing(void)
{
    if (!alias_pages())
        return;
    volatile uint8_t *first_end = (volatile uint8_t *)(ALIAS_FIRST + PAGE_2M);
    volatile uint8_t *second = (volatile uint8_t *)ALIAS_SECOND;
    static const char text[] = "emulate: REP OUTSB read this line across two guest pages\n";
    const unsigned before = 10;
    memcpy((void *)(first_end - before), text, before);
    memcpy((void *)second, text + before, sizeof(text) - 1 - before);
    const char *p = (const char *)(ALIAS + PAGE_2M - before);
    uint64_t n = sizeof(text) - 1;
    __asm__ volatile("cld; rep outsb" : "+S"(p), "+c"(n) : "d"(0x3f8) : "memory");
    report(n == 0, "REP OUTSB from a buffer crossing two guest pages mapped apart");

    uint32_t version = *lapic_reg(APIC_VERSION);
    memset((void *)(first_end - 4), 0, 4);
    memset((void *)second, 0, 4);
    uintptr_t src = LAPIC_BASE + APIC_VERSION;
    uintptr_t dst = ALIAS + PAGE_2M - 2;
    __asm__ volatile("cld; movsl" : "+S"(src), "+D"(dst) : : "memory");
    uint32_t got = first_end[-2] | first_end[-1] << 8 | (uint32_t)second[0] << 16 |
                   (uint32_t)second[1] << 24;
    report(got == version && first_end[-3] == 0 && second[2] == 0,
           "MOVSD from the LAPIC to a dword split across two guest pages (%#x)", got);
    page_fault_mid_string();
    smap_string_io();
}

/* ---- EIP wraps in 32-bit code ---------------------------------------------------------- */

#define WRAP_PAGE_PHYS  0x600000ul          /* RAM mapped at the top 2 MiB of the 4 GiB */
#define WRAP_PAGE       0xffe00000ul

/* CPUID at 0xfffffffe in a 32-bit code segment (compatibility mode): the next EIP is 0,
 * where a far return leads back to 64-bit code.  A RIP of 0x100000000 instead fails the
 * VM entry (RIP above 4 GiB outside 64-bit mode). */
static void eip_wraps(void)
{
    if (image_end() > WRAP_PAGE_PHYS || boot.ram_size < WRAP_PAGE_PHYS + PAGE_2M) {
        report_skip("EIP wrap: no room");
        return;
    }
    uint64_t *pml4 = (uint64_t *)(read_cr3() & ~0xffful);
    uint64_t *pdpt = (uint64_t *)(pml4[0] & ~0xffful);
    uint64_t *pd = (uint64_t *)(pdpt[0] & ~0xffful);
    uint64_t saved_pde = pd[WRAP_PAGE / PAGE_2M];
    pd[WRAP_PAGE / PAGE_2M] = WRAP_PAGE_PHYS | 0x83;
    write_cr3(read_cr3());
    volatile uint8_t *low = (volatile uint8_t *)0;
    uint8_t saved_low;
    __asm__ volatile("movb (%1), %0" : "=q"(saved_low) : "r"(low));
    __asm__ volatile("movb $0xcb, (%0)" : : "r"(low) : "memory");           /* lret */
    volatile uint8_t *top = (volatile uint8_t *)(WRAP_PAGE_PHYS + PAGE_2M - 2);
    top[0] = 0x0f, top[1] = 0xa2;                                          /* cpuid */
    static struct __attribute__((packed)) { uint32_t offset; uint16_t selector; } target = {
        0xfffffffeu, SEL_CODE32,
    };
    volatile unsigned returned = 0;
    bool interrupts = read_rflags() & (1ul << 9);
    cli();
    __asm__ volatile("leaq 1f(%%rip), %%rax\n"
                     "subq $8, %%rsp\n"
                     "movl %%eax, (%%rsp)\n"
                     "movl %2, 4(%%rsp)\n"
                     "xorl %%eax, %%eax\n"
                     "ljmpl *%1\n"
                     "1: movl $1, %0"
                     : "=m"(returned) : "m"(target), "i"(SEL_CODE64)
                     : "rax", "rbx", "rcx", "rdx", "memory");
    __asm__ volatile("movb %1, (%0)" : : "r"(low), "q"(saved_low) : "memory");
    pd[WRAP_PAGE / PAGE_2M] = saved_pde;
    write_cr3(read_cr3());
    if (interrupts)
        sti();
    report(returned == 1, "CPUID at EIP 0xfffffffe in 32-bit code: EIP wrapped to 0 and ran on");
}

/* ---- read-modify-write ---------------------------------------------------------------- */

#define RMW(insn, operand)                                                                  \
    ({                                                                                      \
        uint64_t flags_;                                                                    \
        __asm__ volatile(insn " %1, (%2); pushfq; popq %0"                                  \
                         : "=r"(flags_) : "ri"(operand), "r"(reg) : "memory", "cc");        \
        flags_;                                                                             \
    })

static void rmw(void)
{
    volatile uint32_t *reg = lapic_reg(APIC_TIMER_INIT);
    *lapic_reg(APIC_LVT_TIMER) = LVT_MASKED | VEC_TIMER;
    *reg = 0x0f0f0000;
    uint64_t fl = RMW("orl", 0xf0u);
    report(*reg == 0x0f0f00f0 && !(fl & (RFLAGS_ZF | RFLAGS_CF)), "OR to a device register (%#x)", *reg);
    fl = RMW("andl", 0x0f0000f0u);
    report(*reg == 0x0f0000f0 && !(fl & RFLAGS_ZF), "AND to a device register (%#x)", *reg);
    fl = RMW("xorl", 0xffffffffu);
    report(*reg == 0xf0ffff0f && (fl & RFLAGS_SF), "XOR to a device register (%#x, SF)", *reg);
    fl = RMW("addl", 0x0f0000f1u);
    report(*reg == 0 && (fl & RFLAGS_CF) && (fl & RFLAGS_ZF) && !(fl & RFLAGS_OF),
           "ADD to a device register wraps to 0 with CF and ZF (flags %#lx)", fl);
    fl = RMW("subl", 1u);
    report(*reg == 0xffffffff && (fl & RFLAGS_CF) && (fl & RFLAGS_SF) && !(fl & RFLAGS_ZF),
           "SUB to a device register borrows: CF and SF (flags %#lx)", fl);
    *reg = 0x7fffffff;
    uint32_t one = 1;
    fl = RMW("addl", one);
    report(*reg == 0x80000000 && (fl & RFLAGS_OF) && !(fl & RFLAGS_CF),
           "ADD from a register overflows: OF (flags %#lx)", fl);
    __asm__ volatile("incl (%0); notl (%0)" : : "r"(reg) : "memory", "cc");
    report(*reg == 0x7ffffffe, "INC then NOT of a device register (%#x)", *reg);
    uint32_t swap = 0x1234;
    __asm__ volatile("xchgl %0, (%1)" : "+r"(swap) : "r"(reg) : "memory");
    report(swap == 0x7ffffffe && *reg == 0x1234, "XCHG with a device register (%#x, %#x)", swap, *reg);
    *reg = 0;
}

/* ---- the other forms a driver may aim at a device register -------------------------------- */

#define IOAPIC_BASE     0xfec00000ul
#define HPET_T0_CMP     0xfed00108ul        /* timer 0's comparator: 64 bits, read back */

#define FLAGS_AFTER(insn, ...)                                                              \
    ({                                                                                      \
        uint64_t flags_;                                                                    \
        __asm__ volatile(insn "; pushfq; popq %0" : "=&r"(flags_) : __VA_ARGS__           \
                         : "memory", "cc");                                                 \
        flags_;                                                                             \
    })

/* ADC and SBB with CF in, BT* with immediates and register offsets reaching other LAPIC
 * registers (the bit string's unit 0x380 bytes past its base, and one before it), XADD,
 * CMPXCHG both ways, on the LAPIC timer's initial count; CMPXCHG8B on the HPET's timer 0
 * comparator; SETcc on the IOAPIC's IOREGSEL (8 bits); MOVBE, MOVNTI, shifts and rotates. */
static void forms(void)
{
    volatile uint32_t *reg = lapic_reg(APIC_TIMER_INIT);
    *lapic_reg(APIC_LVT_TIMER) = LVT_MASKED | VEC_TIMER;
    *reg = 0xfffffffe;
    uint64_t fl = FLAGS_AFTER("stc; adcl %1, (%2)", "r"(1u), "r"(reg));
    report(*reg == 0 && (fl & RFLAGS_CF) && (fl & RFLAGS_ZF),
           "ADC with CF in to a device register wraps to 0: CF and ZF (flags %#lx)", fl);
    *reg = 5;
    fl = FLAGS_AFTER("stc; sbbl %1, (%2)", "r"(5u), "r"(reg));
    report(*reg == 0xffffffff && (fl & RFLAGS_CF) && (fl & RFLAGS_SF),
           "SBB with CF in from a device register borrows: CF and SF (%#x)", *reg);

    *reg = 0;
    fl = FLAGS_AFTER("btsl $31, (%1); btcl $0, (%1); btrl $31, (%1)", "r"(reg));
    uint32_t after_imm = *reg;
    uint64_t fl2 = FLAGS_AFTER("btl $0, (%1)", "r"(reg));
    report(after_imm == 1 && (fl & RFLAGS_CF) && (fl2 & RFLAGS_CF),
           "BTS, BTC, BTR and BT with immediates on a device register (%#x)", after_imm);
    fl = FLAGS_AFTER("lock btsl %1, (%2)", "r"(0x380 * 8 + 7), "r"(lapic_reg(0)));
    uint32_t after_far = *reg;
    fl2 = FLAGS_AFTER("btrl %1, (%2)", "r"(-128), "r"(lapic_reg(0x390)));
    report(after_far == 0x81 && !(fl & RFLAGS_CF) && *reg == 0x80 && (fl2 & RFLAGS_CF),
           "BTS with a bit offset 0x380 bytes past its operand (%#x), BTR with one before (%#x)",
           after_far, *reg);
    fl = FLAGS_AFTER("btl %1, (%2)", "r"(0x380 * 8 + 7), "r"(lapic_reg(0)));
    report(fl & RFLAGS_CF, "BT with a register offset reads the bit of the register it reaches");

    uint32_t x = 23;
    *reg = 100;
    __asm__ volatile("lock xaddl %0, (%1)" : "+r"(x) : "r"(reg) : "memory", "cc");
    report(*reg == 123 && x == 100, "XADD with a device register (%#x, %#x)", *reg, x);
    uint32_t equal = 123, differs = 123;
    __asm__ volatile("lock cmpxchgl %2, (%3); pushfq; popq %1"
                     : "+a"(equal), "=&r"(fl) : "r"(0x66u), "r"(reg) : "memory", "cc");
    uint32_t swapped = *reg;
    __asm__ volatile("lock cmpxchgl %2, (%3); pushfq; popq %1"
                     : "+a"(differs), "=&r"(fl2) : "r"(0x77u), "r"(reg) : "memory", "cc");
    report(swapped == 0x66 && (fl & RFLAGS_ZF) && equal == 123 && !(fl2 & RFLAGS_ZF) &&
           differs == 0x66 && *reg == 0x66,
           "CMPXCHG with a device register: stored when equal, loaded when not (%#x)", differs);

    volatile uint64_t *cmp = (volatile uint64_t *)HPET_T0_CMP;
    *cmp = 0x123456789aull;
    fl = FLAGS_AFTER("lock cmpxchg8b (%5)", "a"(0x3456789au), "d"(0x12u), "b"(0xcdef0123u),
                     "c"(0xabu), "r"(cmp));
    report((fl & RFLAGS_ZF) && *cmp == 0xabcdef0123ull,
           "CMPXCHG8B with the HPET timer 0 comparator (%#lx)", *cmp);
    *cmp = ~0ull;

    volatile uint8_t *sel = (volatile uint8_t *)IOAPIC_BASE;
    *sel = 0x10;
    __asm__ volatile("xorl %%eax, %%eax; sete (%0)" : : "r"(sel) : "eax", "memory", "cc");
    uint8_t set = *sel;
    __asm__ volatile("xorl %%eax, %%eax; setne (%0)" : : "r"(sel) : "eax", "memory", "cc");
    report(set == 1 && *sel == 0, "SETE and SETNE to the IOAPIC's IOREGSEL (1, then %u)", *sel);

    if (cpuid(1, 0).ecx & (1u << 22)) {
        uint32_t loaded;
        *reg = 0x11223344;
        __asm__ volatile("movbel (%1), %0" : "=r"(loaded) : "r"(reg) : "memory");
        __asm__ volatile("movbel %0, (%1)" : : "r"(0x01020304u), "r"(reg) : "memory");
        report(loaded == 0x44332211 && *reg == 0x04030201,
               "MOVBE from and to a device register (%#x, %#x)", loaded, *reg);
    } else {
        report_skip("MOVBE: CPUID does not offer it");
    }
    __asm__ volatile("movnti %0, (%1)" : : "r"(0x5a5a5a5au), "r"(reg) : "memory");
    report(*reg == 0x5a5a5a5a, "MOVNTI to a device register (%#x)", *reg);

    *reg = 0x80000001;
    fl = FLAGS_AFTER("shll $1, (%1)", "r"(reg));
    bool shl_ok = *reg == 2 && (fl & RFLAGS_CF) && (fl & RFLAGS_OF);
    fl = FLAGS_AFTER("stc; rcll %%cl, (%2)", "c"(4u), "r"(reg));
    bool rcl_ok = *reg == 0x28 && !(fl & RFLAGS_CF);
    fl = FLAGS_AFTER("sarl $4, (%1)", "r"(reg));
    bool sar_ok = *reg == 2 && (fl & RFLAGS_CF);
    fl = FLAGS_AFTER("rorl $2, (%1)", "r"(reg));
    bool ror_ok = *reg == 0x80000000 && (fl & RFLAGS_CF);
    fl = FLAGS_AFTER("stc; shrl %%cl, (%2)", "c"(32u), "r"(reg));
    bool zero_ok = *reg == 0x80000000 && (fl & RFLAGS_CF);
    report(shl_ok && rcl_ok && sar_ok && ror_ok && zero_ok,
           "SHL, RCL, SAR, ROR of a device register, and SHR by a count that masks to 0 (%d%d%d%d%d)",
           shl_ok, rcl_ok, sar_ok, ror_ok, zero_ok);
    *reg = 0;
}

/* ---- RSP as the register operand -------------------------------------------------------- */

static void rsp_operand(void)
{
    volatile uint32_t *reg = lapic_reg(APIC_TIMER_INIT);
    *lapic_reg(APIC_LVT_TIMER) = LVT_MASKED | VEC_TIMER;
    uint64_t rsp;
    __asm__ volatile("movq %%rsp, %0; movl %%esp, (%1)" : "=&r"(rsp) : "r"(reg) : "memory");
    uint32_t got = *reg;
    *reg = 0;
    report(got == (uint32_t)rsp, "MOV of ESP to a device register stored %#x (ESP %#x)", got,
           (uint32_t)rsp);
}

/* ---- single-step ---------------------------------------------------------------------- */

static volatile unsigned db_count;
static volatile uint64_t db_rip, db_dr6;

static volatile uint64_t db_rcx;

static void on_db(struct irq_frame *f)
{
    uint64_t dr6;
    __asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
    if (db_count++ == 0) {
        db_rip = f->rip;
        db_dr6 = dr6;
        db_rcx = f->rcx;
    }
    f->rflags &= ~RFLAGS_TF;
    __asm__ volatile("mov %0, %%dr6" : : "r"(0xffff0ff0ul));
}

static volatile unsigned timer_ticks;

static void on_timer(struct irq_frame *f)
{
    timer_ticks++;
    lapic_eoi();
}

static void expect_step(const char *what, uint64_t after, bool atoll_only)
{
    bool ok = db_count == 1 && db_rip == after && (db_dr6 & DR6_BS);
    const char *fmt = "TF=1 over %s: %u #DB, at rip %#lx (want %#lx), DR6 %#lx";
    if (atoll_only)
        report_atoll(ok, fmt, what, db_count, db_rip, after, db_dr6);
    else
        report(ok, fmt, what, db_count, db_rip, after, db_dr6);
}

static void reset_db(void)
{
    db_count = 0;
    db_rip = db_dr6 = 0;
    __asm__ volatile("mov %0, %%dr6" : : "r"(0xffff0ff0ul));
}

#define SET_TF "pushfq; orq $0x100, (%%rsp); popfq\n"

static void single_step(void)
{
    irq_set_handler(VEC_DB, on_db);
    uint64_t after;
    uint32_t a = 0, b, c = 0, d;

    reset_db();
    __asm__ volatile(SET_TF "cpuid\n1: leaq 1b(%%rip), %4"
                     : "+a"(a), "=b"(b), "+c"(c), "=d"(d), "=r"(after) : : "memory");
    expect_step("CPUID", after, false);

    reset_db();
    __asm__ volatile(SET_TF "outb %%al, $0x80\n1: leaq 1b(%%rip), %0" : "=r"(after) : "a"(0) : "memory");
    expect_step("OUT", after, false);

    reset_db();
    volatile uint32_t *tpr = lapic_reg(APIC_TPR);
    __asm__ volatile(SET_TF "movl $0, (%1)\n1: leaq 1b(%%rip), %0" : "=r"(after) : "r"(tpr) : "memory");
    expect_step("an MMIO store", after, false);

    reset_db();
    uint32_t lo, hi;
    __asm__ volatile(SET_TF "rdmsr\n1: leaq 1b(%%rip), %2"
                     : "=a"(lo), "=d"(hi), "=r"(after) : "c"(0x1bu) : "memory");
    expect_step("RDMSR", after, false);

    /* A REP string instruction traps after each iteration, on itself until the last. */
    reset_db();
    static const char dots[3] = "...";
    const char *p = dots;
    uint64_t n = 3, at;
    __asm__ volatile(SET_TF "1: rep outsb\nleaq 1b(%%rip), %2"
                     : "+S"(p), "+c"(n), "=r"(at) : "d"(0x80) : "memory");
    report(db_count == 1 && db_rip == at && db_rcx == 2 && (db_dr6 & DR6_BS),
           "TF=1 over REP OUTSB: #DB after one iteration, on the instruction (rip %#lx, want %#lx, "
           "RCX %lu), then it ran to the end (RCX %lu)", db_rip, at, db_rcx, n);

    /* The CPU's own #DBs, which Atoll intercepts and reflects: a step over a plain
     * instruction, a data breakpoint (DR0, write, 4 bytes), and general detect (DR7.GD: a
     * MOV DR faults with DR6.BD, and the delivery clears GD, else the handler's own MOV DR6
     * would fault again). */
    reset_db();
    __asm__ volatile(SET_TF "nop\n1: leaq 1b(%%rip), %0" : "=r"(after) : : "memory");
    expect_step("NOP", after, false);

    reset_db();
    static volatile uint32_t watched;
    __asm__ volatile("mov %0, %%dr0" : : "r"((uint64_t)(uintptr_t)&watched));
    __asm__ volatile("mov %0, %%dr7" : : "r"(0x400ul | 1ul | (1ul << 16) | (3ul << 18)));
    __asm__ volatile("movl $7, (%1)\n1: leaq 1b(%%rip), %0" : "=r"(after) : "r"(&watched) : "memory");
    __asm__ volatile("mov %0, %%dr7" : : "r"(0x400ul));
    report(db_count == 1 && db_rip == after && (db_dr6 & 1),
           "a data breakpoint on a write: %u #DB, at rip %#lx (want %#lx), DR6 %#lx",
           db_count, db_rip, after, db_dr6);

    reset_db();
    uint64_t dr7_read;
    __asm__ volatile("mov %0, %%dr7" : : "r"(0x400ul | DR7_GD));
    __asm__ volatile("1: leaq 1b(%%rip), %0\nmov %%dr7, %1" : "=r"(after), "=r"(dr7_read) : : "memory");
    after += 7;                                     /* the MOV DR, past the LEA */
    __asm__ volatile("mov %0, %%dr7" : : "r"(0x400ul));
    if (db_count == 0)          /* QEMU's TCG CPU has no general detect; Bochs and CPUs do */
        printf("general detect: this CPU raised no #DB for a MOV DR with DR7.GD set\n");
    else
        report(db_count == 1 && db_rip == after && (db_dr6 & DR6_BD) && !(dr7_read & DR7_GD),
           "general detect: %u #DB on the MOV DR (rip %#lx, want %#lx), DR6 %#lx, GD cleared (DR7 %#lx)",
           db_count, db_rip, after, db_dr6, dr7_read);

    /* MOV SS holds the step's #DB until after the next instruction: still one #DB. */
    reset_db();
    uint16_t ss;
    __asm__ volatile("movw %%ss, %0" : "=r"(ss));
    a = 0;
    __asm__ volatile(SET_TF "movw %5, %%ss\ncpuid\n1: leaq 1b(%%rip), %4"
                     : "+a"(a), "=b"(b), "+c"(c), "=d"(d), "=r"(after) : "r"(ss) : "memory");
    expect_step("MOV SS then CPUID", after, false);

    /* HLT woken by the LAPIC timer.  The tick must come after the HLT: one taken between
     * STI and HLT (TF's POPF ends STI's shadow) leaves the HLT nothing to wake it, so the
     * one-shot is long (50 ms at 1 GHz) beside the few instructions in between, which a
     * loaded host running QEMU's vCPU thread late must still not outlast. */
    irq_set_handler(VEC_TIMER, on_timer);
    reset_db();
    timer_ticks = 0;
    lapic_timer_oneshot(VEC_TIMER, 50000000);
    __asm__ volatile("sti\n" SET_TF "hlt\n1: leaq 1b(%%rip), %0" : "=r"(after) : : "memory");
    uint64_t t0 = rdtsc();
    while (!timer_ticks && rdtsc() - t0 < tsc_hz())
        pause();
    cli();
    lapic_timer_stop();
    expect_step("HLT", after, true);
}

/* ---- interrupt blocking ----------------------------------------------------------------- */

static volatile unsigned ipis;

static void on_ipi(struct irq_frame *f)
{
    ipis++;
    lapic_eoi();
}

static void blocking(void)
{
    irq_set_handler(VEC_IPI, on_ipi);
    volatile uint32_t *icr = lapic_reg(APIC_ICR);
    uint32_t self_ipi = VEC_IPI | (1u << 14) | (1u << 18);     /* fixed, assert, to self */
    *lapic_reg(APIC_ICR_HIGH) = 0;

    cli();
    ipis = 0;
    __asm__ volatile("sti; movl %1, (%0); cli" : : "r"(icr), "r"(self_ipi) : "memory");
    unsigned got = ipis;
    sti();
    udelay(100);
    cli();
    report(got == 1, "STI; MMIO store (self-IPI); CLI: the IPI came before CLI (%u, then %u)",
           got, ipis);

    uint16_t ss;
    __asm__ volatile("movw %%ss, %0" : "=r"(ss));
    ipis = 0;
    sti();
    __asm__ volatile("movw %2, %%ss; movl %1, (%0); cli" : : "r"(icr), "r"(self_ipi), "r"(ss)
                     : "memory");
    got = ipis;
    sti();
    udelay(100);
    cli();
    report_atoll(got == 1, "MOV SS; MMIO store (self-IPI); CLI: the IPI came before CLI (%u, then %u)",
           got, ipis);

    ipis = 0;
    lapic_send_ipi(lapic_id(), VEC_IPI);
    __asm__ volatile("sti; hlt; cli" : : : "memory");
    report(ipis == 1, "STI; HLT with an IPI pending: taken after HLT (%u)", ipis);
}

/* ---- RF on an injected fault ------------------------------------------------------------ */

static volatile uint64_t gp_rflags;
static volatile unsigned gps, gp_skip;

static void on_gp(struct irq_frame *f)
{
    gps++;
    gp_rflags = f->rflags;
    f->rip += gp_skip;
}

/* Bare QEMU TCG ignores WRMSR to an MSR it lacks and loops on the CR4 write: Atoll only. */
static void rf_on_fault(void)
{
    if (!atoll_present()) {
        report_skip("RF on injected faults: checked under Atoll only");
        return;
    }
    irq_set_handler(VEC_GP, on_gp);
    gps = 0;
    gp_skip = 2;
    __asm__ volatile("wrmsr" : : "c"(0x12345u), "a"(0), "d"(0) : "memory");
    report(gps == 1 && (gp_rflags & RFLAGS_RF), "#GP for WRMSR to no MSR pushed RF=1 (RFLAGS %#lx)",
           gp_rflags);
    gps = 0;
    gp_skip = 3;
    uint64_t cr4 = read_cr4() | (1ul << 15);        /* reserved */
    __asm__ volatile(".byte 0x0f, 0x22, 0xe0" : : "a"(cr4) : "memory");   /* mov %rax, %cr4 */
    report(gps == 1 && (gp_rflags & RFLAGS_RF), "#GP for a reserved CR4 bit pushed RF=1 (RFLAGS %#lx)",
           gp_rflags);
    irq_set_handler(VEC_GP, 0);
}

/* ---- unassigned guest-physical addresses ------------------------------------------------ */

static void unassigned(void)
{
    volatile uint8_t *p8 = (volatile uint8_t *)(UNASSIGNED + 0x1000);
    volatile uint32_t *p32 = (volatile uint32_t *)(UNASSIGNED + 0x1000);
    volatile uint64_t *p64 = (volatile uint64_t *)(UNASSIGNED + 0x1000);
    report_atoll(*p8 == 0xff && *p32 == 0xffffffffu && *p64 == ~0ull,
           "reads of an unassigned address are all-ones (1, 4 and 8 bytes)");
    *p32 = 0x12345678;
    report_atoll(*p32 == 0xffffffffu, "a write there is dropped");
}

void test_main(void)
{
    lapic_enable(LAPIC_XAPIC);
    if (wanted("rep-io"))
        rep_io();
    if (wanted("string-mmio"))
        string_mmio();
    if (wanted("page-cross"))
        page_crossing();
    if (wanted("rip-wrap"))
        eip_wraps();
    if (wanted("rmw"))
        rmw();
    if (wanted("forms"))
        forms();
    if (wanted("rsp"))
        rsp_operand();
    if (wanted("single-step"))
        single_step();
    if (wanted("blocking"))
        blocking();
    if (wanted("rf"))
        rf_on_fault();
    if (wanted("unassigned"))
        unassigned();
}
