/* A vCPU's extended state and XCR0 (hv/core/guest_xstate.h does the work). */
#include "hv/core/exit/xcr0_policy.h"
#include "hv/core/guest_xstate.h"
#include "hv/vmx/vmx.h"

void vmx_xstate_probe(struct vmx_cpu *c)
{
    guest_xstate_probe(&c->xs);
}

bool vmx_xstate_init(struct vmx_vcpu *x)
{
    const struct vmx_cpu *c = vmx_this_cpu();
    x->xcr0 = XCR0_X87;
    x->xsave_size = c->xs.xsave_size;
    x->xsave_area = guest_xstate_alloc(&c->xs);
    return x->xsave_area != NULL;
}

void vmx_xstate_free(struct vmx_vcpu *x)
{
    guest_xstate_free(x->xsave_area, x->xsave_size);
    x->xsave_area = NULL;
}

bool vmx_xstate_save(struct vmx_vcpu *x)
{
    return guest_xstate_save(&vmx_this_cpu()->xs, x->xsave_area);
}

bool vmx_xstate_restore(struct vmx_vcpu *x)
{
    return guest_xstate_restore(&vmx_this_cpu()->xs, x->xsave_area, x->xcr0);
}

bool vmx_xstate_set_xcr0(struct vmx_vcpu *x, uint64_t value)
{
    if (!guest_xstate_set_xcr0(value))
        return false;
    x->xcr0 = value;
    return true;
}
