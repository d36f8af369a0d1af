/*
 * Scheduling vCPUs on physical CPUs: each vCPU belongs to one CPU's run queue; a CPU
 * runs its runnable vCPUs round-robin in time slices (VMX preemption timer), sleeps when
 * all are halted, and wakes for device timers or a kick from another CPU.
 */
#ifndef ATOLL_HV_CORE_SCHED_H
#define ATOLL_HV_CORE_SCHED_H
#include <stdbool.h>
#include "hv/core/vcpu.h"

#define SCHED_SLICE_NS 10000000ull

/* Picks a CPU allowed by the mask (bit i = CPU i; 0 = any) with the fewest vCPUs. */
bool sched_add(struct vcpu *v, uint64_t cpu_mask);
/* How many vCPUs CPU cpu's run queue holds. */
unsigned sched_cpu_vcpus(unsigned cpu);
/* An interrupt or start-up is pending for v: make it runnable and get its CPU's attention. */
void sched_wake(struct vcpu *v);
/* For the backend's run loop, after an exit: a vCPU queued on this CPU was woken (an IPI
 * from the running one), so the running vCPU should give the CPU up now rather than at
 * the end of its slice.  Clears the request. */
bool sched_should_yield(void);
/* For a pause (hv/core/partition_pause.h): v is in virt_vcpu_run on its CPU now. */
bool sched_vcpu_on_cpu(const struct vcpu *v);
/* Gets the attention of v's CPU without changing v's state: a vCPU running there gives
 * the CPU up after its next exit (the IPI forces one), an idle CPU looks again. */
void sched_nudge(struct vcpu *v);
/* Gets the boot CPU's attention (any CPU, any context): it polls the consoles, the
 * script and the jobs now, a vCPU running there giving the CPU up after its next exit. */
void sched_poll_soon(void);
/* Releases this CPU's vCPUs of ended partitions now (the boot CPU waiting for one). */
void sched_reap_here(void);
/* Live migration's throttle (hv/migrate/mig_converge.h): p's vCPUs get (1000 - permille)
 * thousandths of the CPU they would have had: after running for t, one waits
 * t * permille / (1000 - permille) before it is picked again.  permille 0 or p NULL: off.
 * One partition at a time; off unless a migration sets it. */
struct partition;
void sched_throttle(const struct partition *p, uint32_t permille);

/* This CPU's scheduling loop; the boot CPU also watches for the end of all work. */
__attribute__((noreturn)) void sched_loop(bool boot_cpu);
/* Per CPU, once, before sched_loop. */
void sched_cpu_init(void);

#endif
