/*
 * virt_flush_partition, the same for every backend: each one's VM entry drops the vCPU's
 * cached guest-physical translations (INVEPT on VT-x, a new ASID or a TLB flush on SVM)
 * when v->flush_ept is set.  A vCPU still in guest mode is kicked out so that its next
 * entry flushes; one that does not come out within the timeout may keep stale
 * translations, so its partition ends.
 */
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/partition.h"
#include "hv/core/sched.h"
#include "hv/core/virt.h"

#define FLUSH_ACK_TIMEOUT_NS 1000000000ull

void virt_flush_partition(struct partition *p)
{
    for (unsigned i = 0; i < p->vcpu_count; i++)
        __atomic_store_n(&p->vcpus[i]->flush_ept, true, __ATOMIC_SEQ_CST);
    for (unsigned i = 0; i < p->vcpu_count; i++) {
        struct vcpu *v = p->vcpus[i];
        if (!__atomic_load_n(&v->in_guest, __ATOMIC_SEQ_CST))
            continue;
        sched_wake(v);
        uint64_t deadline = time_ns() + FLUSH_ACK_TIMEOUT_NS;
        while (__atomic_load_n(&v->in_guest, __ATOMIC_SEQ_CST) &&
               __atomic_load_n(&v->flush_ept, __ATOMIC_SEQ_CST)) {
            if (time_ns() >= deadline) {
                partition_kill(p, "vcpu%u did not leave guest mode to flush its guest-physical "
                               "translations within 1 s", v->index);
                return;
            }
            cpu_relax();
        }
    }
}
