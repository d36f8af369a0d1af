#include "hv/arch/x86/ipi_call.h"

#include <stddef.h>
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/lapic.h"
#include "hv/arch/x86/percpu.h"
#include "hv/arch/x86/tsc.h"

/* One call at a time per target CPU. */
struct call_slot {
    volatile uint32_t busy;         /* a caller owns the slot */
    ipi_call_fn volatile fn;        /* taken (set to NULL) by whoever runs or cancels it */
    void *volatile arg;
    volatile bool done;
};

static struct call_slot slots[MAX_CPUS];

void ipi_call_handle(struct trap_frame *f)
{
    struct call_slot *s = &slots[this_cpu()->index];
    ipi_call_fn fn = __atomic_exchange_n(&s->fn, NULL, __ATOMIC_ACQ_REL);
    if (fn) {
        fn(s->arg);
        __atomic_store_n(&s->done, true, __ATOMIC_RELEASE);
    }
    lapic_eoi();
}

bool ipi_call(unsigned cpu, ipi_call_fn fn, void *arg, uint64_t timeout_ns)
{
    if (cpu == this_cpu()->index) {
        uint64_t flags = irq_save();
        fn(arg);
        irq_restore(flags);
        return true;
    }
    if (cpu >= MAX_CPUS || !cpus[cpu])
        return false;
    struct call_slot *s = &slots[cpu];
    uint64_t deadline = time_ns() + timeout_ns;
    while (__atomic_exchange_n(&s->busy, 1, __ATOMIC_ACQUIRE))
        if (time_ns() >= deadline)
            return false;
        else
            cpu_relax();
    s->arg = arg;
    s->done = false;
    __atomic_store_n(&s->fn, fn, __ATOMIC_RELEASE);
    lapic_send_ipi(cpus[cpu]->apic_id, VEC_IPI_CALL);
    bool ran = true;
    while (!__atomic_load_n(&s->done, __ATOMIC_ACQUIRE)) {
        if (time_ns() >= deadline &&
            __atomic_exchange_n(&s->fn, NULL, __ATOMIC_ACQ_REL) == fn) {
            ran = false;        /* cancelled before the target took it */
            break;
        }
        cpu_relax();
    }
    __atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
    return ran;
}
