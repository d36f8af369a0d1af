#include "hv/core/sched.h"

#include "hv/core/console_input.h"
#include "hv/core/mem_scrub.h"
#include "hv/core/partition_writes.h"
#include "hv/core/run.h"
#include "hv/core/script_run.h"
#include "hv/core/snapshot.h"
#include "hv/core/services.h"
#include "hv/core/worker.h"

#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/idt.h"
#include "hv/arch/x86/lapic.h"
#include "hv/arch/x86/percpu.h"
#include "hv/arch/x86/tsc.h"
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/machine.h"
#include "hv/core/partition.h"
#include "hv/core/partition_create.h"
#include "hv/core/platform_glue.h"
#include "hv/core/virt.h"
#include "hv/mm/kmem.h"

#define RUNQ_MAX 64

struct runqueue {
    spinlock_t lock;
    struct vcpu *running;           /* the vCPU in virt_vcpu_run on this CPU, or NULL */
    struct vcpu *last;              /* the vCPU that ran last */
    volatile bool yield;            /* a vCPU queued here was woken: give the CPU up */
    struct vcpu *vcpus[RUNQ_MAX];
    unsigned count;
    unsigned next;
    uint64_t throttled_until;       /* the throttled partition's vCPUs wait until then */
    bool held;                      /* pick passed one of them over for that */
};

static struct runqueue runqueues[MAX_CPUS];

static struct {
    const struct partition *part;
    uint32_t permille;
} throttle;

void sched_throttle(const struct partition *p, uint32_t permille)
{
    if (permille > 999)
        permille = 999;
    __atomic_store_n(&throttle.permille, p ? permille : 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&throttle.part, permille ? p : NULL, __ATOMIC_SEQ_CST);
}

static uint32_t throttle_of(const struct vcpu *v)
{
    if (__atomic_load_n(&throttle.part, __ATOMIC_SEQ_CST) != v->part)
        return 0;
    return __atomic_load_n(&throttle.permille, __ATOMIC_SEQ_CST);
}

static void on_kick(struct trap_frame *f) { lapic_eoi(); }
/* An NMI that arrived while a guest ran is re-raised here; the hypervisor uses none. */
static void on_nmi(struct trap_frame *f) { }
static void on_timer(struct trap_frame *f) { lapic_eoi(); }

void sched_cpu_init(void)
{
    if (this_cpu()->index == 0) {
        idt_set_handler(VEC_IPI_KICK, on_kick);
        idt_set_handler(2, on_nmi);
        idt_set_handler(VEC_LAPIC_TIMER, on_timer);
    }
}

bool sched_add(struct vcpu *v, uint64_t cpu_mask)
{
    int best = -1;
    if (!cpu_mask)
        cpu_mask = worker_vcpu_cpus();      /* "any" leaves the service CPUs to workers */
    for (unsigned c = 0; c < cpu_count; c++) {
        if ((cpu_mask && !(cpu_mask & (1ull << c))) || !cpus[c] || !cpus[c]->virt_ok)
            continue;
        if (best < 0 || runqueues[c].count < runqueues[best].count)
            best = (int)c;
    }
    if (best < 0 || runqueues[best].count >= RUNQ_MAX)
        return false;
    struct runqueue *rq = &runqueues[best];
    uint64_t f = spin_lock_irqsave(&rq->lock);
    rq->vcpus[rq->count++] = v;
    v->pcpu = (unsigned)best;
    spin_unlock_irqrestore(&rq->lock, f);
    return true;
}

unsigned sched_cpu_vcpus(unsigned cpu)
{
    return cpu < MAX_CPUS ? runqueues[cpu].count : 0;
}

void sched_wake(struct vcpu *v)
{
    if (v->state == VCPU_HALTED)
        v->state = VCPU_RUNNABLE;
    virt_vcpu_kick(v);
    if (v->pcpu != this_cpu()->index && cpus[v->pcpu])
        lapic_send_ipi(cpus[v->pcpu]->apic_id, VEC_IPI_KICK);
    else if (v->pcpu == this_cpu()->index && runqueues[v->pcpu].running &&
             runqueues[v->pcpu].running != v)
        runqueues[v->pcpu].yield = true;    /* an IPI to a sibling on this CPU: hand over */
}

