#include "hv/core/partition_pause.h"

#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/partition_disks.h"
#include "hv/core/sched.h"
#include "hv/lib/format.h"

/* A vCPU leaves at its next exit, which the nudge's IPI forces; one that has not left
 * after this long is stuck in the hypervisor, and its partition cannot be paused. */
#define PAUSE_TIMEOUT_NS 2000000000ull
#define NUDGE_EVERY_US   1000

/* The vCPU still on a CPU, or -1 when none is. */
static int vcpu_on_cpu(struct partition *p)
{
    for (unsigned i = 0; i < p->vcpu_count; i++)
        if (sched_vcpu_on_cpu(p->vcpus[i]) || p->vcpus[i]->in_guest)
            return (int)i;
    return -1;
}

bool partition_pause(struct partition *p, struct partition_pause *at, char *err,
                     size_t err_size)
{
    enum partition_state running = PART_RUNNING;
    if (!__atomic_compare_exchange_n(&p->state, &running, PART_PAUSED, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST)) {
        fmt_snprintf(err, err_size, "%s is not running", p->name);
        return false;
    }
    uint64_t give_up = time_ns() + PAUSE_TIMEOUT_NS;
    for (;;) {
        if (p->state == PART_DEAD) {
            fmt_snprintf(err, err_size, "%s ended while it was being paused", p->name);
            return false;
        }
        int on = vcpu_on_cpu(p);
        if (on < 0)
            break;
        if (time_ns() > give_up) {
            partition_kill(p, "vcpu%d did not leave its CPU to be paused", on);
            fmt_snprintf(err, err_size, "%s: vcpu%d did not leave its CPU; the partition is ended",
                         p->name, on);
            return false;
        }
        for (unsigned i = 0; i < p->vcpu_count; i++)
            if (sched_vcpu_on_cpu(p->vcpus[i]))
                sched_nudge(p->vcpus[i]);
        udelay(NUDGE_EVERY_US);
    }
    at->host_tsc = rdtsc();
    at->guest_ns = time_ns() - p->start_ns;
    partition_disks_quiesce(p);
    return true;
}

uint64_t partition_resume_clock(struct partition *p, const struct partition_pause *at)
{
    uint64_t tsc = rdtsc();
    p->start_ns = time_ns() - at->guest_ns;
    return tsc - at->host_tsc;
}

void partition_resume(struct partition *p, const struct partition_pause *at)
{
    uint64_t elapsed = partition_resume_clock(p, at);
    for (unsigned i = 0; i < p->vcpu_count; i++)
        p->vcpus[i]->msrs.tsc_offset -= elapsed;
    partition_disks_resume(p);
    enum partition_state paused = PART_PAUSED;
    if (!__atomic_compare_exchange_n(&p->state, &paused, PART_RUNNING, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST))
        return;
    for (unsigned i = 0; i < p->vcpu_count; i++)
        sched_nudge(p->vcpus[i]);
}
