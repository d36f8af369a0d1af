/*
 * Instructions a guest could turn against the hypervisor, and instruction bytes that change
 * under an intercept:
 * - every SVM instruction (VMRUN, VMLOAD, VMSAVE, STGI, CLGI, SKINIT, INVLPGA with another
 *   ASID) gets #UD: no nested virtualization, and INVLPGA would flush another partition's
 *   or the host's translations; CPUID does not offer SVM or SKINIT;
 * - RDTSCP runs where CPUID offers it (with the TSC_AUX the guest wrote) and is #UD where not;
 * - a fetch from a page that is not mapped: #PF with CR2 there and the fetch's error code
 *   (I/D where EFER.NXE is on);
 * - CPUID through a stale translation of a page unmapped since (no INVLPG), whole or with
 *   its second byte on the unmapped page: the CPU may run it (the translation is cached),
 *   then maybe fault on the RET after it, or fault on it; a hypervisor that must read the
 *   bytes (SVM without NRIPS) finds them unmapped and gives the guest that same #PF on
 *   CPUID, never ends the partition;
 * - MOV to CR4 through a stale translation of a page now mapped to MOV from CR0: the CPU
 *   may run either; a hypervisor that reads the bytes (SVM without decode assists) finds
 *   them disagreeing with the exit and gives #UD;
 * - LMSW from memory loads the MSW there, and gets #PF (CR2, error 0) where it is not mapped;
 * - OUTSW and INSW of a word across into an unmapped page get #PF with CR2 that page's
 *   first byte (the emulator checks both pages before it touches either, and INS its
 *   destination before it reads the port).
 * Each stale case prints which of the outcomes it saw; the scenarios say which their CPU
 * allows.
 */
#include "guest/lib/guest.h"

DEFINE_TEST("hostile_insn");

#define FAULT_VEC register uint64_t vec __asm__("r11") = (uint64_t)NO_FAULT

#define MSR_TSC_AUX 0xc0000103u
#define EFER_NXE    (1ull << 11)

/* ---- SVM instructions ----------------------------------------------------------------- */

static uint64_t scratch[512] __attribute__((aligned(4096)));

#define SVM_INSN_FAULT(name, bytes)                                                       \
    static int name(void)                                                                 \
    {                                                                                     \
        FAULT_VEC;                                                                        \
        __asm__ volatile(SAFE_INSN(".byte " bytes)                                        \
                         : "+r"(vec) : "a"((uintptr_t)scratch), "c"(7u) : "memory");      \
        return (int)vec;                                                                  \
    }
SVM_INSN_FAULT(vmrun_fault, "0x0f, 0x01, 0xd8")
SVM_INSN_FAULT(vmload_fault, "0x0f, 0x01, 0xda")
SVM_INSN_FAULT(vmsave_fault, "0x0f, 0x01, 0xdb")
SVM_INSN_FAULT(stgi_fault, "0x0f, 0x01, 0xdc")
SVM_INSN_FAULT(clgi_fault, "0x0f, 0x01, 0xdd")
SVM_INSN_FAULT(skinit_fault, "0x0f, 0x01, 0xde")
SVM_INSN_FAULT(invlpga_fault, "0x0f, 0x01, 0xdf")      /* RAX: an address, ECX: ASID 7 */

static void svm_instructions(bool atoll)
{
    static const struct { const char *name; int (*run)(void); } cases[] = {
        { "VMRUN", vmrun_fault }, { "VMLOAD", vmload_fault }, { "VMSAVE", vmsave_fault },
        { "STGI", stgi_fault }, { "CLGI", clgi_fault }, { "SKINIT", skinit_fault },
        { "INVLPGA of ASID 7", invlpga_fault },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = cases[i].run();
        report(got == VEC_UD, "%s: #UD (got %d)", cases[i].name, got);
    }
    if (!atoll) {
        report_skip("CPUID hides SVM (not under Atoll)");
        return;
    }
    uint32_t max_ext = cpuid(0x80000000u, 0).eax;
    uint32_t ecx = max_ext >= 0x80000001u ? cpuid(0x80000001u, 0).ecx : 0;
    struct cpuid_regs svm = { 0, 0, 0, 0 };
    if (max_ext >= 0x8000000au)
        svm = cpuid(0x8000000au, 0);
    report(!(ecx & (1u << 2)) && !(ecx & (1u << 12)) && !(svm.eax | svm.ebx | svm.ecx | svm.edx),
           "CPUID offers no SVM, no SKINIT, and leaf 0x8000000a is zero (80000001 ECX %#x)", ecx);
}

