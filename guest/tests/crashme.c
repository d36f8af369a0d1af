/*
 * crashme: random instruction bytes run in ring 0, iteration after iteration.  Whatever a
 * guest kernel executes, only its own partition may suffer (an exception it handles, a
 * triple fault or a hang of its own vCPU); the hypervisor and the partitions beside it go on.
 *
 * Each iteration fills a page with INT3 and puts at its middle 16-32 random bytes (from
 * xorshift64*, `seed=N`), a 16-byte NOP sled and UD2 (the landing), then jumps there with
 * every general register pointing into a scratch area (RCX a count below 4096, RSP a
 * scratch stack).  Every one of the 256 vectors is caught on its own stack (IST: 1 for
 * all, 2 for NMI and #MC, 3 for #DF) by the runtime's stubs: #UD at the landing is a
 * normal return, anything else is counted by vector.  Then GDT, IDT, TR, segment
 * registers, CR0/CR3/CR4/CR8, EFER, APIC_BASE and DR7 are loaded again from saved copies
 * and the next iteration starts.  The random bytes are not filtered: a loop, or HLT with
 * IF=0, is broken by the watchdog, the PIT's IRQ0 routed through the IOAPIC as an NMI
 * every 20 ms (re-armed before every iteration (`rearm=N`: every N) in case the bytes stopped it).
 *
 * The harness runs on its own page tables: RAM, the IOAPIC's and the LAPIC's pages, nothing
 * else (a wild access elsewhere is a #PF, not an access the hypervisor must emulate); only the harness's text and the snippet page are executable (EFER.NXE),
 * the text, IDT and page tables read-only (CR0.WP), so that a wild jump or store mostly
 * faults instead of corrupting the harness.  Each scratch page starts with the PML4's
 * first entry, so MOV to CR3 from a scratch register keeps the same mappings.
 *
 * Knobs: `seed=N` (1), `iterations=N` (2000), `progress=N` (500), `trace` or `trace-from=N`
 * (print every iteration's bytes and outcome, from iteration N on, to minimise a failing seed), `skip=N` (draw but do not
 * run the first N iterations: reaches iteration N of a seed quickly).
 */
#include "guest/lib/descriptors.h"
#include "guest/lib/guest.h"

DEFINE_TEST("crashme");

#define SCRATCH        0x2000000ul      /* 32 MiB: the partition needs 64 MiB */
#define SCRATCH_REGS   0x10000ul        /* registers point into [SCRATCH, +64 KiB) */
#define SCRATCH_SIZE   0x20000ul
#define SCRATCH_STACK  (SCRATCH + 0x18000ul)
#define SNIPPET_AT     0x800u
#define SLED           16
#define WATCHDOG_HZ    50u
#define PIT_HZ         1193182u
#define PIT_GSI        2
#define IOAPIC_BASE    0xfec00000ul
#define LAPIC_BASE     0xfee00000ul
#define SEL_TSS        0x20
#define OUTCOME_RETURNED 256
#define OUTCOMES       257

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

/* GDT and TSS share a writable page (LTR sets the busy bit). */
static struct {
    uint64_t gdt[6];
    struct tss64 tss;
} desc __attribute__((aligned(4096)));
static struct idt_gate idt[256] __attribute__((aligned(4096)));
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));
static uint64_t pt_low[512] __attribute__((aligned(4096)));
static uint64_t pt_mmio[2][512] __attribute__((aligned(4096)));
static uint8_t snippet_page[4096] __attribute__((aligned(4096)));
static uint8_t ist_stacks[3][8192] __attribute__((aligned(4096)));

extern const char isr_stubs_start[], __image_start[], __ex_table_end[];

/* Shared with the assembly below. */
uint64_t crashme_harness_rsp, crashme_entry;
volatile uint32_t crashme_in_snippet;
void crashme_resume(void);
uint64_t crashme_enter(const uint64_t *regs, uint64_t entry);

/*
 * regs: rax rbx rcx rdx rsi rdi rbp rsp r8..r15.  Returns what the trap handler puts in
 * RAX when it sends the CPU back to crashme_resume with RSP = crashme_harness_rsp.
 */
