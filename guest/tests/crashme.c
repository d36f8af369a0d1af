/*
 * crashme: random instruction bytes run in ring 0, iteration after iteration.  Whatever a
 * guest kernel executes, only its own partition may suffer (an exception it handles, a
 * triple fault or a hang of its own vCPU); the hypervisor and the partitions beside it go on.
 *
 * Each iteration fills a page with INT3 and puts at its middle 16-32 random bytes (from
 * xorshift64*, `seed=N`), a 16-byte NOP sled and UD2 (the landing), then jumps there with
 * every general register pointing into a scratch area (RCX a count below 4096, RSP a
 * scratch stack).  Every one of the 256 vectors is caught on its own stack (IST: 1 for
 * all, 2 for NMI and #MC, 3 for #DF, 4 for #DB) by the runtime's stubs: #UD at the
 * landing is a normal return, anything else is counted by vector.  Then GDT, IDT, TR,
 * segment registers, CR0/CR3/CR4/CR8, EFER, APIC_BASE (from x2APIC through disabled) and
 * DR7 are loaded again from saved copies and the next iteration starts (a #DB that the
 * bytes' DR7 raises in the harness, DR7.GD or a breakpoint, clears DR7 and is counted).
 * The random bytes are not filtered: a loop, or HLT with IF=0, is broken by the
 * watchdog, the PIT's IRQ0 routed through the IOAPIC as an NMI every 20 ms (re-armed
 * before every iteration (`rearm=N`: every N) in case the bytes stopped it).
 *
 * The harness runs on its own page tables: RAM, the IOAPIC's and the LAPIC's pages,
 * nothing else (a wild access elsewhere is a #PF, not an access the hypervisor must
 * emulate); only the harness's text (not the boot entry's page) and the snippet pages are
 * executable (EFER.NXE), the text, IDT and page tables read-only (CR0.WP), so that a wild
 * jump or store mostly faults instead of corrupting the harness.  Each scratch page
 * starts with the PML4's first entry, so MOV to CR3 from a scratch register keeps the
 * same mappings.
 *
 * With several vCPUs (all the partition has, or `vcpus=N`) the BSP starts the APs and
 * every vCPU runs its own stream (seed + APIC ID x 0x9e3779b97f4a7c15; the BSP's is the
 * one-vCPU stream) with its own GDT, TSS, IST stacks, snippet page and scratch area, to
 * make the hypervisor handle exits of several vCPUs of one partition at once.  Each
 * register points, with odds `shared=N` in 16 (4), into a 64 KiB area all vCPUs share
 * (so one vCPU's random stores land in the pages another's MOV to CR3 made its page
 * tables) and, with odds `mmio=N` in 256 (0), into the LAPIC's or the IOAPIC's page (an
 * instruction form the hypervisor does not emulate there ends the partition: its own
 * business, but it ends most runs within a few hundred iterations).  The watchdog's NMI
 * goes to every vCPU (IOAPIC destination 0xff; it does not depend on the LVTs or the
 * TPR, only on APIC_BASE, which is reloaded), from the PIT and from the HPET's timer 0,
 * and is re-armed by the first vCPU that has seen no NMI for 4 periods and no re-arm by
 * another.  APs print nothing (random bytes may INIT an AP at any moment, a console lock
 * included): the BSP reports each vCPU's counts, and an AP whose count stands still for
 * `stall-ms=N` (3000) of the BSP's time as stalled (an INIT, or a hang of its own), which
 * is the guest's business; finished APs tend the watchdog and report a BSP that stands
 * still (its bytes with it).
 * The counts also say how many traps found RFLAGS.VIF or VIP set, which the bytes cannot
 * do at CPL 0 (not counted: INT n to a vector with an error code, whose frame is one slot
 * off): QEMU's TCG leaves them set (with no hypervisor too), and a PUSHF then RET lands
 * at 0x1000xx, the page of the image's 32-bit entry code, which the harness's tables
 * therefore leave not executable.
 *
 * Knobs: `seed=N` (1), `iterations=N` (2000, per vCPU), `progress=N` (500), `trace` or
 * `trace-from=N` (print every iteration's bytes and outcome, from iteration N on, to
 * minimise a failing seed), `skip=N` (draw but do not run the first N iterations: reaches
 * iteration N of a seed quickly), `rearm=N` (one vCPU), `vcpus=N`, `shared=N`, `mmio=N`,
 * `stall-ms=N`, `init-ap=K` (halfway through, the BSP sends AP K an INIT, as random bytes
 * may: that AP must be reported stalled and the rest must finish), `bsp-hang` (halfway
 * through, the BSP spins for good: a finished AP must report it and end the test).
 */
#include <stddef.h>

#include "guest/lib/descriptors.h"
#include "guest/lib/guest.h"
#include "hv/lib/format.h"

DEFINE_TEST("crashme");