static void rdtscp_as_offered(void)
{
    bool offered = cpuid(0x80000000u, 0).eax >= 0x80000001u &&
                   (cpuid(0x80000001u, 0).edx & (1u << 27));
    if (offered && wrmsr_safe(MSR_TSC_AUX, 0x1234) != NO_FAULT) {
        report(false, "RDTSCP offered, but writing TSC_AUX faulted");
        return;
    }
    FAULT_VEC;
    uint32_t lo = 0, hi = 0, aux = 0;
    __asm__ volatile(SAFE_INSN("rdtscp") : "+r"(vec), "=a"(lo), "=d"(hi), "=c"(aux) : : "memory");
    if (offered)
        report(vec == (uint64_t)NO_FAULT && aux == 0x1234,
               "RDTSCP offered by CPUID: runs, ECX is the TSC_AUX written (%#x, fault %d)", aux,
               (int)vec);
    else
        report(vec == VEC_UD, "RDTSCP not offered by CPUID: #UD (got %d)", (int)vec);
}

/* ---- fetches through stale and missing translations ----------------------------------- */

/* Linear 2 MiB pages at ALIAS mapped by the guest to physical CODE_A or CODE_B (its identity
 * map covers both too, for writing the code). */
#define ALIAS       0x40000000ul
#define PAGE_2M     0x200000ul
#define CODE_A      0x1000000ul
#define CODE_B      0x1400000ul
#define PDE_2M      0x83ull             /* present, writable, 2 MiB */

static uint64_t *pd_of_alias(void)
{
    uint64_t *pml4 = (uint64_t *)(read_cr3() & ~0xffful);
    uint64_t *pdpt = (uint64_t *)(pml4[0] & ~0xffful);
    return (uint64_t *)(pdpt[0] & ~0xffful) + ALIAS / PAGE_2M;    /* the PDs are contiguous */
}

static void invlpg(uintptr_t linear)
{
    __asm__ volatile("invlpg (%0)" : : "r"(linear) : "memory");
}

static volatile unsigned faults;
static volatile uint64_t fault_vector, fault_rip, fault_cr2, fault_error;
static volatile uint64_t *restore_pde, restore_value;
static volatile uintptr_t restore_linear;

/* #PF: noted, then the page mapped again so that the instruction runs when retried. */
static void on_pf(struct irq_frame *f)
{
    faults++;
    fault_vector = f->vector;
    fault_rip = f->rip;
    fault_cr2 = read_cr2();
    fault_error = f->error;
    if (restore_pde) {
        *restore_pde = restore_value;
        invlpg(restore_linear);
    } else {
        report_fatal("#PF at %#lx (CR2 %#lx) with nothing to map", f->rip, read_cr2());
    }
}

/* #UD on the 3-byte MOV CR: noted and stepped over. */
static void on_ud(struct irq_frame *f)
{
    faults++;
    fault_vector = f->vector;
    fault_rip = f->rip;
    f->rip += 3;
}

static void call_at(uintptr_t linear)
{
    uint32_t a = 0, b = 0, c = 0, d = 0;
    __asm__ volatile("call *%4" : "+a"(a), "+b"(b), "+c"(c), "+d"(d) : "r"(linear) : "memory");
}

