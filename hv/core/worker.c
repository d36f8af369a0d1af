/* Worker tasks on the service CPUs, run from the scheduler's idle path. */
#include "hv/core/worker.h"

#include "hv/arch/x86/idt.h"
#include "hv/arch/x86/lapic.h"
#include "hv/arch/x86/percpu.h"
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/spinlock.h"
#include "hv/arch/x86/tsc.h"

static spinlock_t lock = SPINLOCK_INIT;
static struct work_queue queue = { .capacity = WORKER_QUEUE_CAPACITY };
static uint64_t service_cpus;           /* bit i = CPU i; 0: every CPU, in idle time */
static uint64_t idle_cpus;              /* halted in the scheduler: a submit wakes one */
static uint64_t last_taken_ns;          /* an item was taken, or the queue filled, then */

void worker_init(const struct manifest_hypervisor *hv)
{
    work_queue_init(&queue, WORKER_QUEUE_CAPACITY);
    service_cpus = 0;
    if (!hv)
        return;
    for (unsigned c = 0; c < MANIFEST_MAX_CPUS; c++) {
        if (!(hv->service_cpus[c / 64] & (1ull << (c % 64))))
            continue;
        if (c >= cpu_count || !cpus[c] || !cpus[c]->online)
            kprintf("atoll: worker: service cpu %u is not online; ignored\n", c);
        else
            service_cpus |= 1ull << c;
    }
    if (service_cpus)
        kprintf("atoll: worker: service cpus %#lx run work items\n", service_cpus);
}

uint64_t worker_service_cpus(void)
{
    return service_cpus;
}

uint64_t worker_vcpu_cpus(void)
{
    uint64_t online = cpu_count >= 64 ? ~0ull : (1ull << cpu_count) - 1;
    return service_cpus ? online & ~service_cpus : 0;
}

static bool serves(unsigned cpu)
{
    return !service_cpus || (cpu < 64 && (service_cpus & (1ull << cpu)));
}

/* Wakes the service CPUs other than this one from their idle halt; without service
 * CPUs, one idle CPU. */
static void kick_cpus(void)
{
    unsigned me = this_cpu()->index;
    uint64_t idle = __atomic_load_n(&idle_cpus, __ATOMIC_SEQ_CST);
    for (unsigned c = 0; c < cpu_count && c < 64; c++) {
        if (c == me || !cpus[c] || !cpus[c]->online)
            continue;
        if (service_cpus && (service_cpus & (1ull << c))) {
            lapic_send_ipi(cpus[c]->apic_id, VEC_IPI_KICK);
        } else if (!service_cpus && (idle & (1ull << c))) {
            lapic_send_ipi(cpus[c]->apic_id, VEC_IPI_KICK);
            return;
        }
    }
}

bool worker_idle_begin(void)
{
    unsigned me = this_cpu()->index;
    if (me >= 64)
        return true;
    __atomic_or_fetch(&idle_cpus, 1ull << me, __ATOMIC_SEQ_CST);
    if (serves(me) && __atomic_load_n(&queue.count, __ATOMIC_SEQ_CST)) {
        worker_idle_end();
        return false;
    }
    return true;
}

void worker_idle_end(void)
{
    unsigned me = this_cpu()->index;
    if (me < 64)
        __atomic_and_fetch(&idle_cpus, ~(1ull << me), __ATOMIC_SEQ_CST);
}

int worker_submit(struct work_item *w)
{
    uint64_t f = spin_lock_irqsave(&lock);
    if (!queue.count)
        last_taken_ns = time_ns();      /* waiting starts now */
    int rc = work_queue_push(&queue, w);
    spin_unlock_irqrestore(&lock, f);
    if (rc == WORK_OK)
        kick_cpus();
    return rc;
}

bool worker_cancel(struct work_item *w)
{
    uint64_t f = spin_lock_irqsave(&lock);
    bool cancelled = work_queue_cancel(&queue, w);
    spin_unlock_irqrestore(&lock, f);
    return cancelled;
}

/* Runs the next item if one is queued and, with wait_ns, none was taken for that long. */
static bool run_one(uint64_t wait_ns)
{
    if (!serves(this_cpu()->index) || !__atomic_load_n(&queue.count, __ATOMIC_SEQ_CST))
        return false;
    uint64_t f = spin_lock_irqsave(&lock);
    uint64_t now = time_ns();
    struct work_item *w = NULL;
    if (!wait_ns || now - last_taken_ns >= wait_ns)
        w = work_queue_pop(&queue);
    if (w) {
        work_queue_done(&queue, w);     /* off the queue: fn may queue it again */
        last_taken_ns = now;
    }
    spin_unlock_irqrestore(&lock, f);
    if (!w)
        return false;
    w->fn(w);
    return true;
}

bool worker_run_pending(void)
{
    return run_one(0);
}

bool worker_run_overdue(uint64_t wait_ns)
{
    return run_one(wait_ns ? wait_ns : 1);
}
