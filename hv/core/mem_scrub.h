/*
 * A finished partition's RAM is scrubbed in the background, not by the CPU that frees it:
 * guest_mem_free queues it dirty in kmem's scrub queue (hv/mm/kmem.h), and one worker item
 * (hv/core/worker.h, BACKGROUND priority) zeroes and frees MEM_SCRUB_STEP_BYTES a run,
 * queuing itself again while pages wait.  Between two runs a CPU looks at its vCPUs, so a
 * neighbour on that CPU waits at most one run (about 0.5 ms under QEMU's icount), not the
 * whole RAM (about 2 ms per MiB).  Nothing is handed out unscrubbed: queued pages count as
 * free, and an allocation that needs them scrubs them itself first (kmem_alloc_pages).
 * When the queue drains the hypervisor prints one line: `atoll: memory: scrubbed N MiB in
 * S runs over T ms, the longest U us`.
 */
#ifndef ATOLL_HV_CORE_MEM_SCRUB_H
#define ATOLL_HV_CORE_MEM_SCRUB_H
#include <stdbool.h>

#define MEM_SCRUB_STEP_BYTES (256ull << 10)

/* Once, on the boot CPU, before partitions are created. */
void mem_scrub_init(void);
/* The boot CPU's loop: queues the item again if the worker queue was full when pages came. */
void mem_scrub_poll(void);
/* Pages wait for their scrub, or a run is under way (its line not yet printed). */
bool mem_scrub_busy(void);

#endif
