/* The worker item that scrubs freed partition RAM a bounded run at a time. */
#include "hv/core/mem_scrub.h"

#include "hv/arch/x86/console.h"
#include "hv/arch/x86/spinlock.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/worker.h"
#include "hv/mm/kmem.h"

#define MEM_SCRUB_OWNER 0       /* the hypervisor's own; partitions are 1.. */

static struct work_item item;
static bool submit_refused;

static spinlock_t stats_lock = SPINLOCK_INIT;
static struct {
    uint64_t bytes, runs, since_ns, longest_ns;
} stats;

static void submit(void)
{
    if (worker_submit(&item) == WORK_EFULL)
        __atomic_store_n(&submit_refused, true, __ATOMIC_SEQ_CST);
}

static unsigned running;        /* items in scrub_item now */

/* Two CPUs may run the item at once (a submit while it runs queues it again): each takes
 * its own run from the queue, and the one that leaves nothing pending reports the drain. */
static void scrub_item(struct work_item *w)
{
    (void)w;
    __atomic_add_fetch(&running, 1, __ATOMIC_SEQ_CST);
    uint64_t t0 = time_ns();
    uint64_t done = kmem_scrub_step(MEM_SCRUB_STEP_BYTES);
    uint64_t t1 = time_ns();
    uint64_t f = spin_lock_irqsave(&stats_lock);
    if (done) {
        if (!stats.runs)
            stats.since_ns = t0;
        stats.bytes += done;
        stats.runs++;
        if (t1 - t0 > stats.longest_ns)
            stats.longest_ns = t1 - t0;
    }
    bool report = stats.runs && !kmem_scrub_pending_bytes();
    uint64_t bytes = stats.bytes, runs = stats.runs, since = stats.since_ns;
    uint64_t longest = stats.longest_ns;
    if (report)
        stats.bytes = stats.runs = stats.longest_ns = 0;
    spin_unlock_irqrestore(&stats_lock, f);
    if (report)
        kprintf("atoll: memory: scrubbed %lu MiB in %lu runs over %lu ms, the longest %lu us\n",
                bytes >> 20, runs, (t1 - since) / 1000000, longest / 1000);
    if (done && !report)
        submit();
    __atomic_sub_fetch(&running, 1, __ATOMIC_SEQ_CST);
}

bool mem_scrub_busy(void)
{
    return __atomic_load_n(&running, __ATOMIC_SEQ_CST) || kmem_scrub_pending_bytes();
}

void mem_scrub_init(void)
{
    item = (struct work_item){ .fn = scrub_item, .prio = WORK_BACKGROUND,
                               .owner = MEM_SCRUB_OWNER };
    kmem_scrub_set_notify(submit);
}

void mem_scrub_poll(void)
{
    if (__atomic_load_n(&submit_refused, __ATOMIC_SEQ_CST) &&
        __atomic_exchange_n(&submit_refused, false, __ATOMIC_SEQ_CST))
        submit();
}