__asm__(
    "    .text\n"
    "    .globl crashme_enter, crashme_resume\n"
    "crashme_enter:\n"
    "    pushq %rbx\n    pushq %rbp\n    pushq %r12\n    pushq %r13\n    pushq %r14\n    pushq %r15\n"
    "    pushfq\n"
    "    movq %rsp, crashme_harness_rsp(%rip)\n"
    "    movq %rsi, crashme_entry(%rip)\n"
    "    movl $1, crashme_in_snippet(%rip)\n"
    "    movq 0(%rdi), %rax\n    movq 8(%rdi), %rbx\n    movq 16(%rdi), %rcx\n"
    "    movq 24(%rdi), %rdx\n    movq 32(%rdi), %rsi\n    movq 48(%rdi), %rbp\n"
    "    movq 56(%rdi), %rsp\n    movq 64(%rdi), %r8\n    movq 72(%rdi), %r9\n"
    "    movq 80(%rdi), %r10\n    movq 88(%rdi), %r11\n    movq 96(%rdi), %r12\n"
    "    movq 104(%rdi), %r13\n    movq 112(%rdi), %r14\n    movq 120(%rdi), %r15\n"
    "    movq 40(%rdi), %rdi\n"
    "    jmp *crashme_entry(%rip)\n"
    "crashme_resume:\n"
    "    popfq\n"
    "    popq %r15\n    popq %r14\n    popq %r13\n    popq %r12\n    popq %rbp\n    popq %rbx\n"
    "    ret\n");

static struct {
    uint64_t cr0, cr3, cr4, efer, apic_base;
    struct table_ptr gdtr, idtr;
} saved;

static struct rng rng;
static uint64_t counts[OUTCOMES];
static uint64_t landing, nmis_outside;
static struct {
    uint64_t vector, rip, error, cr2;
} last;

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

static void load_tr(void)
{
    desc.gdt[SEL_TSS / 8] &= ~(2ull << 40); /* not busy */
    __asm__ volatile("ltr %w0" : : "r"((uint16_t)SEL_TSS) : "memory");
}

/* Everything the bytes may have changed that the harness depends on. */
static void restore_state(void)
{
    __asm__ volatile("lgdt %0; lidt %1" : : "m"(saved.gdtr), "m"(saved.idtr) : "memory");
    __asm__ volatile("mov %0, %%ds; mov %0, %%es; mov %1, %%fs; mov %1, %%gs"
                     : : "r"((uint32_t)SEL_DATA), "r"(0u) : "memory");
    if (read_tr() != SEL_TSS)
        load_tr();
    if (read_cr0() != saved.cr0)
        write_cr0(saved.cr0);
    if (read_cr4() != saved.cr4)
        write_cr4(saved.cr4);
    write_cr3(saved.cr3);
    __asm__ volatile("mov %0, %%cr8" : : "r"(0ull));
    if (rdmsr(MSR_EFER) != saved.efer)
        wrmsr(MSR_EFER, saved.efer);
    if (rdmsr(MSR_APIC_BASE) != saved.apic_base)
        wrmsr(MSR_APIC_BASE, saved.apic_base);
    if (read_dr7() != 0x400)
        __asm__ volatile("mov %0, %%dr7" : : "r"(0x400ull));
}

static void trap(struct irq_frame *f)
{
    if (!__atomic_exchange_n(&crashme_in_snippet, 0, __ATOMIC_SEQ_CST)) {
        if (f->vector == VEC_NMI || f->vector >= 32) {
            nmis_outside++;
            return;
        }
        report_fatal("crashme: %s (vector %lu) in the harness at rip=%#lx error=%#lx",
                     exception_name((unsigned)f->vector), f->vector, f->rip, f->error);
    }
    restore_state();
    last.vector = f->vector;
    last.rip = f->rip;
    last.error = f->error;
    last.cr2 = f->vector == VEC_PF ? read_cr2() : 0;
    f->rax = f->vector == VEC_UD && f->rip == landing ? OUTCOME_RETURNED : f->vector;
    f->rip = (uint64_t)(uintptr_t)crashme_resume;
    f->cs = SEL_CODE64;
    f->rflags = 0x2;
    f->rsp = crashme_harness_rsp;
    f->ss = SEL_DATA;
}

