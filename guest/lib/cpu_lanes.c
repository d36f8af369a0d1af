#include "guest/lib/cpu_lanes.h"

#include "guest/lib/bootinfo.h"
#include "guest/lib/exceptions.h"
#include "guest/lib/lapic.h"
#include "guest/lib/layout.h"
#include "guest/lib/smp.h"
#include "guest/lib/x86.h"

#define LANE_SPINS 2000

static unsigned lanes = 1;
static uint32_t lane_apic[CPU_LANES_MAX];
static uint64_t generation, jobs;
static unsigned finished;
static unsigned caller_waits;           /* the BSP sleeps until the last lane's IPI */
static uint32_t caller_apic;
static void (*job_fn)(void *arg, unsigned lane);
static void *job_arg;

static void on_lanes_ipi(struct irq_frame *f)
{
    (void)f;
    lapic_eoi();
}

static void lane_main(unsigned lane)
{
    uint64_t seen = 0;
    for (;;) {
        cli();
        while (__atomic_load_n(&generation, __ATOMIC_ACQUIRE) == seen) {
            sti_hlt();
            cli();
        }
        sti();
        seen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
        job_fn(job_arg, lane);
        if (__atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST) == lanes - 1 &&
            __atomic_load_n(&caller_waits, __ATOMIC_SEQ_CST))
            lapic_send_ipi(caller_apic, CPU_LANES_VECTOR);
    }
}

unsigned cpu_lanes_start(unsigned want)
{
    if (lanes > 1)
        return lanes;
    if (want > boot.cpus)
        want = boot.cpus;
    if (want > CPU_LANES_MAX)
        want = CPU_LANES_MAX;
    if (want > MAX_CPUS)
        want = MAX_CPUS;
    irq_set_handler(CPU_LANES_VECTOR, on_lanes_ipi);
    caller_apic = lapic_id();
    /* lanes are numbered as they start, so a vCPU that does not is not waited for */
    for (unsigned id = 1; id < want; id++)
        if (smp_start_ap(id, lanes, lane_main))
            lane_apic[lanes++] = id;
    return lanes;
}

void cpu_lanes_run(void *ctx, void (*job)(void *arg, unsigned lane), void *arg)
{
    (void)ctx;
    job_fn = job;
    job_arg = arg;
    jobs++;
    __atomic_store_n(&finished, 0, __ATOMIC_RELAXED);
    __atomic_fetch_add(&generation, 1, __ATOMIC_RELEASE);
    for (unsigned l = 1; l < lanes; l++)
        lapic_send_ipi(lane_apic[l], CPU_LANES_VECTOR);
    job(arg, 0);
    /* A lane's vCPU may wait for the CPU this one holds: spin a little, then sleep until
     * the last lane's IPI (caller_waits set before finished is read again, so either that
     * read sees the lane's count or the lane sees caller_waits). */
    for (unsigned spins = 0; __atomic_load_n(&finished, __ATOMIC_ACQUIRE) != lanes - 1; spins++) {
        if (spins < LANE_SPINS) {
            pause();
            continue;
        }
        cli();
        __atomic_store_n(&caller_waits, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&finished, __ATOMIC_SEQ_CST) != lanes - 1)
            sti_hlt();
        else
            sti();
        __atomic_store_n(&caller_waits, 0, __ATOMIC_SEQ_CST);
    }
}

uint64_t cpu_lanes_jobs(void)
{
    return jobs;
}
