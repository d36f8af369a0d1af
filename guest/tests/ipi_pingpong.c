/*
 * IPIs between two vCPUs of one partition, back and forth `rounds=N` times (default 200):
 * the BSP sends vector A to the AP, whose handler sends vector B back; the BSP spins
 * until it comes, as a TLB shootdown spins for its acknowledgements.  Prints the mean
 * round trip in TSC and microseconds.  When both vCPUs share a physical CPU the receiver
 * can only run once the sender gives the CPU up, so the hypervisor must hand it over at
 * the IPI, not at the end of the sender's time slice: a bound of `max_us=N` per round
 * trip (default 5000, half a slice) is checked.
 */
#include "guest/lib/guest.h"

DEFINE_TEST("ipi_pingpong");

#define VEC_PING 0x50
#define VEC_PONG 0x51

static volatile unsigned pings, pongs;
static volatile bool ap_ready;

static void on_ping(struct irq_frame *f)
{
    pings++;
    lapic_eoi();
    lapic_send_ipi(0, VEC_PONG);
}

static void on_pong(struct irq_frame *f)
{
    pongs++;
    lapic_eoi();
}

static void ap_main(unsigned cpu)
{
    ap_ready = true;
    sti();
    for (;;)
        __asm__ volatile("hlt");
}

void test_main(void)
{
    unsigned rounds = (unsigned)cmdline_u64("rounds", 200);
    uint64_t max_us = cmdline_u64("max_us", 5000);
    if (boot.cpus < 2) {
        report_skip("IPI ping-pong needs 2 vCPUs, the partition has %u", boot.cpus);
        return;
    }
    irq_set_handler(VEC_PING, on_ping);
    irq_set_handler(VEC_PONG, on_pong);
    lapic_enable(LAPIC_XAPIC);
    if (!report(smp_start_ap(1, 1, ap_main), "AP 1 started"))
        return;
    while (!ap_ready)
        pause();
    sti();
    uint64_t limit = tsc_hz() * 10, start = rdtsc();
    unsigned done = 0;
    for (; done < rounds && rdtsc() - start < limit; done++) {
        unsigned want = pongs + 1;
        lapic_send_ipi(1, VEC_PING);
        while (pongs < want && rdtsc() - start < limit)
            pause();                /* spins, as a TLB shootdown waits for its acks */
    }
    uint64_t took = rdtsc() - start;
    cli();
    uint64_t per = done ? took / done : 0;
    report(done == rounds && pongs == rounds, "%u of %u IPI round trips (%u pings taken)", done,
           rounds, pings);
    report(done == rounds && tsc_to_us(per) <= max_us, "an IPI round trip takes %lu TSC (%lu "
           "us; bound %lu us)", per, tsc_to_us(per), max_us);
}