static uint64_t call_at_rax(uintptr_t linear, uint64_t rax)
{
    __asm__ volatile("call *%1" : "+a"(rax) : "r"(linear) : "memory");
    return rax;
}

static void fault_watch(uint64_t *pde, uint64_t value, uintptr_t linear)
{
    faults = 0;
    fault_vector = fault_rip = fault_cr2 = fault_error = 0;
    restore_pde = pde;
    restore_value = value;
    restore_linear = linear;
}

static const char *nx_name(bool nx) { return nx ? "EFER.NXE=1" : "EFER.NXE=0"; }

/* A fetch from a page never mapped: the CPU's own #PF, the reference for the others. */
static void fetch_unmapped(uint64_t *pd, bool nx)
{
    uintptr_t at = ALIAS + 2 * PAGE_2M + 0x3000;
    uint8_t *code = (uint8_t *)(CODE_A + 0x3000);
    code[0] = 0xc3;                                 /* ret */
    pd[2] = 0;
    invlpg(at);
    fault_watch(&pd[2], CODE_A | PDE_2M, at);
    call_at(at);
    uint32_t want = nx ? 0x10 : 0;
    report(faults == 1 && fault_cr2 == at && fault_rip == at && fault_error == want,
           "%s: a fetch from an unmapped page: #PF, CR2 %#lx, error %#lx (want %#x)",
           nx_name(nx), fault_cr2, fault_error, want);
    pd[2] = 0;
    invlpg(at);
}

/* CPUID at `at` (its bytes at `bytes`, its second byte maybe on the next 2 MiB page), run
 * once, then its page table entry `cleared` zeroed without INVLPG and run again. */
static void stale_cpuid(uint64_t *pd, bool nx, const char *what, uintptr_t at, unsigned cleared,
                        uintptr_t fault_at)
{
    uint64_t saved = pd[cleared];
    struct cpuid_regs want = cpuid(0, 0);
    call_at(at);                                    /* the translations are cached */
    pd[cleared] = 0;
    fault_watch(&pd[cleared], saved, fault_at);
    uint32_t a = 0, b = 0, c = 0, d = 0;
    __asm__ volatile("call *%4" : "+a"(a), "+b"(b), "+c"(c), "+d"(d) : "r"(at) : "memory");
    uint32_t error = nx ? 0x10 : 0;
    uintptr_t ret = at + 2;                         /* the RET after it, on the same page */
    bool ran = a == want.eax && b == want.ebx && c == want.ecx && d == want.edx;
    if (faults == 0)
        report(ran, "%s: CPUID %s through a stale translation: ran (the CPU's cached "
               "translation)", nx_name(nx), what);
    else if (fault_rip == ret)
        report(faults == 1 && ran && fault_cr2 == ret && fault_error == error,
               "%s: CPUID %s through a stale translation: ran, then the RET after it got "
               "#PF, CR2 %#lx, error %#lx (want %#x)", nx_name(nx), what, fault_cr2,
               fault_error, error);
    else
        report(faults == 1 && ran && fault_rip == at && fault_cr2 == fault_at &&
               fault_error == error,
               "%s: CPUID %s through a stale translation: #PF at %#lx, CR2 %#lx, error %#lx "
               "(want %#lx, %#x), then ran", nx_name(nx), what, fault_rip, fault_cr2,
               fault_error, fault_at, error);
    pd[cleared] = saved;
    invlpg(fault_at);
}

#define STALE_TRIES 8

