/* The worker item that scrubs freed partition RAM a bounded run at a time. */
#include "hv/core/mem_scrub.h"

#include "hv/arch/x86/console.h"
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/spinlock.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/worker.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"

#define MEM_SCRUB_OWNER 0       /* the hypervisor's own; partitions are 1.. */
#define PAGE 4096ull

static struct work_item item;
static bool submit_refused;
static uint64_t resume_ns;      /* after a run: the item is queued again then (0: not waiting) */
static uint64_t run_bytes = MEM_SCRUB_MIN_BYTES;
static unsigned running;        /* CPUs in scrub_item now */

static spinlock_t stats_lock = SPINLOCK_INIT;
static struct {
    uint64_t bytes, runs, since_ns, longest_ns;     /* longest: of the background runs */
    uint64_t at_end;                                /* bytes mem_scrub_drain_now did */
    uint64_t reclaimed_then;    /* kmem_scrub_reclaimed_bytes at the last line */
} stats;

static void submit(void)
{
    if (worker_submit(&item) == WORK_EFULL)
        __atomic_store_n(&submit_refused, true, __ATOMIC_SEQ_CST);
}

/* The next run's size: what the last full one would have done in MEM_SCRUB_RUN_NS. */
static void resize(uint64_t done, uint64_t took_ns)
{
    uint64_t n = took_ns ? done * MEM_SCRUB_RUN_NS / took_ns : MEM_SCRUB_MAX_BYTES;
    n = n < MEM_SCRUB_MIN_BYTES ? MEM_SCRUB_MIN_BYTES : n > MEM_SCRUB_MAX_BYTES ? MEM_SCRUB_MAX_BYTES : n;
    __atomic_store_n(&run_bytes, n & ~(PAGE - 1), __ATOMIC_RELAXED);
}

/* One run of at most ask bytes, counted; the bytes done.  The run that leaves nothing
 * pending prints the line. */
static uint64_t run_once(uint64_t ask, bool at_end)
{
    uint64_t t0 = time_ns();
    uint64_t done = kmem_scrub_step(ask);
    uint64_t t1 = time_ns();
    uint64_t f = spin_lock_irqsave(&stats_lock);
    if (done) {
        if (!stats.runs)
            stats.since_ns = t0;
        stats.bytes += done;
        stats.runs++;
        if (at_end)
            stats.at_end += done;
        else if (t1 - t0 > stats.longest_ns)
            stats.longest_ns = t1 - t0;
    }
    bool report = stats.runs && !kmem_scrub_pending_bytes();
    uint64_t bytes = stats.bytes, runs = stats.runs, since = stats.since_ns;
    uint64_t longest = stats.longest_ns, end_bytes = stats.at_end, by_alloc = 0;
    if (report) {
        uint64_t reclaimed = kmem_scrub_reclaimed_bytes();
        by_alloc = reclaimed - stats.reclaimed_then;
        stats.reclaimed_then = reclaimed;
        stats.bytes = stats.runs = stats.longest_ns = stats.at_end = 0;
    }
    spin_unlock_irqrestore(&stats_lock, f);
    if (report) {
        char tail[128] = "";
        size_t n = 0;
        if (by_alloc)
            n += (size_t)fmt_snprintf(tail + n, sizeof(tail) - n, "; %lu KiB more by "
                                      "allocations that needed it", by_alloc >> 10);
        if (end_bytes)
            fmt_snprintf(tail + n, sizeof(tail) - n, "; %lu KiB of it at the end, at once",
                         end_bytes >> 10);
        kprintf("atoll: memory: scrubbed %lu MiB in %lu runs over %lu ms, the longest %lu us%s\n",
                bytes >> 20, runs, (t1 - since) / 1000000, longest / 1000, tail);
    }
    if (!at_end && done == ask)
        resize(done, t1 - t0);
    if (!at_end && done && !report)
        __atomic_store_n(&resume_ns, t1 + (t1 - t0) + 1, __ATOMIC_SEQ_CST);
    return done;
}

/* Two CPUs may run the item at once (a submit while it runs queues it again): each takes
 * its own run from the queue. */
static void scrub_item(struct work_item *w)
{
    (void)w;
    __atomic_add_fetch(&running, 1, __ATOMIC_SEQ_CST);
    run_once(__atomic_load_n(&run_bytes, __ATOMIC_RELAXED), false);
    __atomic_sub_fetch(&running, 1, __ATOMIC_SEQ_CST);
}

void mem_scrub_init(void)
{
    item = (struct work_item){ .fn = scrub_item, .prio = WORK_BACKGROUND,
                               .owner = MEM_SCRUB_OWNER };
    kmem_scrub_set_notify(submit);
}

void mem_scrub_poll(void)
{
    uint64_t at = __atomic_load_n(&resume_ns, __ATOMIC_SEQ_CST);
    if (at && time_ns() >= at &&
        __atomic_compare_exchange_n(&resume_ns, &at, 0, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        submit();
    if (__atomic_load_n(&submit_refused, __ATOMIC_SEQ_CST) &&
        __atomic_exchange_n(&submit_refused, false, __ATOMIC_SEQ_CST))
        submit();
}

uint64_t mem_scrub_resume_ns(void)
{
    return __atomic_load_n(&resume_ns, __ATOMIC_SEQ_CST);
}

void mem_scrub_drain_now(void)
{
    __atomic_add_fetch(&running, 1, __ATOMIC_SEQ_CST);
    while (run_once(MEM_SCRUB_MAX_BYTES, true) || kmem_scrub_pending_bytes())
        cpu_relax();        /* what another CPU took comes back within its run */
    __atomic_sub_fetch(&running, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&running, __ATOMIC_SEQ_CST))
        cpu_relax();        /* its line printed */
    __atomic_store_n(&resume_ns, 0, __ATOMIC_SEQ_CST);
}