#define SCRATCH        0x2000000ul      /* 32 MiB: the partition needs 64 MiB */
#define SCRATCH_REGS   0x10000ul        /* registers point into [scratch, +64 KiB) */
#define SCRATCH_SIZE   0x20000ul        /* one vCPU's, from SCRATCH + index * SCRATCH_SIZE */
#define STACK_AT       0x18000ul
#define SHARED         (SCRATCH + MAX_CPUS * SCRATCH_SIZE)  /* SCRATCH_REGS, all vCPUs' */
#define SNIPPET_AT     0x800u
#define SLED           16
#define WATCHDOG_HZ    50u
#define QUIET_PERIODS  4u
#define PIT_HZ         1193182u
#define PIT_GSI        2
#define IOAPIC_BASE    0xfec00000ul
#define LAPIC_BASE     0xfee00000ul
#define HPET_BASE      0xfed00000ul
#define HPET_GSI       20
#define HPET_GEN_CONF  0x010
#define HPET_MAIN_CNT  0x0f0
#define HPET_T0_CONF   0x100
#define HPET_T0_CMP    0x108
#define HPET_T0_ROUTABLE(conf) ((conf) >> 32 & (1ull << HPET_GSI))
#define HPET_T0_SETUP  ((uint64_t)HPET_GSI << 9 | 1u << 2 | 1u << 3 | 1u << 6) /* int, periodic, set */
#define BROADCAST      0xffu
#define SEL_TSS        0x20
#define OUTCOME_RETURNED 256
#define OUTCOMES       257
#define SEED_STEP      0x9e3779b97f4a7c15ull
#define RFLAGS_VIF_VIP (3ull << 19)
#define VEC_DB         1

#define PTE_P   0x1ull
#define PTE_RW  0x2ull
#define PTE_PWT 0x8ull
#define PTE_PCD 0x10ull
#define PTE_A   0x20ull
#define PTE_D   0x40ull
#define PTE_PS  0x80ull
#define PTE_NX  (1ull << 63)
#define EFER_NXE (1ull << 11)
#define CR0_WP  (1ull << 16)
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN   (1ull << 11)

/* One vCPU's pages: GDT and TSS share a writable page (LTR sets the busy bit); the
 * snippet page is the only writable executable one. */
struct cpu_pages {
    struct {
        uint64_t gdt[6];
        struct tss64 tss;
    } desc __attribute__((aligned(4096)));
    uint8_t snippet[4096] __attribute__((aligned(4096)));
    uint8_t ist[4][8192] __attribute__((aligned(4096)));
};

/* One vCPU's harness state; harness_rsp and in_snippet are at the offsets the assembly
 * below uses. */
struct cpu {
    uint64_t harness_rsp;
    uint32_t in_snippet;
    unsigned index;
    struct rng rng;
    uint64_t scratch, landing, nmis_outside, last_nmi_tsc, arm_seen, arm_seen_tsc, rearms;
    uint64_t harness_db;                /* #DBs the bytes' debug registers raised in the harness */
    uint64_t vif_vip, vif_vip_first;    /* traps whose RFLAGS had VIF or VIP, the first's iteration */
    struct {
        uint64_t cr0, cr3, cr4, efer, apic_base;
        struct table_ptr gdtr;
    } saved;
    struct {
        uint64_t vector, rip, error, cr2;
    } last;
    uint64_t counts[OUTCOMES];
    uint64_t done;          /* iterations run: the BSP watches it move */
    uint32_t finished;
    unsigned cur_n;         /* the iteration running, for a report of a stalled BSP */
    uint8_t cur_bytes[32];
};
_Static_assert(offsetof(struct cpu, harness_rsp) == 0 && offsetof(struct cpu, in_snippet) == 8,
               "crashme_enter's offsets");

static struct cpu_pages pages[MAX_CPUS] __attribute__((aligned(4096)));
static struct idt_gate idt[256] __attribute__((aligned(4096)));
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));
static uint64_t pt_low[512] __attribute__((aligned(4096)));
static uint64_t pt_mmio[2][512] __attribute__((aligned(4096)));
static struct cpu cpus[MAX_CPUS];
static struct table_ptr idtr;

/* The run's settings, fixed before any AP starts. */
static struct {
    uint64_t seed, iterations, progress, skip, rearm, trace_from, shared, mmio, stall_ms, init_ap, bsp_hang;
    unsigned n;             /* vCPUs running crashme */
    bool nx;
} cfg;
static uint64_t quiet_tsc, arm_count;
static bool hpet_watchdog;
static uint32_t go, bsp_stall_reported;
static bool started[MAX_CPUS] = { true };

extern const char isr_stubs_start[], __image_start[], __ex_table_end[];

void crashme_resume(void);
uint64_t crashme_enter(const uint64_t *regs, uint64_t entry, struct cpu *c);

/*
 * regs: rax rbx rcx rdx rsi rdi rbp rsp r8..r15.  The entry goes just below the scratch
 * stack and RET takes it.  Returns what the trap handler puts in RAX when it sends the
 * CPU back to crashme_resume with RSP = c->harness_rsp.
 */
