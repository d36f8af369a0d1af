/*
 * Worker tasks: work items (the snapshot compressors and migration senders to come) run
 * with a priority on the CPUs that are not running a vCPU.
 *
 * The manifest's `[hypervisor] service-cpus = 1,3` names service CPUs: vCPUs whose
 * partition says `cpus = any` are not placed on them, and each one's scheduler loop runs
 * queued items whenever it has no runnable vCPU (so, on a CPU no partition is pinned to,
 * all the time).  Without the key every CPU is a service CPU, running items in its idle
 * time, and, when no item has been taken for a time slice (no CPU is idle), one item
 * between two slices.  A submit wakes the service CPUs with an IPI; without service CPUs
 * it wakes one idle CPU.
 *
 * Order, fairness and bounds are worker_queue.h's: a higher priority first, owners take
 * turns within a priority, at most WORKER_QUEUE_CAPACITY items queued.  An item's
 * function runs with interrupts on and no lock held; it may queue its item again or
 * release it.  Keep an item short (one block, not a whole snapshot): a CPU looks at its
 * vCPUs and, on the boot CPU, the services only between items.  Any CPU may submit or
 * cancel.
 */
#ifndef ATOLL_HV_CORE_WORKER_H
#define ATOLL_HV_CORE_WORKER_H
#include <stdbool.h>
#include <stdint.h>

#include "hv/core/config/manifest.h"
#include "hv/core/worker_queue.h"

#define WORKER_QUEUE_CAPACITY 256

/* Once, on the boot CPU, before partitions are created; hv NULL: no service CPUs. */
void worker_init(const struct manifest_hypervisor *hv);
/* Queues w (WORK_OK) or says why not (worker_queue.h's codes; work_queue_error()). */
int worker_submit(struct work_item *w);
/* True if w was still queued: it will not run. */
bool worker_cancel(struct work_item *w);
/* The scheduler's idle path: runs one queued item if this CPU serves; true if it did. */
bool worker_run_pending(void);
/* Between two slices of a busy CPU: runs one queued item if this CPU serves and none has
 * been taken for wait_ns (so work makes progress where no CPU is ever idle); true if it
 * ran one. */
bool worker_run_overdue(uint64_t wait_ns);
/* The scheduler is about to halt this CPU, interrupts off: false when it has an item to
 * run instead; otherwise a submit wakes it (IPI) until worker_idle_end. */
bool worker_idle_begin(void);
void worker_idle_end(void);
/* The service CPUs (bit i = CPU i); 0 when every CPU serves in its idle time. */
uint64_t worker_service_cpus(void);
/* CPUs a vCPU with no affinity may use (bit i = CPU i): every CPU but the service CPUs;
 * 0 (any) when there are none or when every CPU is one. */
uint64_t worker_vcpu_cpus(void);
/* The `worker-selftest` check: queues CRC-32C items of known buffers; the last one to run
 * prints one PASS or FAIL line with the count and the CPUs they ran on. */
void worker_selftest_start(void);

#endif
