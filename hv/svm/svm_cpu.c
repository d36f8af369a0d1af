/* SVM operation on each physical CPU: EFER.SVME, the host save area, the host's VMSAVE
 * block. */
#include <string.h>
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/percpu.h"
#include "hv/core/guest_xstate.h"
#include "hv/mm/kmem.h"
#include "hv/svm/svm.h"
#include "hv/lib/x86_bits.h"

#define MSR_VM_HSAVE_PA     0xc0010117u

struct svm_cpu *svm_this_cpu(void) { return this_cpu()->virt; }

bool svm_cpu_enable(void)
{
    struct percpu *p = this_cpu();
    struct svm_cpu *c = kmalloc(sizeof(*c));
    if (!c)
        return false;
    memset(c, 0, sizeof(*c));
    svm_caps_read(&c->caps);
    if (svm_caps_missing(&c->caps)) {
        kfree(c);
        return false;
    }
    c->hsave = kmem_alloc_pages(1);
    c->host_vmcb = kmem_alloc_pages(1);
    if (!c->hsave || !c->host_vmcb) {
        kprintf("svm: cpu%u: no memory for the host save area\n", p->index);
        return false;
    }
    c->hsave_phys = virt_to_phys(c->hsave);
    c->host_vmcb_phys = virt_to_phys(c->host_vmcb);
    guest_xstate_enable();
    svm_xstate_probe(c);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
    wrmsr(MSR_VM_HSAVE_PA, c->hsave_phys);
    p->virt = c;
    return true;
}