__asm__(
    "    .text\n"
    "    .balign 4096\n" /* this object's text, and the runtime's after it, above the entry page */
    "    .globl crashme_enter, crashme_resume\n"
    "crashme_enter:\n"
    "    pushq %rbx\n    pushq %rbp\n    pushq %r12\n    pushq %r13\n    pushq %r14\n    pushq %r15\n"
    "    pushfq\n"
    "    movq %rsp, 0(%rdx)\n"
    "    movq 56(%rdi), %rax\n"
    "    movq %rsi, -8(%rax)\n"
    "    movl $1, 8(%rdx)\n"
    "    movq 0(%rdi), %rax\n    movq 8(%rdi), %rbx\n    movq 16(%rdi), %rcx\n"
    "    movq 24(%rdi), %rdx\n    movq 32(%rdi), %rsi\n    movq 48(%rdi), %rbp\n"
    "    movq 56(%rdi), %rsp\n    leaq -8(%rsp), %rsp\n"
    "    movq 64(%rdi), %r8\n    movq 72(%rdi), %r9\n"
    "    movq 80(%rdi), %r10\n    movq 88(%rdi), %r11\n    movq 96(%rdi), %r12\n"
    "    movq 104(%rdi), %r13\n    movq 112(%rdi), %r14\n    movq 120(%rdi), %r15\n"
    "    movq 40(%rdi), %rdi\n"
    "    ret\n"
    "crashme_resume:\n"
    "    popfq\n"
    "    popq %r15\n    popq %r14\n    popq %r13\n    popq %r12\n    popq %rbp\n    popq %rbx\n"
    "    ret\n");

static uint64_t read_dr7(void)
{
    uint64_t v;
    __asm__ volatile("mov %%dr7, %0" : "=r"(v));
    return v;
}

static uint16_t read_tr(void)
{
    uint16_t v;
    __asm__ volatile("str %0" : "=r"(v));
    return v;
}

static void load_tr(struct cpu *c)
{
    pages[c->index].desc.gdt[SEL_TSS / 8] &= ~(2ull << 40); /* not busy */
    __asm__ volatile("ltr %w0" : : "r"((uint16_t)SEL_TSS) : "memory");
}

/* x2APIC to xAPIC goes through disabled (SDM 11.12.5). */
static void restore_apic_base(uint64_t want)
{
    uint64_t now = rdmsr(MSR_APIC_BASE);
    if (now == want)
        return;
    if (now & APIC_BASE_EXTD)
        wrmsr(MSR_APIC_BASE, now & ~(APIC_BASE_EXTD | APIC_BASE_EN));
    wrmsr(MSR_APIC_BASE, want);
}

/* Everything the bytes may have changed that the harness depends on. */
static void restore_state(struct cpu *c)
{
    __asm__ volatile("lgdt %0; lidt %1" : : "m"(c->saved.gdtr), "m"(idtr) : "memory");
    __asm__ volatile("mov %0, %%ds; mov %0, %%es; mov %1, %%fs; mov %1, %%gs"
                     : : "r"((uint32_t)SEL_DATA), "r"(0u) : "memory");
    if (read_tr() != SEL_TSS)
        load_tr(c);
    if (read_cr0() != c->saved.cr0)
        write_cr0(c->saved.cr0);
    if (read_cr4() != c->saved.cr4)
        write_cr4(c->saved.cr4);
    write_cr3(c->saved.cr3);
    __asm__ volatile("mov %0, %%cr8" : : "r"(0ull));
    if (rdmsr(MSR_EFER) != c->saved.efer)
        wrmsr(MSR_EFER, c->saved.efer);
    restore_apic_base(c->saved.apic_base);
    if (read_dr7() != 0x400)
        __asm__ volatile("mov %0, %%dr7" : : "r"(0x400ull));
}

/* Every vector arrives on one of the vCPU's own IST stacks: the frame says whose. */
static struct cpu *cpu_of(const struct irq_frame *f)
{
    uintptr_t a = (uintptr_t)f, base = (uintptr_t)pages;
    if (a < base || a >= base + sizeof(pages))
        return NULL;
    return &cpus[(a - base) / sizeof(pages[0])];
}