bool sched_should_yield(void)
{
    struct runqueue *rq = &runqueues[this_cpu()->index];
    if (!rq->yield)
        return false;
    rq->yield = false;
    return true;
}

/* Removes stopped vCPUs of dead partitions from the queue, releasing them here. */
static void reap(struct runqueue *rq)
{
    for (unsigned i = 0; i < rq->count; ) {
        struct vcpu *v = rq->vcpus[i];
        if (v->part->state != PART_DEAD) {
            i++;
            continue;
        }
        uint64_t f = spin_lock_irqsave(&rq->lock);
        rq->vcpus[i] = rq->vcpus[--rq->count];
        spin_unlock_irqrestore(&rq->lock, f);
        partition_release_vcpu(v);
    }
}

static struct vcpu *pick(struct runqueue *rq)
{
    rq->held = false;
    for (unsigned n = 0; n < rq->count; n++) {
        struct vcpu *v = rq->vcpus[(rq->next + n) % rq->count];
        if (v->part->state != PART_RUNNING)
            continue;
        if (throttle_of(v) && time_ns() < rq->throttled_until) {
            rq->held = true;
            continue;
        }
        if (v->state == VCPU_HALTED &&
            ((!v->halted_irqs_off && partition_pending_vector(v) >= 0) || partition_nmi_pending(v)))
            v->state = VCPU_RUNNABLE;
        if (v->state == VCPU_RUNNABLE) {
            rq->next = (rq->next + n + 1) % rq->count;
            return v;
        }
    }
    return NULL;
}

static void run_due_timers(struct runqueue *rq, uint64_t *next)
{
    uint64_t now = time_ns();
    *next = 0;
    for (unsigned i = 0; i < rq->count; i++) {
        struct partition *p = rq->vcpus[i]->part;
        partition_run_timers(p, now);
        uint64_t d = partition_next_deadline(p);
        if (d && (!*next || d < *next))
            *next = d;
    }
}

#define IDLE_MAX_NS           50000000ull
#define SERVICES_MIN_SLICE_NS 200000ull

static void idle(uint64_t next_deadline, uint64_t max_wait)
{
    uint64_t now = time_ns();
    uint64_t wait = next_deadline > now ? next_deadline - now : 0;
    if (!next_deadline || wait > max_wait)
        wait = max_wait;
    irq_disable();                  /* a submit from now on wakes the halt below */
    if (worker_idle_begin()) {
        lapic_halt_ns(wait);
        worker_idle_end();
    }
    irq_enable();
}

/*
 * Worker items wait for idle time; where no CPU is ever idle, one that has waited a
 * whole slice runs now, between two slices, and its time comes out of the next slice.
 * Only before a vCPU that ran last and is picked again (no other was runnable), so the
 * item and that shortened slice together keep within one slice the wait of a vCPU that
 * becomes runnable meanwhile (a timer guest's deadline).
 */
static uint64_t run_overdue_item(struct runqueue *rq, struct vcpu *v, uint64_t slice)
{
    if (v != rq->last)
        return slice;
    uint64_t t0 = time_ns();
    if (!worker_run_overdue(SCHED_SLICE_NS))
        return slice;
    uint64_t spent = time_ns() - t0;
    return spent + SERVICES_MIN_SLICE_NS < slice ? slice - spent : SERVICES_MIN_SLICE_NS;
}

bool sched_vcpu_on_cpu(const struct vcpu *v)
{
    return __atomic_load_n(&runqueues[v->pcpu].running, __ATOMIC_SEQ_CST) == v;
}

