#include "guest/lib/lapic.h"

#include "guest/lib/exceptions.h"
#include "guest/lib/x86.h"

#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_X2APIC (1ull << 10)
#define APIC_BASE_ADDR_MASK 0x000ffffffffff000ull
#define ICR_NMI       0x400u
#define ICR_INIT      0x500u
#define ICR_STARTUP   0x600u
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_PENDING   (1u << 12)
#define MAX_ICR_POLLS 1000000

/* Per-CPU state would need per-CPU data; every CPU of a test uses the same mode. */
static volatile enum lapic_mode mode;
static volatile uintptr_t mmio_base = 0xfee00000;

bool lapic_has_x2apic(void) { return cpu_has(1, 'c', 21); }
bool lapic_has_tsc_deadline(void) { return cpu_has(1, 'c', 24); }
enum lapic_mode lapic_mode(void) { return mode; }

static void spurious(struct irq_frame *f) { (void)f; }

bool lapic_enable(enum lapic_mode want)
{
    if (want == LAPIC_X2APIC && !lapic_has_x2apic())
        return false;
    uint64_t base = rdmsr(MSR_APIC_BASE);
    mmio_base = (uintptr_t)(base & APIC_BASE_ADDR_MASK);
    if (want == LAPIC_X2APIC)
        base |= APIC_BASE_ENABLE | APIC_BASE_X2APIC;
    else if (base & APIC_BASE_X2APIC)
        return false; /* leaving x2APIC needs a full disable first; tests never do */
    else
        base |= APIC_BASE_ENABLE;
    wrmsr(MSR_APIC_BASE, base);
    mode = want;
    irq_set_handler(APIC_SPURIOUS_VECTOR, spurious);
    lapic_write(APIC_TPR, 0);
    lapic_write(APIC_LVT_LINT0, LVT_MASKED);
    lapic_write(APIC_LVT_LINT1, LVT_MASKED);
    lapic_write(APIC_LVT_TIMER, LVT_MASKED);
    lapic_write(APIC_SVR, 0x100 | APIC_SPURIOUS_VECTOR);
    return true;
}

static uint32_t x2apic_msr(uint32_t reg) { return 0x800 + (reg >> 4); }

uint32_t lapic_read(uint32_t reg)
{
    if (mode == LAPIC_X2APIC)
        return (uint32_t)rdmsr(x2apic_msr(reg));
    return mmio_read32(mmio_base + reg);
}

void lapic_write(uint32_t reg, uint32_t val)
{
    if (mode == LAPIC_X2APIC)
        wrmsr(x2apic_msr(reg), val);
    else
        mmio_write32(mmio_base + reg, val);
}

uint32_t lapic_id(void)
{
    uint32_t id = lapic_read(APIC_ID);
    return mode == LAPIC_X2APIC ? id : id >> 24;
}

void lapic_eoi(void)
{
    lapic_write(APIC_EOI, 0);
}

static void send_icr(uint32_t apic_id, uint32_t low)
{
    if (mode == LAPIC_X2APIC) {
        wrmsr(x2apic_msr(APIC_ICR), ((uint64_t)apic_id << 32) | low);
        return;
    }
    mmio_write32(mmio_base + APIC_ICR_HIGH, apic_id << 24);
    mmio_write32(mmio_base + APIC_ICR, low);
    for (int i = 0; i < MAX_ICR_POLLS && (mmio_read32(mmio_base + APIC_ICR) & ICR_PENDING); i++)
        pause();
}

void lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
    send_icr(apic_id, vector);
}

void lapic_send_nmi(uint32_t apic_id)
{
    send_icr(apic_id, ICR_NMI);
}

void lapic_send_init(uint32_t apic_id)
{
    send_icr(apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
}

void lapic_send_sipi(uint32_t apic_id, uint8_t page)
{
    send_icr(apic_id, ICR_STARTUP | ICR_LEVEL_ASSERT | page);
}

static void timer_arm(uint32_t lvt, uint32_t count)
{
    lapic_write(APIC_TIMER_DIV, 0xb); /* divide by 1 */
    lapic_write(APIC_LVT_TIMER, lvt);
    lapic_write(APIC_TIMER_INIT, count);
}

void lapic_timer_oneshot(uint8_t vector, uint32_t count)
{
    timer_arm(vector, count);
}

void lapic_timer_periodic(uint8_t vector, uint32_t count)
{
    timer_arm(LVT_TIMER_PERIODIC | vector, count);
}

void lapic_timer_deadline_mode(uint8_t vector)
{
    lapic_write(APIC_LVT_TIMER, LVT_TIMER_DEADLINE | vector);
    __asm__ volatile("mfence" : : : "memory"); /* SDM: order the LVT write before the MSR */
}

void lapic_timer_stop(void)
{
    lapic_write(APIC_LVT_TIMER, LVT_MASKED);
    lapic_write(APIC_TIMER_INIT, 0);
    if (lapic_has_tsc_deadline())
        wrmsr(MSR_TSC_DEADLINE, 0);
}
