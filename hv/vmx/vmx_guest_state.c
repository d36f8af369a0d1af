/* Guest control registers and controls as VT-x needs them. */
#include "hv/vmx/vmcs.h"
#include "hv/vmx/vmx.h"
#include "hv/core/virt.h"

#define CR0_PE (1ull << 0)
#define CR0_NE (1ull << 5)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_VMXE (1ull << 13)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

uint32_t vmx_adjust_controls(uint64_t cap_msr, uint32_t want)
{
    uint32_t must = (uint32_t)cap_msr, may = (uint32_t)(cap_msr >> 32);
    return (want | must) & may;
}

/* The guest sees `value` (the read shadow); the CPU runs with the bits VMX requires. */
bool vmx_set_guest_cr0(struct vcpu *v, uint64_t value)
{
    struct vmx_vcpu *x = vmx_of(v);
    const struct vmx_caps *caps = &vmx_this_cpu()->caps;
    if (((value & CR0_PG) && !(value & CR0_PE)) || ((value & CR0_NW) && !(value & CR0_CD)) ||
        (value >> 32))
        return false;
    uint64_t fixed0 = caps->cr0_fixed0 & ~(CR0_PE | CR0_PG);   /* unrestricted guest */
    uint64_t real = (value | fixed0) & caps->cr0_fixed1;
    uint64_t efer = vmcs_read64(VMCS64_GUEST_EFER);
    uint32_t entry = vmcs_read32(VMCS32_ENTRY_CONTROLS);
    bool was_paging = vmcs_readn(VMCSN_GUEST_CR0) & CR0_PG;
    if ((value & CR0_PG) && !was_paging && (efer & EFER_LME)) {
        if (!(vmcs_readn(VMCSN_GUEST_CR4) & CR4_PAE))
            return false;
        efer |= EFER_LMA;
        entry |= ENTRY_GUEST_LONG_MODE;
    } else if (!(value & CR0_PG) && was_paging) {
        efer &= ~EFER_LMA;
        entry &= ~ENTRY_GUEST_LONG_MODE;
    }
    x->cr0_shadow = value;
    bool ok = vmcs_writen(VMCSN_GUEST_CR0, real);
    ok &= vmcs_writen(VMCSN_CR0_SHADOW, value);
    ok &= vmcs_write64(VMCS64_GUEST_EFER, efer);
    ok &= vmcs_write32(VMCS32_ENTRY_CONTROLS, entry);
    return ok;
}

bool vmx_set_guest_cr4(struct vcpu *v, uint64_t value)
{
    struct vmx_vcpu *x = vmx_of(v);
    const struct vmx_caps *caps = &vmx_this_cpu()->caps;
    uint64_t allowed = caps->cr4_fixed1 & ~CR4_VMXE;
    if (value & ~allowed)
        return false;
    if ((vmcs_read64(VMCS64_GUEST_EFER) & EFER_LMA) && !(value & CR4_PAE))
        return false;
    x->cr4_shadow = value;
    bool ok = vmcs_writen(VMCSN_GUEST_CR4, (value | caps->cr4_fixed0) & caps->cr4_fixed1);
    ok &= vmcs_writen(VMCSN_CR4_SHADOW, value);
    return ok;
}

void virt_get_paging(struct vcpu *v, struct guest_paging *pg)
{
    uint32_t cs_ar = vmcs_read32(VMCS32_GUEST_CS_AR);
    pg->cr0 = vmcs_readn(VMCSN_GUEST_CR0);
    pg->cr3 = vmcs_readn(VMCSN_GUEST_CR3);
    pg->cr4 = vmcs_readn(VMCSN_GUEST_CR4);
    pg->efer = vmcs_read64(VMCS64_GUEST_EFER);
    pg->cs_base = vmcs_readn(VMCSN_GUEST_CS_BASE);
    pg->cs_long = (pg->efer & EFER_LMA) && (cs_ar & (1u << 13));
    pg->cs_32 = cs_ar & (1u << 14);
}
