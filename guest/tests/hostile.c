/*
 * A hostile guest: junk hypercalls, wild MSR reads and writes, IN/OUT on every port, bad
 * CR0/CR4/CR3 values, VMX, SMX and other instructions it does not have, and at last a
 * triple fault (an empty IDT and a fault).  Whatever it does, only this partition may
 * suffer.  Its own survival is checked along the way; the result line comes before the
 * triple fault, which the scenario expects the hypervisor to report.  `no-triple-fault` on the command line ends it through the exit port instead;
 * `check-cr` runs the CR checks without Atoll too (on a faithful CPU model such as Bochs);
 * `no-ports` leaves the port sweep out (bare Bochs panics on junk in its own device models).
 */
#include "guest/lib/guest.h"

DEFINE_TEST("hostile");

#define JUNK_HYPERCALLS 3000
#define JUNK_MSRS       4096
#define SEED            0x686f7374696c65ull /* "hostile" */

static struct rng rng = { SEED };

/* ---- hypercalls ------------------------------------------------------------------------ */

static bool known_error(int64_t r)
{
    return r == -HC_EPERM || r == -HC_ENOENT || r == -HC_EFAULT || r == -HC_EINVAL ||
           r == -HC_ENOSYS;
}

static uint64_t junk_number(void)
{
    uint64_t n = rng_next(&rng);
    n = (n & 1) ? n >> 1 : (n >> 1) % 0x20; /* half wild, half near the real ones */
    return n == HC_EXIT ? HC_VERSION : n;
}

static void junk_hypercalls(void)
{
    if (!atoll_present()) {
        report_skip("junk hypercalls (not under Atoll: VMCALL is #UD)");
        return;
    }
    unsigned faults = 0, bad = 0, enosys = 0;
    for (int i = 0; i < JUNK_HYPERCALLS; i++) {
        uint64_t nr = junk_number(), a[4];
        for (int k = 0; k < 4; k++)
            a[k] = rng_next(&rng);
        if (nr == HC_CONSOLE_WRITE)
            a[0] |= 1ull << 63; /* never a real buffer: junk must not reach the console */
        int fault;
        int64_t r = hypercall_safe(nr, a[0], a[1], a[2], a[3], &fault);
        faults += fault != NO_FAULT;
        enosys += r == -HC_ENOSYS;
        bool unknown = nr > HC_CHANNEL_REVOKE || (nr > HC_TIME_NS && nr < HC_CHANNEL_GRANT);
        bad += unknown ? r != -HC_ENOSYS : (r < 0 && !known_error(r));
    }
    report(faults == 0, "%d junk hypercalls: none faulted (%u did)", JUNK_HYPERCALLS, faults);
    report(bad == 0, "junk hypercalls: every result documented (%u were not, %u -HC_ENOSYS)",
           bad, enosys);
}

/* ---- MSRs ------------------------------------------------------------------------------ */

/* Writing these would only hurt this guest (paging, caching, its LAPIC), not test Atoll. */
static bool self_harming_msr(uint32_t msr)
{
    return msr == MSR_APIC_BASE || msr == MSR_EFER || msr == MSR_PAT || msr == 0xfe ||
           (msr >= 0x200 && msr <= 0x2ff) || (msr >= 0x800 && msr <= 0x8ff) ||
           msr == 0xc0000100 || msr == 0xc0000101;
}

static uint32_t junk_msr(void)
{
    static const uint32_t bases[] = { 0x0, 0xc0000000u, 0xc0010000u, 0x40000000u };
    uint64_t r = rng_next(&rng);
    if ((r & 7) == 0)
        return (uint32_t)(r >> 32);
    return bases[(r >> 3) & 3] + (uint32_t)((r >> 8) & 0x1fff);
}