static void trap(struct irq_frame *f)
{
    struct cpu *c = cpu_of(f);
    if (!c)
        report_fatal("crashme: %s (vector %lu) on a stack not the harness's: rip=%#lx rsp=%#lx",
                     exception_name((unsigned)f->vector), f->vector, f->rip, (uint64_t)(uintptr_t)f);
    if (f->vector == VEC_NMI)
        c->last_nmi_tsc = rdtsc();
    if (!__atomic_exchange_n(&c->in_snippet, 0, __ATOMIC_SEQ_CST)) {
        if (f->vector == VEC_NMI || f->vector >= 32) {
            c->nmis_outside++;
            return;
        }
        if (f->vector == VEC_DB) {
            /* DR7 the bytes wrote: GD faults the harness's own MOV from DR7 (GD is clear
             * now), or a breakpoint on what it touches.  Its own stack (IST 4), so this
             * nests safely in another vector's trap. */
            __asm__ volatile("mov %0, %%dr7" : : "r"(0x400ull));
            c->harness_db++;
            return;
        }
        char hex[3 * sizeof(c->cur_bytes) + 1] = "";
        for (unsigned k = 0; k < c->cur_n && k < sizeof(c->cur_bytes); k++)
            fmt_snprintf(hex + 3 * k, 4, " %02x", c->cur_bytes[k]);
        report_fatal("crashme: %s (vector %lu) in the harness of vCPU %u at rip=%#lx error=%#lx "
                     "rsp=%#lx cr2=%#lx, after %lu iterations, the last (%s vector %lu rip=%#lx): %s",
                     exception_name((unsigned)f->vector), f->vector, c->index, f->rip, f->error,
                     f->rsp, f->vector == VEC_PF ? read_cr2() : 0, c->done,
                     c->last.vector == OUTCOME_RETURNED ? "returned" : "fault", c->last.vector,
                     c->last.rip, hex);
    }
    restore_state(c);
    /* A frame from INT n to a vector with an error code is one slot off: not counted. */
    if ((f->cs & ~3ull) == SEL_CODE64 && (f->rflags & RFLAGS_VIF_VIP) && !c->vif_vip++)
        c->vif_vip_first = c->done;
    c->last.vector = f->vector;
    c->last.rip = f->rip;
    c->last.error = f->error;
    c->last.cr2 = f->vector == VEC_PF ? read_cr2() : 0;
    f->rax = f->vector == VEC_UD && f->rip == c->landing ? OUTCOME_RETURNED : f->vector;
    f->rip = (uint64_t)(uintptr_t)crashme_resume;
    f->cs = SEL_CODE64;
    f->rflags = 0x2;
    f->rsp = c->harness_rsp;
    f->ss = SEL_DATA;
}

static void ioapic_write_rte(unsigned pin, uint32_t lo, uint32_t hi)
{
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * pin + 1);
    mmio_write32(IOAPIC_BASE + 0x10, hi);
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * pin);
    mmio_write32(IOAPIC_BASE + 0x10, lo);
}

static void watchdog_arm(uint32_t dest)
{
    ioapic_write_rte(PIT_GSI, 4u << 8 /* NMI */, dest << 24);
    uint16_t count = (uint16_t)(PIT_HZ / WATCHDOG_HZ);
    outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 (rate generator) */
    outb(0x40, (uint8_t)count);
    outb(0x40, (uint8_t)(count >> 8));
}

/*
 * Several vCPUs: the HPET's timer 0 as a second source, programmed once through the
 * runtime's page tables (the harness's do not map the HPET, so no random bytes reach it):
 * bytes that write the PIT's ports (OUT to 0x43 is not rare) would otherwise stop the
 * NMIs while every vCPU soon sits in a HLT with IF=0 that only an NMI ends, and no vCPU
 * runs to re-arm them.  False when the HPET is absent or cannot route to HPET_GSI.
 */
static bool hpet_watchdog_start(void)
{
    volatile uint64_t *hpet = (volatile uint64_t *)HPET_BASE;
    uint64_t cap = hpet[0], conf = hpet[HPET_T0_CONF / 8];
    if (cap == ~0ull || !(cap >> 32) || !(conf & (1u << 4)) || !HPET_T0_ROUTABLE(conf))
        return false;
    uint64_t ticks = 1000000000000000ull / (cap >> 32) / WATCHDOG_HZ;
    ioapic_write_rte(HPET_GSI, 1u << 16, 0); /* masked until watchdog_arm_all: APs starting */
    hpet[HPET_T0_CONF / 8] = HPET_T0_SETUP;
    hpet[HPET_T0_CMP / 8] = hpet[HPET_MAIN_CNT / 8] + ticks;
    hpet[HPET_T0_CMP / 8] = ticks;
    hpet[HPET_GEN_CONF / 8] = 1;
    return true;
}

static void watchdog_arm_all(void)
{
    watchdog_arm(BROADCAST);
    if (hpet_watchdog)
        ioapic_write_rte(HPET_GSI, 4u << 8 /* NMI, edge */, BROADCAST << 24);
}

/*
 * Several vCPUs: re-arming restarts the PIT's period, so it happens only when this vCPU
 * has seen no NMI and no re-arm for QUIET_PERIODS periods of its own TSC (which its bytes
 * may have moved: that costs one re-arm at most), and only one vCPU wins each re-arm.
 * No lock: an AP may be INITed anywhere.
 */