static void ioapic_write_rte(unsigned pin, uint32_t lo, uint32_t hi)
{
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * pin + 1);
    mmio_write32(IOAPIC_BASE + 0x10, hi);
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * pin);
    mmio_write32(IOAPIC_BASE + 0x10, lo);
}

static void watchdog_arm(void)
{
    ioapic_write_rte(PIT_GSI, 4u << 8 /* NMI */, lapic_id() << 24);
    uint16_t count = (uint16_t)(PIT_HZ / WATCHDOG_HZ);
    outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 (rate generator) */
    outb(0x40, (uint8_t)count);
    outb(0x40, (uint8_t)(count >> 8));
}

static void tables_init(void)
{
    desc.gdt[1] = 0x00af9b000000ffffull; /* code64, accessed */
    desc.gdt[2] = 0x00cf93000000ffffull; /* data, accessed */
    desc.gdt[3] = 0x00cf9b000000ffffull; /* code32, accessed */
    gdt_tss_descriptor(&desc.gdt[4], &desc.tss, sizeof(desc.tss));
    for (int i = 0; i < 3; i++)
        desc.tss.ist[i] = (uint64_t)(uintptr_t)&ist_stacks[i][8192 - 64];
    desc.tss.rsp[0] = desc.tss.ist[0];
    desc.tss.iomap_base = sizeof(desc.tss);
    for (unsigned v = 0; v < 256; v++) {
        uint64_t a = (uint64_t)(uintptr_t)(isr_stubs_start + 16 * v);
        idt[v] = idt_interrupt_gate(a, SEL_CODE64, v == VEC_NMI || v == 18 ? 2 : v == 8 ? 3 : 1);
        irq_set_handler((uint8_t)v, trap);
    }
    saved.gdtr = (struct table_ptr){ sizeof(desc.gdt) - 1, (uint64_t)(uintptr_t)desc.gdt };
    saved.idtr = (struct table_ptr){ sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
    __asm__ volatile("lgdt %0; lidt %1" : : "m"(saved.gdtr), "m"(saved.idtr) : "memory");
    __asm__ volatile("pushq %0; leaq 1f(%%rip), %%rax; pushq %%rax; lretq; 1:"
                     : : "i"(SEL_CODE64) : "rax", "memory");
    __asm__ volatile("mov %0, %%ss" : : "r"((uint32_t)SEL_DATA));
    load_tr();
}

static bool in_range(uint64_t a, const void *start, const void *end)
{
    return a >= (uint64_t)(uintptr_t)start && a < (uint64_t)(uintptr_t)end;
}

/* RAM, the IOAPIC's and the LAPIC's pages; harness text and the snippet page executable. */
static bool paging_init(uint64_t ram_top, bool nx)
{
    uint64_t text_end = ((uint64_t)(uintptr_t)__ex_table_end + 4095) & ~4095ull;
    if ((uint64_t)image_end() > 0x200000 || ram_top < SCRATCH + SCRATCH_SIZE)
        return false;
    uint64_t x = nx ? PTE_NX : 0, a = PTE_A | PTE_D;
    for (uint64_t i = 0; i < 512; i++) {
        uint64_t page = i << 12, fl = PTE_P | PTE_RW | a | x;
        if (page >= (uint64_t)(uintptr_t)__image_start && page < text_end)
            fl = PTE_P | a;
        else if (page == (uint64_t)(uintptr_t)snippet_page)
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
    if (nx)
        wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
    write_cr3((uint64_t)(uintptr_t)pml4);
    write_cr0(read_cr0() | CR0_WP);
    return true;
}

static void scratch_init(void)
{
    for (uint64_t *p = (uint64_t *)SCRATCH; p < (uint64_t *)(SCRATCH + SCRATCH_SIZE); p++)
        *p = rng_next(&rng);
}

/* One iteration's bytes and registers, drawn whether it runs or not (skip=N). */
static unsigned draw(uint8_t *bytes, uint64_t *regs)
{
    unsigned n = 16 + (unsigned)(rng_next(&rng) % 17);
    for (unsigned i = 0; i < n; i += 8) {
        uint64_t r = rng_next(&rng);
        for (unsigned k = 0; k < 8 && i + k < n; k++)
            bytes[i + k] = (uint8_t)(r >> (8 * k));
    }
    for (int i = 0; i < 16; i++)
        regs[i] = SCRATCH + (rng_next(&rng) & (SCRATCH_REGS - 8));
    regs[2] &= 0xfff;        /* RCX: a count, so REP and LOOP end */
    regs[7] = SCRATCH_STACK; /* RSP */
    return n;
}

static uint64_t run_one(const uint8_t *bytes, unsigned n, const uint64_t *regs)
{
    memset(snippet_page, 0xcc, sizeof(snippet_page));
    memcpy(snippet_page + SNIPPET_AT, bytes, n);
    memset(snippet_page + SNIPPET_AT + n, 0x90, SLED);
    uint8_t *ud2 = snippet_page + SNIPPET_AT + n + SLED;
    ud2[0] = 0x0f;
    ud2[1] = 0x0b;
    landing = (uint64_t)(uintptr_t)ud2;
    for (uint64_t off = 0; off < SCRATCH_REGS; off += 4096)
        *(volatile uint64_t *)(SCRATCH + off) = pml4[0];
    return crashme_enter(regs, (uint64_t)(uintptr_t)(snippet_page + SNIPPET_AT));
}

static void print_counts(const char *what, uint64_t done)
{
    printf("crashme: %s %lu iterations: returned=%lu", what, done, counts[OUTCOME_RETURNED]);
    for (unsigned v = 0; v < 256; v++)
        if (counts[v])
            printf(" %s%s%u=%lu", v < 32 ? exception_name(v) : "int", v < 32 ? "/" : "", v,
                   counts[v]);
    printf(" (nmi outside %lu)\n", nmis_outside);
}

void test_main(void)
{
    uint64_t seed = cmdline_u64("seed", 1), iterations = cmdline_u64("iterations", 2000);
    uint64_t progress = cmdline_u64("progress", 500), skip = cmdline_u64("skip", 0);
    uint64_t rearm = cmdline_u64("rearm", 1);
    rearm = rearm ? rearm : 1;
    uint64_t trace_from = cmdline_has("trace") ? 0 : cmdline_u64("trace-from", ~0ull);
    printf("crashme: seed=%lu iterations=%lu\n", seed, iterations);
    rng.state = seed ? seed : 1;

    tables_init();
    bool nx = cpu_has(0x80000001, 'd', 20);
    if (!report(paging_init(boot_ram_end(), nx),
                "page tables: RAM to %#lx, image below 2 MiB, scratch at %#lx (NX %s)",
                boot_ram_end(), SCRATCH, nx ? "on" : "not offered"))
        test_finish();
    lapic_enable(LAPIC_XAPIC);
    scratch_init();
    saved.cr0 = read_cr0();
    saved.cr3 = read_cr3();
    saved.cr4 = read_cr4();
    saved.efer = rdmsr(MSR_EFER);
    saved.apic_base = rdmsr(MSR_APIC_BASE);
    cli();
    watchdog_arm();

    uint8_t bytes[32];
    uint64_t regs[16];
    for (uint64_t i = 0; i < iterations; i++) {
        unsigned n = draw(bytes, regs);
        if (i < skip)
            continue;
        bool trace = i >= trace_from;
        if (trace) {
            printf("crashme: %lu: [rsp]=%#lx:", i, *(volatile uint64_t *)SCRATCH_STACK);
            for (unsigned k = 0; k < n; k++)
                printf(" %02x", bytes[k]);
            printf("\n");
        }
        if (i % rearm == 0)
            watchdog_arm();
        uint64_t outcome = run_one(bytes, n, regs);
        counts[outcome < OUTCOMES ? outcome : OUTCOME_RETURNED]++;
        if (trace)
            printf("crashme: %lu: %s vector %lu rip=%#lx error=%#lx cr2=%#lx\n", i,
                   outcome == OUTCOME_RETURNED ? "returned" : "fault", last.vector, last.rip,
                   last.error, last.cr2);
        if (progress && (i + 1) % progress == 0)
            print_counts("after", i + 1);
    }
    print_counts("done:", iterations - skip);
    report(true, "%lu iterations of seed %lu run, the harness intact", iterations - skip, seed);
    test_finish();
}