/* MOV to CR4 at `at` through a stale translation of a page now holding MOV from CR0. */
static void stale_mov_cr(uint64_t *pd)
{
    uintptr_t at = ALIAS + 0x2000;
    static const uint8_t mov_to_cr4[] = { 0x0f, 0x22, 0xe0, 0xc3 };    /* mov %rax,%cr4; ret */
    static const uint8_t mov_from_cr0[] = { 0x0f, 0x20, 0xc0, 0xc3 };  /* mov %cr0,%rax; ret */
    memcpy((void *)(CODE_A + 0x2000), mov_to_cr4, sizeof(mov_to_cr4));
    memcpy((void *)(CODE_B + 0x2000), mov_from_cr0, sizeof(mov_from_cr0));
    uint64_t cr0 = read_cr0(), cr4 = read_cr4();
    irq_set_handler(VEC_UD, on_ud);
    unsigned tries = 0;
    bool old = false, new = false, ud = false, bad = false;
    for (; tries < STALE_TRIES && !old && !ud && !bad; tries++) {
        pd[0] = CODE_A | PDE_2M;
        invlpg(at);
        call_at_rax(at, cr4);                       /* cached: MOV to CR4 */
        pd[0] = CODE_B | PDE_2M;                    /* no INVLPG */
        fault_watch(NULL, 0, 0);
        uint64_t rax = call_at_rax(at, cr4);
        if (faults)
            ud = faults == 1 && fault_vector == VEC_UD && fault_rip == at && rax == cr4;
        else if (rax == cr0)
            new = true;
        else
            old = rax == cr4;
        bad |= faults ? !ud : !(old || rax == cr0);
        bad |= read_cr4() != cr4;
    }
    irq_set_handler(VEC_UD, 0);
    pd[0] = CODE_A | PDE_2M;
    invlpg(at);
    if (ud)
        report(!bad, "MOV to CR4 through a stale translation to MOV from CR0: #UD at %#lx, "
               "CR4 unchanged", fault_rip);
    else if (old)
        report(!bad, "MOV to CR4 through a stale translation to MOV from CR0: the cached MOV to "
               "CR4 ran, CR4 unchanged");
    else
        report(!bad && new, "MOV to CR4 through a stale translation to MOV from CR0: the new "
               "bytes ran each of %u times (the translation was never stale)", tries);
}

/* LMSW from memory: the MSW it loads (here CR0's own), and #PF for an operand not mapped. */
static void lmsw_from_memory(void)
{
    uint64_t cr0 = read_cr0();
    static volatile uint16_t msw;
    msw = (uint16_t)cr0;
    FAULT_VEC;
    __asm__ volatile(SAFE_INSN("lmsw (%1)") : "+r"(vec) : "r"(&msw) : "memory");
    report(vec == (uint64_t)NO_FAULT && read_cr0() == cr0,
           "LMSW from memory of CR0's own MSW: CR0 unchanged (fault %d)", (int)vec);
    uintptr_t unmapped = ALIAS + 3 * PAGE_2M + 0x10;
    uint64_t *pd = pd_of_alias();
    pd[3] = 0;
    invlpg(unmapped);
    irq_set_handler(VEC_PF, on_pf);
    fault_watch(&pd[3], CODE_A | PDE_2M, unmapped);
    *(volatile uint16_t *)(CODE_A + 0x10) = (uint16_t)cr0;
    uintptr_t at;
    __asm__ volatile("leaq 1f(%%rip), %0\n1: lmsw (%1)" : "=&r"(at) : "r"(unmapped) : "memory");
    irq_set_handler(VEC_PF, 0);
    report(faults == 1 && fault_rip == at && fault_cr2 == unmapped && fault_error == 0 &&
           read_cr0() == cr0,
           "LMSW from an unmapped page: #PF at the LMSW, CR2 %#lx, error %#lx, then ran",
           fault_cr2, fault_error);
    pd[3] = 0;
    invlpg(unmapped);
}

/* OUTSW and INSW whose word straddles into a page that is not mapped (each string I/O is
 * emulated): #PF with CR2 the first byte of that page, not the word's, as the CPU gives;
 * retried once the page is mapped, they complete. */
#define SCRATCH_PORT 0x84               /* nothing there: writes dropped, reads all-ones */