static void wild_msrs(void)
{
    unsigned read_gp = 0, write_gp = 0, written = 0, other = 0;
    uint64_t cr0 = read_cr0(), cr4 = read_cr4(), efer = rdmsr(MSR_EFER);
    for (int i = 0; i < JUNK_MSRS; i++) {
        uint32_t msr = junk_msr();
        uint64_t old = 0;
        int rf = rdmsr_safe(msr, &old);
        read_gp += rf == VEC_GP;
        other += rf != VEC_GP && rf != NO_FAULT;
        if (self_harming_msr(msr))
            continue;
        int wf = wrmsr_safe(msr, rng_next(&rng));
        write_gp += wf == VEC_GP;
        other += wf != VEC_GP && wf != NO_FAULT;
        if (wf == NO_FAULT) {
            written++;
            if (rf == NO_FAULT)
                wrmsr_safe(msr, old);
        }
    }
    report(other == 0, "%d wild MSRs: %u reads and %u writes got #GP, %u writes taken, "
           "%u other faults", JUNK_MSRS, read_gp, write_gp, written, other);
    report(read_cr0() == cr0 && read_cr4() == cr4 && rdmsr(MSR_EFER) == efer,
           "CR0, CR4 and EFER unchanged after the wild MSRs");
}

/* ---- ports ----------------------------------------------------------------------------- */

static bool port_skipped(uint32_t port)
{
    return (port >= DEBUG_EXIT_PORT && port < DEBUG_EXIT_PORT + 4) ||
           (port >= SERIAL_PORT && port < SERIAL_PORT + 8);
}

/* Ports where junk could reset or power off the machine (or partition) we run on. */
static bool junk_unsafe(uint32_t port)
{
    return port == 0x64 || port == 0x92 || port == 0xcf9 || port == 0x604 || port == 0xb004 ||
           port == 0x8900 || port == 0x8a00 || (port >= 0x4000 && port < 0x4000 + 0x40) ||
           (port >= 0x600 && port < 0x680) || (port >= 0xb000 && port < 0xb040);
}

static void every_port(void)
{
    unsigned ones = 0, touched = 0;
    for (uint32_t port = 0; port <= 0xffff; port++) {
        if (port_skipped(port))
            continue;
        uint8_t v = inb((uint16_t)port);
        touched++;
        outb((uint16_t)port, v);
        if ((port & 3) == 0 && !port_skipped(port + 3))
            (void)inl((uint16_t)port);
        ones += v == 0xff;
        if (v == 0xff && !junk_unsafe(port))
            outb((uint16_t)port, (uint8_t)rng_next(&rng));
    }
    pic_mask_all();
    report(touched == 0x10000 - 12, "IN/OUT on %u ports (all but debug-exit and console), "
           "%u read all-ones", touched, ones);
}

/* ---- control registers ----------------------------------------------------------------- */

static uint64_t read_cr8(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr8, %0" : "=r"(v));
    return v;
}

static int write_cr8_safe(uint64_t v)
{
    register uint64_t vec __asm__("r11") = (uint64_t)NO_FAULT;
    __asm__ volatile(SAFE_INSN("mov %1, %%cr8") : "+r"(vec) : "r"(v) : "memory");
    return (int)vec;
}

static void bad_cr(const char *what, int (*write)(uint64_t), uint64_t bad, uint64_t good)
{
    int fault = write(bad);
    if (fault == NO_FAULT)
        write(good);
    report(fault == VEC_GP, "%s gets #GP (got %d)", what, fault);
}

/* These are Atoll's checks to make (VT-x exits on CR writes); QEMU's TCG takes several of
 * these values without #GP and then hangs, so they run only under Atoll. */