static void watchdog_tend(struct cpu *c)
{
    uint64_t now = rdtsc(), n = __atomic_load_n(&arm_count, __ATOMIC_ACQUIRE);
    if (n != c->arm_seen || now - c->arm_seen_tsc >= ~0ull / 2) {
        c->arm_seen = n;
        c->arm_seen_tsc = now;
        return;
    }
    if (now - c->last_nmi_tsc < quiet_tsc || now - c->arm_seen_tsc < quiet_tsc)
        return;
    if (__atomic_compare_exchange_n(&arm_count, &n, n + 1, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        watchdog_arm_all();
        c->rearms++;
        n++;
    }
    c->arm_seen = n;
    c->arm_seen_tsc = now;
}

/* This vCPU's GDT, TSS and the shared IDT, loaded. */
static void cpu_tables_load(struct cpu *c)
{
    struct cpu_pages *p = &pages[c->index];
    p->desc.gdt[1] = 0x00af9b000000ffffull; /* code64, accessed */
    p->desc.gdt[2] = 0x00cf93000000ffffull; /* data, accessed */
    p->desc.gdt[3] = 0x00cf9b000000ffffull; /* code32, accessed */
    gdt_tss_descriptor(&p->desc.gdt[4], &p->desc.tss, sizeof(p->desc.tss));
    for (int i = 0; i < 4; i++)
        p->desc.tss.ist[i] = (uint64_t)(uintptr_t)&p->ist[i][8192 - 64];
    p->desc.tss.rsp[0] = p->desc.tss.ist[0];
    p->desc.tss.iomap_base = sizeof(p->desc.tss);
    c->saved.gdtr = (struct table_ptr){ sizeof(p->desc.gdt) - 1, (uint64_t)(uintptr_t)p->desc.gdt };
    __asm__ volatile("lgdt %0; lidt %1" : : "m"(c->saved.gdtr), "m"(idtr) : "memory");
    __asm__ volatile("pushq %0; leaq 1f(%%rip), %%rax; pushq %%rax; lretq; 1:"
                     : : "i"(SEL_CODE64) : "rax", "memory");
    __asm__ volatile("mov %0, %%ss" : : "r"((uint32_t)SEL_DATA));
    load_tr(c);
}

static void idt_build(void)
{
    for (unsigned v = 0; v < 256; v++) {
        uint64_t a = (uint64_t)(uintptr_t)(isr_stubs_start + 16 * v);
        uint8_t ist = v == VEC_NMI || v == 18 ? 2 : v == 8 ? 3 : v == VEC_DB ? 4 : 1;
        idt[v] = idt_interrupt_gate(a, SEL_CODE64, ist);
        irq_set_handler((uint8_t)v, trap);
    }
    idtr = (struct table_ptr){ sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
}

static bool in_range(uint64_t a, const void *start, const void *end)
{
    return a >= (uint64_t)(uintptr_t)start && a < (uint64_t)(uintptr_t)end;
}

static bool is_snippet_page(uint64_t page)
{
    uint64_t base = (uint64_t)(uintptr_t)pages;
    return in_range(page, pages, pages + MAX_CPUS) &&
           (page - base) % sizeof(pages[0]) == offsetof(struct cpu_pages, snippet);
}

static uint64_t scratch_end(void)
{
    return cfg.n > 1 ? SHARED + SCRATCH_REGS : SCRATCH + SCRATCH_SIZE;
}

/* RAM, the IOAPIC's and the LAPIC's pages; harness text and the snippet pages executable. */
static bool paging_build(uint64_t ram_top)
{
    uint64_t text_end = ((uint64_t)(uintptr_t)__ex_table_end + 4095) & ~4095ull;
    /* The Multiboot entry's page runs only at boot: not executable, so that a RET to a
     * pushed RFLAGS (0x1000xx with VIP set, as QEMU leaves it) faults instead of running
     * the entry code. */
    uint64_t exec_start = (uint64_t)(uintptr_t)__image_start + 4096;
    if ((uint64_t)(uintptr_t)crashme_enter < exec_start)
        exec_start = (uint64_t)(uintptr_t)__image_start;
    if ((uint64_t)image_end() > 0x200000 || ram_top < scratch_end())
        return false;
    uint64_t x = cfg.nx ? PTE_NX : 0, a = PTE_A | PTE_D;
    for (uint64_t i = 0; i < 512; i++) {
        uint64_t page = i << 12, fl = PTE_P | PTE_RW | a | x;
        if (page >= exec_start && page < text_end)
            fl = PTE_P | a;
        else if (page >= (uint64_t)(uintptr_t)__image_start && page < exec_start)
            fl = PTE_P | a | x;
        else if (is_snippet_page(page))
            fl = PTE_P | PTE_RW | a;
        else if (page == (uint64_t)(uintptr_t)idt || in_range(page, pml4, pml4 + 512) ||
                 in_range(page, pdpt, pdpt + 512) || in_range(page, pd, pd + 4) ||
                 in_range(page, pt_low, pt_low + 512) || in_range(page, pt_mmio, pt_mmio + 2))
            fl = PTE_P | a | x;
        pt_low[i] = page | fl;
    }
    pd[0][0] = (uint64_t)(uintptr_t)pt_low | PTE_P | PTE_RW | PTE_A;
    for (uint64_t m = 1; m < ram_top >> 21 && m < 2048; m++)
        pd[m / 512][m % 512] = m << 21 | PTE_P | PTE_RW | PTE_PS | a | x;
    for (int i = 0; i < 2; i++) {
        uint64_t mmio = i ? LAPIC_BASE : IOAPIC_BASE, m = mmio >> 21;
        pt_mmio[i][(mmio >> 12) & 511] = mmio | PTE_P | PTE_RW | PTE_PCD | PTE_PWT | a | x;
        pd[m / 512][m % 512] = (uint64_t)(uintptr_t)pt_mmio[i] | PTE_P | PTE_RW | PTE_A;
    }
    for (int i = 0; i < 4; i++)
        pdpt[i] = (uint64_t)(uintptr_t)pd[i] | PTE_P | PTE_RW | PTE_A;
    pml4[0] = (uint64_t)(uintptr_t)pdpt | PTE_P | PTE_RW | PTE_A;
    return true;
}

/* This vCPU onto the harness's tables, with NXE and WP; what restore_state goes back to. */
static void cpu_paging_load(struct cpu *c)
{
    if (cfg.nx)
        wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
    write_cr3((uint64_t)(uintptr_t)pml4);
    write_cr0(read_cr0() | CR0_WP);
    c->saved.cr0 = read_cr0();
    c->saved.cr3 = read_cr3();
    c->saved.cr4 = read_cr4();
    c->saved.efer = rdmsr(MSR_EFER);
    c->saved.apic_base = rdmsr(MSR_APIC_BASE);
}

static void fill_random(struct rng *r, uint64_t start, uint64_t size)
{
    for (uint64_t *p = (uint64_t *)start; p < (uint64_t *)(start + size); p++)
        *p = rng_next(r);
}

/* Where one register points: own scratch, the shared area or an APIC page (the odds in
 * r's top bits, the offset in its low ones: one draw, as with one vCPU). */
static uint64_t reg_target(const struct cpu *c, uint64_t r)
{
    uint64_t off = r & (SCRATCH_REGS - 8);
    if ((r >> 56) < cfg.mmio)
        return (r & (1ull << 55)) ? LAPIC_BASE + (off & 0xff0) : IOAPIC_BASE + (off & 0x1f8);
    if (((r >> 48) & 15) < cfg.shared)
        return SHARED + off;
    return c->scratch + off;
}

/* One iteration's bytes and registers, drawn whether it runs or not (skip=N). */
static unsigned draw(struct cpu *c, uint8_t *bytes, uint64_t *regs)
{
    unsigned n = 16 + (unsigned)(rng_next(&c->rng) % 17);
    for (unsigned i = 0; i < n; i += 8) {
        uint64_t r = rng_next(&c->rng);
        for (unsigned k = 0; k < 8 && i + k < n; k++)
            bytes[i + k] = (uint8_t)(r >> (8 * k));
    }
    for (int i = 0; i < 16; i++)
        regs[i] = reg_target(c, rng_next(&c->rng));
    regs[2] &= 0xfff;                  /* RCX: a count, so REP and LOOP end */
    regs[7] = c->scratch + STACK_AT;   /* RSP */
    return n;
}

static uint64_t run_one(struct cpu *c, const uint8_t *bytes, unsigned n, const uint64_t *regs)
{
    uint8_t *page = pages[c->index].snippet;
    memset(page, 0xcc, sizeof(pages[0].snippet));
    memcpy(page + SNIPPET_AT, bytes, n);
    memset(page + SNIPPET_AT + n, 0x90, SLED);
    uint8_t *ud2 = page + SNIPPET_AT + n + SLED;
    ud2[0] = 0x0f;
    ud2[1] = 0x0b;
    c->landing = (uint64_t)(uintptr_t)ud2;
    for (uint64_t off = 0; off < SCRATCH_REGS; off += 4096) {
        *(volatile uint64_t *)(c->scratch + off) = pml4[0];
        if (cfg.n > 1)
            *(volatile uint64_t *)(SHARED + off) = pml4[0];
    }
    return crashme_enter(regs, (uint64_t)(uintptr_t)(page + SNIPPET_AT), c);
}

static void print_counts(const struct cpu *c, const char *what, uint64_t done)
{
    char who[16] = "";
    if (cfg.n > 1)
        fmt_snprintf(who, sizeof(who), "cpu %u: ", c->index);
    printf("crashme: %s%s %lu iterations: returned=%lu", who, what, done,
           c->counts[OUTCOME_RETURNED]);
    for (unsigned v = 0; v < 256; v++)
        if (c->counts[v])
            printf(" %s%s%u=%lu", v < 32 ? exception_name(v) : "int", v < 32 ? "/" : "", v,
                   c->counts[v]);
    if (c->vif_vip)
        printf(" VIF/VIP in the RFLAGS of %lu (first in iteration %lu)", c->vif_vip,
               c->vif_vip_first);
    printf(" (nmi outside %lu", c->nmis_outside);
    if (c->harness_db)
        printf(", #DB in the harness %lu", c->harness_db);
    if (cfg.n > 1)
        printf(", watchdog re-armed %lu", c->rearms);
    printf(")\n");
}

/* The iterations of one vCPU; only the BSP prints (unless tracing: then an AP INITed
 * while it holds the console lock stops every vCPU's printing). */
static void run_all(struct cpu *c)
{
    bool bsp = c->index == 0;
    char who[16] = "";
    if (cfg.n > 1)
        fmt_snprintf(who, sizeof(who), "cpu %u: ", c->index);
    uint8_t bytes[32];
    uint64_t regs[16];
    for (uint64_t i = 0; i < cfg.iterations; i++) {
        unsigned n = draw(c, bytes, regs);
        if (i < cfg.skip)
            continue;
        bool trace = i >= cfg.trace_from;
        if (trace) {
            char hex[3 * sizeof(bytes) + 1] = "";
            for (unsigned k = 0; k < n; k++)
                fmt_snprintf(hex + 3 * k, 4, " %02x", bytes[k]);
            printf("crashme: %s%lu: [rsp]=%#lx:%s\n", who, i,
                   *(volatile uint64_t *)(c->scratch + STACK_AT), hex);
        }
        if (cfg.n == 1 && i % cfg.rearm == 0)
            watchdog_arm(lapic_id());
        else if (cfg.n > 1)
            watchdog_tend(c);
        while (bsp && cfg.bsp_hang && i == cfg.iterations / 2)
            pause(); /* as bytes that hang it for good: an AP must report it */
        if (bsp && cfg.init_ap && i == cfg.iterations / 2)
            lapic_send_init((uint32_t)cfg.init_ap); /* as random bytes may: the AP stalls */
        c->cur_n = n;
        memcpy(c->cur_bytes, bytes, n);
        uint64_t outcome = run_one(c, bytes, n, regs);
        c->counts[outcome < OUTCOMES ? outcome : OUTCOME_RETURNED]++;
        __atomic_store_n(&c->done, i + 1 - cfg.skip, __ATOMIC_RELEASE);
        if (trace)
            printf("crashme: %s%lu: %s vector %lu rip=%#lx error=%#lx cr2=%#lx\n", who, i,
                   outcome == OUTCOME_RETURNED ? "returned" : "fault", c->last.vector, c->last.rip, c->last.error, c->last.cr2);
        if (bsp && cfg.progress && (i + 1) % cfg.progress == 0) {
            print_counts(c, "after", i + 1);
            if (cfg.n > 1) {
                printf("crashme: APs after");
                for (unsigned k = 1; k < cfg.n; k++)
                    printf(" %u:%lu", k, __atomic_load_n(&cpus[k].done, __ATOMIC_ACQUIRE));
                printf("\n");
            }
        }
    }
}

static void cpu_init(struct cpu *c, unsigned index)
{
    c->index = index;
    c->rng.state = cfg.seed + index * SEED_STEP;
    if (!c->rng.state)
        c->rng.state = 1;
    c->scratch = SCRATCH + index * SCRATCH_SIZE;
    c->last_nmi_tsc = c->arm_seen_tsc = rdtsc();
    cpu_tables_load(c);
    cpu_paging_load(c);
    fill_random(&c->rng, c->scratch, SCRATCH_SIZE);
}

/*
 * A finished AP keeps the watchdog tended (the BSP may hang in bytes that broke it) and
 * watches the BSP: one that stands still for stall-ms is reported by the first AP to see
 * it, with the bytes it runs, and that AP ends the test (nobody else would).
 */
static _Noreturn void ap_watch(struct cpu *c)
{
    struct cpu *bsp = &cpus[0];
    uint64_t seen = ~0ull, since = rdtsc(), stall = cfg.stall_ms * (tsc_hz() / 1000);
    for (;;) {
        watchdog_tend(c);
        pause();
        uint64_t now = rdtsc(), d = __atomic_load_n(&bsp->done, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&bsp->finished, __ATOMIC_ACQUIRE) || d != seen ||
            now - since >= ~0ull / 2) {
            seen = d;
            since = now;
            continue;
        }
        if (now - since < stall || __atomic_exchange_n(&bsp_stall_reported, 1, __ATOMIC_ACQ_REL))
            continue;
        char hex[3 * sizeof(bsp->cur_bytes) + 1] = "";
        for (unsigned k = 0; k < bsp->cur_n && k < sizeof(bsp->cur_bytes); k++)
            fmt_snprintf(hex + 3 * k, 4, " %02x", bsp->cur_bytes[k]);
        printf("crashme: cpu 0: stalled after %lu of %lu iterations (seen by cpu %u; its NMIs: "
               "last %lu ms before, %lu outside the bytes); its bytes:%s\n", d,
               cfg.iterations - cfg.skip, c->index,
               (now - bsp->last_nmi_tsc) / (tsc_hz() / 1000), bsp->nmis_outside, hex);
        print_counts(bsp, "stalled:", d);
        test_finish();
    }
}

/* What the bytes may leave: DR7.GD set, so the harness's MOV from DR7 faults. */
static void gd_check(struct cpu *c)
{
    uint64_t v;
    __asm__ volatile("mov %1, %%dr7; mov %%dr7, %0" : "=r"(v) : "r"(0x2400ull) : "memory");
    printf("crashme: DR7.GD then MOV from DR7: %s (DR7 %#lx)\n",
           c->harness_db ? "#DB in the harness, taken and DR7 cleared" : "no #DB", v);
    c->harness_db = 0;
}

static void ap_main(unsigned index)
{
    struct cpu *c = &cpus[index];
    cli();
    cpu_init(c, index);
    while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
        pause();
    run_all(c);
    __atomic_store_n(&c->finished, 1, __ATOMIC_RELEASE);
    ap_watch(c);
}

/* The trampoline's page, once every AP is up: a SIPI from random bytes parks there. */
static void trampoline_park(void)
{
    static const uint8_t park[] = { 0xfa, 0xf4, 0xeb, 0xfc }; /* cli; hlt; jmp $-2 */
    memcpy((void *)TRAMPOLINE_ADDR, park, sizeof(park));
}

/* APs whose count stands still for stall-ms of the BSP's TSC are left behind. */
static void wait_aps(bool *stalled)
{
    uint64_t seen[MAX_CPUS] = { 0 }, since[MAX_CPUS], stall = cfg.stall_ms * (tsc_hz() / 1000);
    for (unsigned k = 0; k < MAX_CPUS; k++)
        since[k] = rdtsc();
    for (;;) {
        bool waiting = false;
        uint64_t now = rdtsc();
        for (unsigned k = 1; k < cfg.n; k++) {
            if (!started[k] || stalled[k] || __atomic_load_n(&cpus[k].finished, __ATOMIC_ACQUIRE))
                continue;
            uint64_t d = __atomic_load_n(&cpus[k].done, __ATOMIC_ACQUIRE);
            if (d != seen[k]) {
                seen[k] = d;
                since[k] = now;
            } else if (now - since[k] > stall) {
                stalled[k] = true;
                continue;
            }
            waiting = true;
        }
        if (!waiting)
            return;
        watchdog_tend(&cpus[0]);
        pause();
    }
}

static void start_aps(void)
{
    for (unsigned k = 1; k < cfg.n; k++)
        started[k] = report(smp_start_ap(k, k, ap_main), "AP %u started with INIT-SIPI-SIPI", k);
    trampoline_park();
}

static void report_smp(void)
{
    bool stalled[MAX_CPUS] = { false };
    wait_aps(stalled);
    unsigned finished = 0;
    for (unsigned k = 0; k < cfg.n; k++) {
        struct cpu *c = &cpus[k];
        uint64_t done = __atomic_load_n(&c->done, __ATOMIC_ACQUIRE);
        if (!started[k])
            continue;
        if (stalled[k]) {
            printf("crashme: cpu %u: stalled after %lu of %lu iterations (an INIT from the "
                   "random bytes, or a hang of its own)\n", k, done, cfg.iterations - cfg.skip);
            print_counts(c, "stalled:", done);
        } else {
            print_counts(c, "done:", done);
            finished++;
        }
    }
    printf("crashme: %u of %u vCPUs finished their iterations\n", finished, cfg.n);
}

void test_main(void)
{
    cfg.seed = cmdline_u64("seed", 1);
    cfg.iterations = cmdline_u64("iterations", 2000);
    cfg.progress = cmdline_u64("progress", 500);
    cfg.skip = cmdline_u64("skip", 0);
    cfg.rearm = cmdline_u64("rearm", 1);
    cfg.rearm = cfg.rearm ? cfg.rearm : 1;
    cfg.trace_from = cmdline_has("trace") ? 0 : cmdline_u64("trace-from", ~0ull);
    cfg.stall_ms = cmdline_u64("stall-ms", 3000);
    cfg.init_ap = cmdline_u64("init-ap", 0);
    cfg.bsp_hang = cmdline_has("bsp-hang");
    uint64_t want = cmdline_u64("vcpus", MAX_CPUS);
    cfg.n = boot.cpus < MAX_CPUS ? boot.cpus : MAX_CPUS;
    cfg.n = want && want < cfg.n ? (unsigned)want : cfg.n;
    cfg.shared = cmdline_u64("shared", cfg.n > 1 ? 4 : 0);
    cfg.mmio = cmdline_u64("mmio", 0);
    cfg.nx = cpu_has(0x80000001, 'd', 20);
    if (cfg.n > 1)
        printf("crashme: seed=%lu iterations=%lu vcpus=%u\n", cfg.seed, cfg.iterations, cfg.n);
    else
        printf("crashme: seed=%lu iterations=%lu\n", cfg.seed, cfg.iterations);

    idt_build();
    if (!report(paging_build(boot_ram_end()),
                "page tables: RAM to %#lx, image below 2 MiB, scratch at %#lx (NX %s)",
                boot_ram_end(), SCRATCH, cfg.nx ? "on" : "not offered"))
        test_finish();
    lapic_enable(LAPIC_XAPIC);
    if (cfg.n > 1) {
        quiet_tsc = QUIET_PERIODS * (tsc_hz() / WATCHDOG_HZ);
        hpet_watchdog = hpet_watchdog_start();
        printf("crashme: watchdog: NMIs to every vCPU every %u ms from the PIT%s\n",
               1000 / WATCHDOG_HZ, hpet_watchdog ? " and the HPET's timer 0 (GSI 20)" : "");
    }
    cli();
    struct cpu *bsp = &cpus[0];
    cpu_init(bsp, 0);
    gd_check(bsp);
    if (cfg.n > 1) {
        fill_random(&bsp->rng, SHARED, SCRATCH_REGS);
        start_aps();
        watchdog_arm_all();
        __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    } else {
        watchdog_arm(lapic_id());
    }

    run_all(bsp);
    __atomic_store_n(&bsp->finished, 1, __ATOMIC_RELEASE);
    if (cfg.n > 1)
        report_smp();
    else
        print_counts(bsp, "done:", cfg.iterations - cfg.skip);
    report(true, "%lu iterations of seed %lu run%s, the harness intact", cfg.iterations - cfg.skip,
           cfg.seed, cfg.n > 1 ? " on every vCPU that was not stopped" : "");
    test_finish();
}