static void string_io_across_pages(void)
{
    uint64_t *pd = pd_of_alias();
    uintptr_t edge = ALIAS + 5 * PAGE_2M;           /* pd[4] mapped, pd[5] not */
    pd[4] = CODE_A | PDE_2M;
    pd[5] = 0;
    write_cr3(read_cr3());
    irq_set_handler(VEC_PF, on_pf);
    fault_watch(&pd[5], CODE_B | PDE_2M, edge);
    uintptr_t at, src = edge - 1;
    __asm__ volatile("leaq 1f(%%rip), %0\n1: outsw" : "=&r"(at), "+S"(src)
                     : "d"(SCRATCH_PORT) : "memory");
    report(faults == 1 && fault_rip == at && fault_cr2 == edge && fault_error == 0 &&
           src == edge + 1,
           "OUTSW of a word across into an unmapped page: #PF, CR2 %#lx, error %#lx, then ran",
           fault_cr2, fault_error);
    pd[5] = 0;
    invlpg(edge);
    *(volatile uint8_t *)(CODE_A + PAGE_2M - 1) = 0;
    *(volatile uint8_t *)CODE_B = 0;
    fault_watch(&pd[5], CODE_B | PDE_2M, edge);
    uintptr_t dst = edge - 1;
    __asm__ volatile("leaq 1f(%%rip), %0\n1: insw" : "=&r"(at), "+D"(dst)
                     : "d"(SCRATCH_PORT) : "memory");
    report(faults == 1 && fault_rip == at && fault_cr2 == edge && fault_error == 2 &&
           dst == edge + 1 && *(volatile uint8_t *)(CODE_A + PAGE_2M - 1) == 0xff &&
           *(volatile uint8_t *)CODE_B == 0xff,
           "INSW of a word across into an unmapped page: #PF, CR2 %#lx, error %#lx, then ran",
           fault_cr2, fault_error);
    irq_set_handler(VEC_PF, 0);
    pd[4] = pd[5] = 0;
    write_cr3(read_cr3());
}

static void stale_translations(void)
{
    if (image_end() > CODE_A || boot.ram_size < CODE_B + PAGE_2M) {
        report_skip("fetches through stale translations: no room (image end %#lx, RAM %lu KiB)",
                    image_end(), (unsigned long)(boot.ram_size >> 10));
        return;
    }
    uint64_t *pd = pd_of_alias();
    static const uint8_t cpuid_ret[] = { 0x0f, 0xa2, 0xc3 };
    memcpy((void *)(CODE_A + 0x1000), cpuid_ret, sizeof(cpuid_ret));
    *(uint8_t *)(CODE_A + PAGE_2M - 1) = 0x0f;      /* CPUID across ALIAS + 2 MiB */
    memcpy((void *)CODE_B, cpuid_ret + 1, 2);
    pd[0] = CODE_A | PDE_2M;
    pd[1] = CODE_B | PDE_2M;
    write_cr3(read_cr3());
    irq_set_handler(VEC_PF, on_pf);
    uint64_t efer = rdmsr(MSR_EFER);
    for (int nx = 0; nx < 2; nx++) {
        wrmsr(MSR_EFER, nx ? efer | EFER_NXE : efer & ~EFER_NXE);
        fetch_unmapped(pd, nx);
        stale_cpuid(pd, nx, "on a page unmapped since", ALIAS + 0x1000, 0, ALIAS + 0x1000);
        stale_cpuid(pd, nx, "whose second byte is on a page unmapped since",
                    ALIAS + PAGE_2M - 1, 1, ALIAS + PAGE_2M);
    }
    wrmsr(MSR_EFER, efer);
    irq_set_handler(VEC_PF, 0);
    stale_mov_cr(pd);
    lmsw_from_memory();
    string_io_across_pages();
    pd[0] = pd[1] = 0;
    write_cr3(read_cr3());
}

void test_main(void)
{
    bool atoll = atoll_present();
    printf("hostile_insn: %s\n", atoll ? "under Atoll" : "no Atoll underneath");
    svm_instructions(atoll);
    rdtscp_as_offered();
    stale_translations();
}
