/*
 * NMIs through the LAPIC (ICR delivery mode NMI, physical destination):
 *  - one sent to this CPU is taken although interrupts are disabled;
 *  - one sent from inside the NMI handler does not nest: it waits for the handler's IRET
 *    and is taken right after it;
 *  - with 2+ vCPUs, an AP halted with interrupts disabled (cli; hlt) is woken by an NMI
 *    from the BSP, once per NMI.
 */
#include "guest/lib/guest.h"

DEFINE_TEST("nmi");

#define WAIT_US 1000000

static volatile unsigned nmis, depth, max_depth;
static volatile unsigned resend_in_handler;     /* NMIs to send from inside the handler */
static volatile unsigned ap_nmis, ap_wakes;
static volatile bool ap_halting, ap_stop;
static uint32_t self_id;

static void on_nmi(struct irq_frame *f)
{
    unsigned d = __atomic_add_fetch(&depth, 1, __ATOMIC_RELAXED);
    if (d > max_depth)
        max_depth = d;
    if (lapic_id() != self_id) {
        __atomic_fetch_add(&ap_nmis, 1, __ATOMIC_RELEASE);
    } else {
        __atomic_fetch_add(&nmis, 1, __ATOMIC_RELEASE);
        if (resend_in_handler) {
            unsigned n = resend_in_handler;
            resend_in_handler = 0;
            for (unsigned i = 0; i < n; i++)
                lapic_send_nmi(self_id);
            udelay(2000);               /* a nested NMI would arrive here */
        }
    }
    __atomic_sub_fetch(&depth, 1, __ATOMIC_RELAXED);
}

static bool wait_count(volatile unsigned *counter, unsigned n)
{
    uint64_t start = rdtsc(), limit = WAIT_US * (tsc_hz() / 1000000);
    while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < n && rdtsc() - start < limit)
        pause();
    return *counter >= n;
}

static void ap_main(unsigned cpu)
{
    cli();
    while (!ap_stop) {
        ap_halting = true;
        __asm__ volatile("hlt" ::: "memory");
        __atomic_fetch_add(&ap_wakes, 1, __ATOMIC_RELEASE);
    }
}

static void halted_ap_is_woken(void)
{
    if (boot.cpus < 2) {
        report_skip("waking a halted AP needs 2 vCPUs, the partition has %u", boot.cpus);
        return;
    }
    if (!report(smp_start_ap(1, 1, ap_main), "AP 1 started"))
        return;
    for (unsigned i = 1; i <= 3; i++) {
        while (!ap_halting)
            pause();
        udelay(1000);                   /* let it reach HLT */
        ap_halting = false;
        lapic_send_nmi(1);
        bool woke = wait_count(&ap_wakes, i);
        unsigned got = ap_nmis, wakes = ap_wakes;
        report(woke && got == i && wakes == i,
               "AP halted with interrupts off: NMI %u woke it (%u NMIs, %u wakes)", i, got, wakes);
    }
    ap_stop = true;
    while (!ap_halting)
        pause();
    lapic_send_nmi(1);
}

void test_main(void)
{
    irq_set_handler(VEC_NMI, on_nmi);
    lapic_enable(LAPIC_XAPIC);
    self_id = lapic_id();
    cli();
    lapic_send_nmi(self_id);
    report(wait_count(&nmis, 1), "NMI to self taken with interrupts disabled (%u)", nmis);

    resend_in_handler = 1;
    lapic_send_nmi(self_id);
    bool both = wait_count(&nmis, 3);
    unsigned taken = nmis;
    report(both && taken == 3, "the NMI sent inside the handler was taken after its IRET "
           "(%u in all)", taken);

    /* While one NMI is handled (blocked until IRET) the CPU latches one more; the others
     * are lost: three sent inside the handler make one more NMI, not three or two. */
    resend_in_handler = 3;
    lapic_send_nmi(self_id);
    wait_count(&nmis, 5);
    udelay(20000);
    report(nmis == 5, "three NMIs sent inside the handler: one latched and taken after its "
           "IRET, the others lost (%u in all, 5 expected)", nmis);
    report(max_depth == 1, "NMIs never nested (deepest %u)", max_depth);

    halted_ap_is_woken();
}
