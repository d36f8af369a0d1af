#include "hv/arch/x86/lapic.h"

#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/idt.h"
#include "hv/arch/x86/percpu.h"
#include "hv/arch/x86/tsc.h"
#include "hv/mm/kmem.h"

enum {
    LAPIC_ID = 0x20, LAPIC_TPR = 0x80, LAPIC_EOI = 0xb0, LAPIC_SVR = 0xf0,
    LAPIC_ICR_LO = 0x300, LAPIC_ICR_HI = 0x310, LAPIC_LVT_TIMER = 0x320,
    LAPIC_LVT_LINT0 = 0x350, LAPIC_LVT_LINT1 = 0x360, LAPIC_LVT_ERROR = 0x370,
    LAPIC_TIMER_INIT = 0x380, LAPIC_TIMER_CUR = 0x390, LAPIC_TIMER_DIV = 0x3e0,
};

#define ICR_PENDING   (1u << 12)
#define ICR_ASSERT    (1u << 14)
#define ICR_LEVEL     (1u << 15)
#define LVT_MASKED    (1u << 16)

static volatile uint32_t *regs;
static uint64_t timer_ticks_per_ms;

static uint32_t rd(unsigned r) { return regs[r / 4]; }
static void wr(unsigned r, uint32_t v) { regs[r / 4] = v; }

static void spurious(struct trap_frame *f) { (void)f; }

void lapic_init(void)
{
    uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
    wrmsr(MSR_IA32_APIC_BASE, base | (1u << 11));     /* global enable (xAPIC) */
    regs = phys_to_virt(base & ~0xfffull);
    wr(LAPIC_TPR, 0);
    wr(LAPIC_LVT_TIMER, LVT_MASKED | VEC_LAPIC_TIMER);
    wr(LAPIC_LVT_LINT0, LVT_MASKED);
    wr(LAPIC_LVT_LINT1, LVT_MASKED);
    wr(LAPIC_LVT_ERROR, LVT_MASKED);
    wr(LAPIC_SVR, 0x100 | VEC_SPURIOUS);
    idt_set_handler(VEC_SPURIOUS, spurious);
    wr(LAPIC_EOI, 0);
}

uint32_t lapic_id(void) { return rd(LAPIC_ID) >> 24; }
void lapic_eoi(void) { wr(LAPIC_EOI, 0); }

static void send_icr(uint32_t apic_id, uint32_t lo)
{
    wr(LAPIC_ICR_HI, apic_id << 24);
    wr(LAPIC_ICR_LO, lo);
    for (unsigned long spins = 0; (rd(LAPIC_ICR_LO) & ICR_PENDING) && spins < 10000000ul; spins++)
        cpu_relax();
}

void lapic_send_ipi(uint32_t apic_id, uint8_t vector) { send_icr(apic_id, ICR_ASSERT | vector); }
void lapic_send_init(uint32_t apic_id) { send_icr(apic_id, ICR_ASSERT | ICR_LEVEL | (5u << 8)); }
void lapic_send_sipi(uint32_t apic_id, uint8_t page) { send_icr(apic_id, ICR_ASSERT | (6u << 8) | page); }

#define ICR_ALL_BUT_SELF (3u << 18)
void lapic_broadcast_init(void) { send_icr(0, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_LEVEL | (5u << 8)); }
void lapic_broadcast_sipi(uint8_t page) { send_icr(0, ICR_ALL_BUT_SELF | ICR_ASSERT | (6u << 8) | page); }

void lapic_timer_calibrate(void)
{
    wr(LAPIC_TIMER_DIV, 0x3);       /* divide by 16 */
    wr(LAPIC_LVT_TIMER, LVT_MASKED | VEC_LAPIC_TIMER);
    wr(LAPIC_TIMER_INIT, 0xffffffffu);
    pit_wait_ms(10);
    uint32_t elapsed = 0xffffffffu - rd(LAPIC_TIMER_CUR);
    wr(LAPIC_TIMER_INIT, 0);
    timer_ticks_per_ms = elapsed / 10 ? elapsed / 10 : 1;
}

void lapic_timer_oneshot_ns(uint64_t ns)
{
    wr(LAPIC_TIMER_DIV, 0x3);
    wr(LAPIC_LVT_TIMER, VEC_LAPIC_TIMER);
    uint64_t ticks = ns ? (ns * timer_ticks_per_ms) / 1000000ull : 0;
    if (ns && ticks == 0)
        ticks = 1;
    wr(LAPIC_TIMER_INIT, ticks > 0xffffffffu ? 0xffffffffu : (uint32_t)ticks);
}

static uint64_t halted_tsc[MAX_CPUS];

void lapic_halt_ns(uint64_t ns)
{
    irq_disable();
    lapic_timer_oneshot_ns(ns ? ns : 1000);
    uint64_t t0 = rdtsc();
    __asm__ volatile("sti; hlt; cli" ::: "memory");
    halted_tsc[this_cpu()->index % MAX_CPUS] += rdtsc() - t0;
    irq_enable();
}

uint64_t lapic_halted_tsc(void)
{
    return halted_tsc[this_cpu()->index % MAX_CPUS];
}
