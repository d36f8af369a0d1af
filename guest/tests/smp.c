/*
 * SMP: the BSP starts every AP with INIT-SIPI-SIPI (APIC IDs 1..cpus-1), each AP sends the
 * BSP an IPI on its own vector (IPIs on one vector coalesce while the BSP has interrupts
 * off), the BSP answers each AP with one, and every CPU reports what it received.
 * Uses x2APIC when the command line says `x2apic` and the CPU offers it, else xAPIC.
 */
#include "guest/lib/guest.h"

DEFINE_TEST("smp");

#define AP_IPI_VECTOR  0x50   /* the BSP's IPI to an AP */
#define BSP_IPI_VECTOR 0x60   /* + AP number: an AP's IPI to the BSP */
#define WAIT_US        1000000

static volatile unsigned ipis[MAX_CPUS];      /* received, by receiving APIC id */
static volatile unsigned from_ap[MAX_CPUS];   /* received by the BSP, by sending AP */
static volatile unsigned from_ap_total;
static volatile unsigned ap_done[MAX_CPUS];
static uint32_t bsp_id;

static void on_ipi(struct irq_frame *f)
{
    uint32_t id = lapic_id();
    if (id < MAX_CPUS)
        __atomic_fetch_add(&ipis[id], 1, __ATOMIC_RELAXED);
    lapic_eoi();
}

static void on_ap_ipi(struct irq_frame *f)
{
    __atomic_fetch_add(&from_ap[f->vector - BSP_IPI_VECTOR], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&from_ap_total, 1, __ATOMIC_RELEASE);
    lapic_eoi();
}

static bool wait_for(volatile unsigned *counter, unsigned n, uint64_t us)
{
    uint64_t start = rdtsc(), limit = us * (tsc_hz() / 1000000);
    sti();
    while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < n && rdtsc() - start < limit)
        pause();
    cli();
    return *counter >= n;
}

static void ap_main(unsigned cpu)
{
    uint32_t id = lapic_id();
    report(id == cpu && id != bsp_id, "AP %u running, APIC id %u", cpu, id);
    if (atoll_present()) {
        int64_t vcpu = hypercall(HC_VCPU_ID, 0, 0, 0, 0);
        report(vcpu == (int64_t)cpu, "AP %u: HC_VCPU_ID returns %ld", cpu, vcpu);
    }
    lapic_send_ipi(bsp_id, (uint8_t)(BSP_IPI_VECTOR + cpu));
    report(wait_for(&ipis[id], 1, 10 * WAIT_US), "AP %u received the BSP's IPI", cpu);
    __atomic_store_n(&ap_done[cpu], 1, __ATOMIC_RELEASE);
}

static unsigned start_aps(unsigned n)
{
    unsigned started = 0;
    for (unsigned cpu = 1; cpu < n; cpu++) {
        bool ok = smp_start_ap(cpu, cpu, ap_main);
        report(ok, "AP %u started with INIT-SIPI-SIPI", cpu);
        started += ok;
    }
    return started;
}

void test_main(void)
{
    unsigned n = boot.cpus < MAX_CPUS ? boot.cpus : MAX_CPUS;
    enum lapic_mode mode = cmdline_has("x2apic") && lapic_has_x2apic() ? LAPIC_X2APIC : LAPIC_XAPIC;
    irq_set_handler(AP_IPI_VECTOR, on_ipi);
    for (unsigned cpu = 1; cpu < MAX_CPUS; cpu++)
        irq_set_handler((uint8_t)(BSP_IPI_VECTOR + cpu), on_ap_ipi);
    lapic_enable(mode);
    bsp_id = lapic_id();
    printf("smp: %u CPUs, %s, BSP APIC id %u\n", boot.cpus,
           mode == LAPIC_X2APIC ? "x2APIC" : "xAPIC", bsp_id);
    if (n < 2) {
        report_skip("SMP needs at least 2 vCPUs, the partition has %u", boot.cpus);
        return;
    }
    unsigned started = start_aps(n);
    bool all = wait_for(&from_ap_total, started, WAIT_US);
    report(all, "BSP received IPIs from %u of %u AP(s)", from_ap_total, started);
    for (unsigned cpu = 1; cpu < n; cpu++) {
        report(from_ap[cpu] == 1, "BSP got exactly one IPI from AP %u", cpu);
        lapic_send_ipi(cpu, AP_IPI_VECTOR);
        report(wait_for(&ap_done[cpu], 1, WAIT_US), "AP %u finished", cpu);
    }
    report(smp_cpus_online() == n, "%u of %u CPUs online", smp_cpus_online(), n);
}
