/*
 * HLT with interrupts off waits for an NMI, as hardware does (SDM Vol. 2 HLT: "an NMI, SMI,
 * INIT or RESET resumes execution"): with the PIT's IRQ0 routed through IOAPIC pin 2 as an
 * NMI and the PIT counting down 10 ms, `cli; hlt` is woken by that NMI.  The hypervisor
 * must not end the partition as "every vCPU halted with interrupts disabled" while an
 * NMI source is armed.  Then, with nothing armed, `cli; hlt` must end it (the scenario
 * expects that kill).
 */
#include "guest/lib/guest.h"

DEFINE_TEST("hlt_nmi_wake");

#define IOAPIC_BASE 0xfec00000ul
#define PIT_GSI     2
#define DM_NMI      (4u << 8)
#define PIT_HZ      1193182u

static volatile unsigned nmis;

static void on_nmi(struct irq_frame *f) { nmis++; }

static void ioapic_write_rte(unsigned pin, uint32_t lo, uint32_t hi)
{
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * pin + 1);
    mmio_write32(IOAPIC_BASE + 0x10, hi);
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * pin);
    mmio_write32(IOAPIC_BASE + 0x10, lo);
}

void test_main(void)
{
    tsc_hz();
    lapic_enable(LAPIC_XAPIC);
    irq_set_handler(VEC_NMI, on_nmi);
    ioapic_write_rte(PIT_GSI, DM_NMI, lapic_id() << 24);
    uint16_t count = PIT_HZ / 100;
    cli();
    outb(0x43, 0x30);                       /* channel 0, lobyte/hibyte, mode 0 */
    outb(0x40, (uint8_t)count);
    outb(0x40, (uint8_t)(count >> 8));
    __asm__ volatile("hlt" ::: "memory");
    report(nmis == 1, "cli; hlt woken by the PIT's NMI through the IOAPIC (%u NMIs)", nmis);
    ioapic_write_rte(PIT_GSI, 1u << 16, 0);
    test_print_result();
    printf("halting with nothing armed\n");
    __asm__ volatile("cli; hlt" ::: "memory");
    printf("FAIL: woke with nothing armed\n");
    guest_exit(EXIT_FAIL);
}
