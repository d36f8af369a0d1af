/* A vCPU's extended state and XCR0 (hv/core/guest_xstate.h does the work). */
#include "hv/core/exit/xcr0_policy.h"
#include "hv/core/guest_xstate.h"
#include "hv/svm/svm.h"

void svm_xstate_probe(struct svm_cpu *c)
{
    guest_xstate_probe(&c->xs);
}

bool svm_xstate_init(struct svm_vcpu *x)
{
    const struct svm_cpu *c = svm_this_cpu();
    x->xcr0 = XCR0_X87;
    x->xsave_size = c->xs.xsave_size;
    x->xsave_area = guest_xstate_alloc(&c->xs);
    return x->xsave_area != NULL;
}

void svm_xstate_free(struct svm_vcpu *x)
{
    guest_xstate_free(x->xsave_area, x->xsave_size);
    x->xsave_area = NULL;
}

bool svm_xstate_save(struct svm_vcpu *x)
{
    return guest_xstate_save(&svm_this_cpu()->xs, x->xsave_area);
}

bool svm_xstate_restore(struct svm_vcpu *x)
{
    return guest_xstate_restore(&svm_this_cpu()->xs, x->xsave_area, x->xcr0);
}

bool svm_xstate_set_xcr0(struct svm_vcpu *x, uint64_t value)
{
    if (!guest_xstate_set_xcr0(value))
        return false;
    x->xcr0 = value;
    return true;
}