static void bad_control_registers(bool atoll)
{
    if (!atoll) {
        report_skip("bad CR0/CR3/CR4 values (not under Atoll; QEMU's TCG does not check them)");
        return;
    }
    uint64_t cr0 = read_cr0(), cr3 = read_cr3(), cr4 = read_cr4();
    bad_cr("CR0 with bit 32 set", write_cr0_safe, cr0 | (1ull << 32), cr0);
    bad_cr("CR0 with NW=1 CD=0", write_cr0_safe, (cr0 & ~CR0_CD) | CR0_NW, cr0);
    bad_cr("CR0 with PG=1 PE=0", write_cr0_safe, cr0 & ~CR0_PE, cr0);
    bad_cr("CR4 with reserved bit 15", write_cr4_safe, cr4 | (1ull << 15), cr4);
    bad_cr("CR4 with bit 63", write_cr4_safe, cr4 | (1ull << 63), cr4);
    bad_cr("CR4.PAE cleared in long mode", write_cr4_safe, cr4 & ~CR4_PAE, cr4);
    bad_cr("CR0.PG cleared in 64-bit mode", write_cr0_safe, cr0 & ~CR0_PG, cr0);
    /* Bits whose feature CPUID does not offer: #GP, as on a CPU without them (under VT-x
     * the CPU may have them, with MSRs the VMCS does not switch). */
    bad_cr("CR4.SMXE (SMX not offered)", write_cr4_safe, cr4 | (1ull << 14), cr4);
    bad_cr("CR4.CET (CET not offered)", write_cr4_safe, cr4 | (1ull << 23), cr4);
    bad_cr("CR4.PKS (PKS not offered)", write_cr4_safe, cr4 | (1ull << 24), cr4);
    bad_cr("CR4.UINTR (UINTR not offered)", write_cr4_safe, cr4 | (1ull << 25), cr4);
    bad_cr("CR4.KL (Key Locker not offered)", write_cr4_safe, cr4 | (1ull << 19), cr4);
    bad_cr("CR4.FRED (FRED not offered)", write_cr4_safe, cr4 | (1ull << 32), cr4);
    /* MOV to CR0 that also flips CD exits: the hypervisor must check the whole value */
    bad_cr("CR0 with CD flipped and PG cleared in 64-bit mode", write_cr0_safe,
           (cr0 ^ CR0_CD) & ~CR0_PG, cr0);
    if (cpuid(1, 0).ecx & (1u << 17)) {             /* PCID */
        write_cr3(cr3 | 0x8);                       /* PWT: CR3[11:0] not 0 */
        int fault = write_cr4_safe(cr4 | (1ull << 17));
        if (fault == NO_FAULT)
            write_cr4(cr4);
        write_cr3(cr3);
        report(fault == VEC_GP, "CR4.PCIDE set while CR3[11:0] is not 0 gets #GP (got %d)",
               fault);
    } else {
        report_skip("CR4.PCIDE with CR3[11:0] not 0: CPUID offers no PCID");
    }
    uint64_t cr8 = read_cr8();
    bad_cr("CR8 with reserved bit 4", write_cr8_safe, cr8 | 0x10, cr8);
    /* last: QEMU's SVM ends the guest here instead (hv/svm/svm.md) */
    bad_cr("CR3 with bit 52 (beyond MAXPHYADDR)", write_cr3_safe, cr3 | (1ull << 52), cr3);
    report(read_cr0() == cr0 && read_cr3() == cr3 && read_cr4() == cr4 && read_cr8() == cr8,
           "CR0, CR3, CR4 and CR8 unchanged");
}

/* ---- instructions that always exit ---------------------------------------------------- */

#define FAULT_VEC register uint64_t vec __asm__("r11") = (uint64_t)NO_FAULT

static int vmread_fault(void)
{
    FAULT_VEC;
    uint64_t out = 0;
    __asm__ volatile(SAFE_INSN("vmread %2, %1") : "+r"(vec), "+r"(out) : "r"(0ull) : "memory");
    return (int)vec;
}

static uint64_t vmx_region[512] __attribute__((aligned(4096)));

static int vmxon_fault(void)
{
    FAULT_VEC;
    uint64_t pa = (uintptr_t)vmx_region;
    __asm__ volatile(SAFE_INSN("vmxon %1") : "+r"(vec) : "m"(pa) : "memory");
    return (int)vec;
}