void sched_nudge(struct vcpu *v)
{
    __atomic_store_n(&runqueues[v->pcpu].yield, true, __ATOMIC_SEQ_CST);
    virt_vcpu_kick(v);
    if (v->pcpu != this_cpu()->index && cpus[v->pcpu])
        lapic_send_ipi(cpus[v->pcpu]->apic_id, VEC_IPI_KICK);
}

void sched_poll_soon(void)
{
    __atomic_store_n(&runqueues[0].yield, true, __ATOMIC_SEQ_CST);
    if (this_cpu()->index != 0 && cpus[0])
        lapic_send_ipi(cpus[0]->apic_id, VEC_IPI_KICK);
}

void sched_reap_here(void)
{
    reap(&runqueues[this_cpu()->index]);
}

static void report_all_ended(void)
{
    static bool reported;
    if (machine_test_exit()) {
        mem_scrub_drain_now();      /* the RAM they left, before the verdict */
        char why[200];
        bool pass = partition_verdict(why, sizeof(why));
        machine_finish(pass, pass ? NULL : why);
    }
    if (!reported && partition_count)
        kprintf("atoll: every partition has ended\n");
    reported = true;
}

/* A vCPU on the boot CPU gives the CPU back in time for the services' next poll. */
static uint64_t slice_for(uint64_t services_wait)
{
    if (services_wait >= SCHED_SLICE_NS)
        return SCHED_SLICE_NS;
    return services_wait > SERVICES_MIN_SLICE_NS ? services_wait : SERVICES_MIN_SLICE_NS;
}

void sched_loop(bool boot_cpu)
{
    struct runqueue *rq = &runqueues[this_cpu()->index];
    irq_enable();
    for (;;) {
        reap(rq);
        if (boot_cpu) {
            script_run_poll();
            partition_writes_poll();
            snapshot_poll();
            partition_restarts_poll();
        }
        mem_scrub_poll();
        /* Not over while a snapshot is being written or a script action waits to be carried
         * out (a restore waits for the snapshot before it, which may end after the
         * partition it saves). */
        if (boot_cpu && all_partitions_ended() && !snapshot_busy() && !script_run_waiting())
            report_all_ended();
        uint64_t services_wait = boot_cpu ? services_poll() : SERVICES_NONE;
        if (boot_cpu) {
            console_input_poll();
            script_run_poll();      /* what the consoles' lines just triggered, at once */
        }
        uint64_t next;
        run_due_timers(rq, &next);
        struct vcpu *v = pick(rq);
        if (!v) {
            if (worker_run_pending())   /* a work item ran: look at the vCPUs again */
                continue;
            if (rq->held && (!next || rq->throttled_until < next))
                next = rq->throttled_until;
            uint64_t scrub_at = mem_scrub_resume_ns();
            if (scrub_at && (!next || scrub_at < next))
                next = scrub_at;
            if (services_wait)      /* 0: a service is moving data, poll it again now */
                idle(next, services_wait < IDLE_MAX_NS ? services_wait : IDLE_MAX_NS);
            continue;
        }
        uint64_t slice = run_overdue_item(rq, v, slice_for(services_wait));
        __atomic_store_n(&rq->running, v, __ATOMIC_SEQ_CST);
        rq->last = v;
        rq->yield = false;
        /* A pause (partition_pause.c) may have begun since pick: it sees running or we see it. */
        if (__atomic_load_n(&v->part->state, __ATOMIC_SEQ_CST) != PART_RUNNING) {
            __atomic_store_n(&rq->running, NULL, __ATOMIC_SEQ_CST);
            continue;
        }
        uint64_t t0 = time_ns();
        enum run_result r = virt_vcpu_run(v, slice);
        __atomic_store_n(&rq->running, NULL, __ATOMIC_SEQ_CST);
        uint32_t held = throttle_of(v);
        if (held) {
            uint64_t now = time_ns();
            rq->throttled_until = now + (now - t0) * held / (1000 - held);
        }
        if (r == RUN_STOPPED &&
            v->part->state != PART_DEAD)
            v->state = VCPU_STOPPED;
    }
}
