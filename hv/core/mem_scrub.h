/*
 * A finished partition's RAM is scrubbed in the background, not by the CPU that frees it:
 * guest_mem_free queues it dirty in kmem's scrub queue (hv/mm/kmem.h), and one worker item
 * (hv/core/worker.h, BACKGROUND priority) zeroes and frees it a run at a time.  A run is
 * sized to last about MEM_SCRUB_RUN_NS (its size follows the last full run's rate, between
 * MEM_SCRUB_MIN_BYTES and MEM_SCRUB_MAX_BYTES), and after each the item waits as long as
 * the run took before it is queued again.  So a vCPU sharing the CPU waits at most one run
 * (between two runs its CPU looks at its vCPUs), and a CPU that scrubs is idle half the
 * time (under QEMU's icount every CPU's instructions are every CPU's time: a CPU that
 * computes without a pause freezes the others, hv/svm/svm.md).  Nothing is handed out
 * unscrubbed: queued pages count as free, and an allocation that needs them scrubs them
 * itself first (kmem_alloc_pages).  On a CPU that is never idle the item runs once a time
 * slice (worker.h).  When the queue drains the hypervisor prints one line:
 * `atoll: memory: scrubbed N MiB in S runs over T ms, the longest U us` (U: of the
 * background runs), then `; A KiB more by allocations that needed it` (not among the N
 * MiB) when allocations scrubbed some themselves, and `; K KiB of it at the end, at once`
 * when mem_scrub_drain_now did the rest.
 */
#ifndef ATOLL_HV_CORE_MEM_SCRUB_H
#define ATOLL_HV_CORE_MEM_SCRUB_H
#include <stdbool.h>
#include <stdint.h>

#define MEM_SCRUB_RUN_NS    20000ull
#define MEM_SCRUB_MIN_BYTES (4ull << 10)
#define MEM_SCRUB_MAX_BYTES (2ull << 20)

/* Once, on the boot CPU, before partitions are created. */
void mem_scrub_init(void);
/* Every CPU's scheduling loop: queues the item again when its wait is over, or if the
 * worker queue was full when pages came. */
void mem_scrub_poll(void);
/* When the item's wait ends (time_ns()), 0 when it is not waiting: an idle CPU wakes then. */
uint64_t mem_scrub_resume_ns(void);
/* Nothing else to run (the machine ends when every partition has): scrubs what is pending
 * here and now, in MEM_SCRUB_MAX_BYTES runs without waits, and returns once it is all done
 * and the line printed. */
void mem_scrub_drain_now(void);

#endif