static int vmclear_fault(void)
{
    FAULT_VEC;
    uint64_t pa = (uintptr_t)vmx_region;
    __asm__ volatile(SAFE_INSN("vmclear %1") : "+r"(vec) : "m"(pa) : "memory");
    return (int)vec;
}

static int invept_fault(void)
{
    FAULT_VEC;
    uint64_t desc[2] = { 0, 0 };
    __asm__ volatile(SAFE_INSN("invept %1, %2") : "+r"(vec) : "m"(desc), "r"(2ull) : "memory");
    return (int)vec;
}

static int getsec_fault(void)
{
    FAULT_VEC;
    uint32_t eax = 0, ebx = 0;
    __asm__ volatile(SAFE_INSN("getsec") : "+r"(vec), "+a"(eax), "=b"(ebx) : : "rcx", "memory");
    return (int)vec;
}

static int rdpmc_fault(void)
{
    FAULT_VEC;
    uint32_t lo = 0, hi = 0;
    __asm__ volatile(SAFE_INSN("rdpmc") : "+r"(vec), "+a"(lo), "+d"(hi) : "c"(0) : "memory");
    return (int)vec;
}

static int monitor_fault(void)
{
    FAULT_VEC;
    __asm__ volatile(SAFE_INSN("monitor") : "+r"(vec) : "a"(vmx_region), "c"(0), "d"(0) : "memory");
    return (int)vec;
}

static int mwait_fault(void)
{
    FAULT_VEC;
    __asm__ volatile(SAFE_INSN("mwait") : "+r"(vec) : "a"(0), "c"(0) : "memory");
    return (int)vec;
}

static int cache_flushes_fault(void)
{
    FAULT_VEC;
    __asm__ volatile(SAFE_INSN("wbinvd") : "+r"(vec) : : "memory");
    if (vec != (uint64_t)NO_FAULT)
        return (int)vec;
    __asm__ volatile(SAFE_INSN("invd") : "+r"(vec) : : "memory");
    return (int)vec;
}

/* No nested virtualization, no SMX: #UD, as on a CPU without VMX operation.  RDPMC (#GP:
 * no counters), MONITOR and MWAIT (#UD: CPUID does not offer them) are Atoll's policy;
 * QEMU's TCG answers them otherwise. */
static void missing_instructions(bool atoll)
{
    static const struct { const char *name; int (*run)(void); int want; } cases[] = {
        { "VMREAD", vmread_fault, VEC_UD }, { "VMXON", vmxon_fault, VEC_UD },
        { "VMCLEAR", vmclear_fault, VEC_UD }, { "INVEPT", invept_fault, VEC_UD },
        { "GETSEC", getsec_fault, VEC_UD }, { "WBINVD and INVD", cache_flushes_fault, NO_FAULT },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = cases[i].run();
        report(got == cases[i].want, "%s: %s (got %d)", cases[i].name,
               cases[i].want == NO_FAULT ? "no fault" : "#UD", got);
    }
    if (!atoll) {
        report_skip("RDPMC, MONITOR and MWAIT (Atoll's policy; not under Atoll)");
        return;
    }
    int got = rdpmc_fault();
    report(got == VEC_GP, "RDPMC: #GP (got %d)", got);
    got = monitor_fault();
    report(got == VEC_UD, "MONITOR: #UD (got %d)", got);
    got = mwait_fault();
    report(got == VEC_UD, "MWAIT: #UD (got %d)", got);
}

void test_main(void)
{
    bool atoll = atoll_present();
    printf("hostile: %s\n", atoll ? "under Atoll" : "no Atoll underneath");
    junk_hypercalls();
    wild_msrs();
    if (cmdline_has("no-ports"))
        report_skip("IN/OUT on every port (no-ports on the command line)");
    else
        every_port();
    bad_control_registers(atoll || cmdline_has("check-cr"));
    missing_instructions(atoll);
    if (cmdline_has("no-triple-fault"))
        return;
    printf("hostile: triple fault next (empty IDT, then #UD)\n");
    test_print_result();
    triple_fault();
}
