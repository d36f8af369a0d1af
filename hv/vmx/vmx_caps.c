#include "hv/vmx/vmx_caps.h"

#include <string.h>
#ifdef ATOLL_KERNEL
#include "hv/arch/x86/cpu.h"
#endif

#define PROC_SECONDARY      (1ull << 31)
#define PROC2_EPT           (1ull << 1)
#define PROC2_VPID          (1ull << 5)
#define PROC2_UNRESTRICTED  (1ull << 7)
#define PIN_PREEMPT_TIMER   (1ull << 6)
#define PIN_VIRTUAL_NMI     (1ull << 5)
#define PROC_NMI_WINDOW_EX  (1ull << 22)
#define PIN_EXTINT_EXIT     (1ull << 0)
#define PIN_NMI_EXIT        (1ull << 3)
#define PROC_HLT_EXIT       (1ull << 7)
#define PROC_CR3_EXITS      ((1ull << 15) | (1ull << 16))
#define PROC_IO_BITMAPS     (1ull << 25)
#define PROC_MSR_BITMAPS    (1ull << 28)
#define EXIT_HOST_64        (1ull << 9)
#define EXIT_PAT            ((1ull << 18) | (1ull << 19))   /* save, load */
#define EXIT_EFER           ((1ull << 20) | (1ull << 21))
#define ENTRY_GUEST_64      (1ull << 9)
#define ENTRY_PAT           (1ull << 14)
#define ENTRY_EFER          (1ull << 15)
#define EXIT_SAVE_DEBUG     (1ull << 2)
#define ENTRY_LOAD_DEBUG    (1ull << 2)
#define EPT_INVEPT_SINGLE   (1ull << 25)
#define EPT_INVEPT_ALL      (1ull << 26)
#define VPID_INVVPID_ALL    (1ull << 42)

static bool allowed1(uint64_t ctl_msr, uint64_t bit) { return (ctl_msr >> 32) & bit; }
static bool all_allowed1(uint64_t ctl_msr, uint64_t bits) { return ((ctl_msr >> 32) & bits) == bits; }
/* Controls the hypervisor needs clear must not be forced to 1. */
static bool allowed0(uint64_t ctl_msr, uint64_t bits) { return !((uint32_t)ctl_msr & bits); }

#ifdef ATOLL_KERNEL

void vmx_caps_read(struct vmx_caps *c)
{
    memset(c, 0, sizeof(*c));
    c->vmx = cpuid(1, 0).ecx & (1u << 5);
    if (!c->vmx)
        return;
    uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
    c->locked_off = (fc & 1) && !(fc & 4);
    uint64_t basic = rdmsr(MSR_IA32_VMX_BASIC);
    c->vmcs_revision = basic & 0x7fffffff;
    c->true_ctls = basic & (1ull << 55);
    c->io_instr_info = basic & (1ull << 54);
    c->pinbased = rdmsr(c->true_ctls ? MSR_IA32_VMX_TRUE_PINBASED : MSR_IA32_VMX_PINBASED);
    c->procbased = rdmsr(c->true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED : MSR_IA32_VMX_PROCBASED);
    c->exit = rdmsr(c->true_ctls ? MSR_IA32_VMX_TRUE_EXIT : MSR_IA32_VMX_EXIT);
    c->entry = rdmsr(c->true_ctls ? MSR_IA32_VMX_TRUE_ENTRY : MSR_IA32_VMX_ENTRY);
    c->misc = rdmsr(MSR_IA32_VMX_MISC);
    c->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
    c->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
    c->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
    c->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
    c->preemption_timer = allowed1(c->pinbased, PIN_PREEMPT_TIMER);
    c->virtual_nmis = allowed1(c->pinbased, PIN_VIRTUAL_NMI) &&
                      allowed1(c->procbased, PROC_NMI_WINDOW_EX);
    if (!allowed1(c->procbased, PROC_SECONDARY))
        return;
    c->procbased2 = rdmsr(MSR_IA32_VMX_PROCBASED2);
    c->ept = allowed1(c->procbased2, PROC2_EPT);
    c->vpid = allowed1(c->procbased2, PROC2_VPID);
    c->unrestricted = allowed1(c->procbased2, PROC2_UNRESTRICTED);
    if (c->ept || c->vpid) {
        c->ept_vpid_cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
        c->ept_wb = c->ept_vpid_cap & (1ull << 14);
        c->ept_2m = c->ept_vpid_cap & (1ull << 16);
        c->ept_1g = c->ept_vpid_cap & (1ull << 17);
        c->invept = c->ept_vpid_cap & (1ull << 20);
        c->invvpid = c->ept_vpid_cap & (1ull << 32);
    }
}

#endif

const char *vmx_caps_missing(const struct vmx_caps *c)
{
    if (!c->vmx)
        return "VT-x";
    if (c->locked_off)
        return "permission (VMX locked off by firmware)";
    if (!c->ept)
        return "EPT";
    if (!c->unrestricted)
        return "unrestricted guest";
    if (!c->vpid)
        return "VPID";
    if (!c->ept_wb)
        return "write-back EPT memory";
    if (!(c->ept_vpid_cap & EPT_INVEPT_SINGLE) || !(c->ept_vpid_cap & EPT_INVEPT_ALL) ||
        !(c->ept_vpid_cap & VPID_INVVPID_ALL))
        return "INVEPT and INVVPID";
    if (!c->virtual_nmis)
        return "virtual NMIs";
    if (!c->preemption_timer)
        return "the VMX preemption timer";
    if (!allowed1(c->exit, EXIT_SAVE_DEBUG) || !allowed1(c->entry, ENTRY_LOAD_DEBUG))
        return "debug-control save and load";
    if (!all_allowed1(c->exit, EXIT_EFER) || !all_allowed1(c->entry, ENTRY_EFER))
        return "EFER load and save controls";
    if (!all_allowed1(c->exit, EXIT_PAT) || !all_allowed1(c->entry, ENTRY_PAT))
        return "PAT load and save controls";
    if (!allowed1(c->exit, EXIT_HOST_64) || !allowed1(c->entry, ENTRY_GUEST_64))
        return "64-bit host and guest controls";
    if (!all_allowed1(c->pinbased, PIN_EXTINT_EXIT | PIN_NMI_EXIT))
        return "external-interrupt and NMI exiting";
    if (!all_allowed1(c->procbased, PROC_HLT_EXIT | PROC_IO_BITMAPS | PROC_MSR_BITMAPS) ||
        !allowed0(c->procbased, PROC_CR3_EXITS))
        return "HLT exiting, I/O and MSR bitmaps";
    return NULL;
}

bool vmx_caps_usable(const struct vmx_caps *c)
{
    return vmx_caps_missing(c) == NULL;
}
