/* Guest control registers and controls as VT-x needs them. */
#include "hv/vmx/vmcs.h"
#include "hv/vmx/vmx.h"
#include "hv/core/exit/exit_cr.h"
#include "hv/core/virt.h"
#include "hv/lib/x86_bits.h"

uint32_t vmx_adjust_controls(uint64_t cap_msr, uint32_t want)
{
    uint32_t must = (uint32_t)cap_msr, may = (uint32_t)(cap_msr >> 32);
    return (want | must) & may;
}

/* The CR4 bits whose state the partition has: VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR
 * OSXMMEXCPT UMIP LA57 FSGSBASE PCIDE OSXSAVE SMEP SMAP PKE (as the SVM backend offers), and LASS
 * and LAM_SUP, which are CR4 alone.  The rest the CPU may have (VMXE, SMXE, Key Locker,
 * CET, PKS, UINTR, FRED) bring MSRs or state the VMCS does not switch, and CPUID does not
 * offer them: those are host-owned (the CR4 guest/host mask), so MOV to CR4 setting one
 * exits and gets #GP, as on a CPU without it. */
#define CR4_VIRTUALISED 0x18771fffull

uint64_t vmx_cr4_offered(void)
{
    return vmx_this_cpu()->caps.cr4_fixed1 & CR4_VIRTUALISED & ~CR4_VMXE;
}

/* The guest sees ctl (the read shadows); the CPU runs with the bits VMX requires, and in
 * long mode exactly while EFER.LMA is set.  The values passed the rules of exit_cr.h. */
bool vmx_load_guest_ctl(struct vcpu *v, unsigned which, const struct guest_ctl *ctl)
{
    struct vmx_vcpu *x = vmx_of(v);
    const struct vmx_caps *caps = &vmx_this_cpu()->caps;
    bool ok = true;
    if (which & GUEST_CTL_CR4) {
        x->cr4_shadow = ctl->cr4;
        ok &= vmcs_writen(VMCSN_GUEST_CR4, (ctl->cr4 | caps->cr4_fixed0) & caps->cr4_fixed1);
        ok &= vmcs_writen(VMCSN_CR4_SHADOW, ctl->cr4);
    }
    if (which & GUEST_CTL_CR0) {
        uint64_t fixed0 = caps->cr0_fixed0 & ~(CR0_PE | CR0_PG);   /* unrestricted guest */
        x->cr0_shadow = ctl->cr0;
        ok &= vmcs_writen(VMCSN_GUEST_CR0, (ctl->cr0 | fixed0) & caps->cr0_fixed1);
        ok &= vmcs_writen(VMCSN_CR0_SHADOW, ctl->cr0);
    }
    if (which & GUEST_CTL_EFER) {
        uint32_t entry = vmcs_read32(VMCS32_ENTRY_CONTROLS);
        uint32_t want = (ctl->efer & EFER_LMA) ? entry | ENTRY_GUEST_LONG_MODE
                                               : entry & ~ENTRY_GUEST_LONG_MODE;
        ok &= vmcs_write64(VMCS64_GUEST_EFER, ctl->efer);
        if (want != entry)
            ok &= vmcs_write32(VMCS32_ENTRY_CONTROLS, want);
    }
    return ok;
}

/* What the guest reads: its own bits from the registers, the bits the hypervisor owns (the
 * guest/host masks) from the read shadows. */
struct guest_ctl vmx_guest_ctl(void)
{
    uint64_t cr0_mask = vmcs_readn(VMCSN_CR0_MASK), cr4_mask = vmcs_readn(VMCSN_CR4_MASK);
    return (struct guest_ctl){
        (vmcs_readn(VMCSN_GUEST_CR0) & ~cr0_mask) | (vmcs_readn(VMCSN_CR0_SHADOW) & cr0_mask),
        (vmcs_readn(VMCSN_GUEST_CR4) & ~cr4_mask) | (vmcs_readn(VMCSN_CR4_SHADOW) & cr4_mask),
        vmcs_read64(VMCS64_GUEST_EFER),
    };
}

static struct guest_ctl loaded_ctl(void)
{
    return (struct guest_ctl){ vmcs_readn(VMCSN_GUEST_CR0), vmcs_readn(VMCSN_GUEST_CR4),
                               vmcs_read64(VMCS64_GUEST_EFER) };
}

bool vmx_set_guest_cr0(struct vcpu *v, uint64_t value)
{
    struct guest_ctl now = loaded_ctl(), next;
    return guest_cr0_write(&now, value, &next) &&
           vmx_load_guest_ctl(v, GUEST_CTL_CR0 | GUEST_CTL_EFER, &next);
}

bool vmx_set_guest_cr4(struct vcpu *v, uint64_t value)
{
    struct guest_ctl now = loaded_ctl(), next;
    return guest_cr4_write(&now, value, vmx_cr4_offered(), &next) &&
           vmx_load_guest_ctl(v, GUEST_CTL_CR4, &next);
}

void vtx_get_paging(struct vcpu *v, struct guest_paging *pg)
{
    uint32_t cs_ar = vmcs_read32(VMCS32_GUEST_CS_AR);
    pg->cr0 = vmcs_readn(VMCSN_GUEST_CR0);
    pg->cr3 = vmcs_readn(VMCSN_GUEST_CR3);
    pg->cr4 = vmcs_readn(VMCSN_GUEST_CR4);
    pg->efer = vmcs_read64(VMCS64_GUEST_EFER);
    pg->cs_base = vmcs_readn(VMCSN_GUEST_CS_BASE);
    pg->cs_long = (pg->efer & EFER_LMA) && (cs_ar & (1u << 13));
    pg->cs_32 = cs_ar & (1u << 14);
    pg->cpl = (vmcs_read32(VMCS32_GUEST_SS_AR) >> 5) & 3;
}
