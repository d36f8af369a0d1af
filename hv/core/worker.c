/* Worker tasks on the service CPUs, run from the scheduler's idle path. */
#include "hv/core/worker.h"

#include "hv/arch/x86/idt.h"
#include "hv/arch/x86/lapic.h"
#include "hv/arch/x86/percpu.h"
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/spinlock.h"

static spinlock_t lock = SPINLOCK_INIT;
static struct work_queue queue = { .capacity = WORKER_QUEUE_CAPACITY };
static uint64_t service_cpus;           /* bit i = CPU i; 0: every CPU, in idle time */

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

/* Wakes the service CPUs other than this one from their idle halt. */
static void kick_service_cpus(void)
{
    unsigned me = this_cpu()->index;
    for (unsigned c = 0; c < cpu_count && c < 64; c++)
        if ((service_cpus & (1ull << c)) && c != me && cpus[c] && cpus[c]->online)
            lapic_send_ipi(cpus[c]->apic_id, VEC_IPI_KICK);
}

int worker_submit(struct work_item *w)
{
    uint64_t f = spin_lock_irqsave(&lock);
    int rc = work_queue_push(&queue, w);
    spin_unlock_irqrestore(&lock, f);
    if (rc == WORK_OK)
        kick_service_cpus();
    return rc;
}

bool worker_cancel(struct work_item *w)
{
    uint64_t f = spin_lock_irqsave(&lock);
    bool cancelled = work_queue_cancel(&queue, w);
    spin_unlock_irqrestore(&lock, f);
    return cancelled;
}

bool worker_run_pending(void)
{
    unsigned me = this_cpu()->index;
    if (service_cpus && !(me < 64 && (service_cpus & (1ull << me))))
        return false;
    if (!__atomic_load_n(&queue.count, __ATOMIC_RELAXED))
        return false;
    uint64_t f = spin_lock_irqsave(&lock);
    struct work_item *w = work_queue_pop(&queue);
    if (w)
        work_queue_done(&queue, w);     /* off the queue: fn may queue it again */
    spin_unlock_irqrestore(&lock, f);
    if (!w)
        return false;
    w->fn(w);
    return true;
}
