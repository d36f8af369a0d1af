#include "hv/vmx/vmx_caps.h"

#include <string.h>
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/percpu.h"
#include "hv/core/virt.h"

#define PROC_SECONDARY      (1ull << 31)
#define PROC2_EPT           (1ull << 1)
#define PROC2_VPID          (1ull << 5)
#define PROC2_UNRESTRICTED  (1ull << 7)
#define PIN_PREEMPT_TIMER   (1ull << 6)
#define PIN_VIRTUAL_NMI     (1ull << 5)
#define PROC_NMI_WINDOW_EX  (1ull << 22)

static bool allowed1(uint64_t ctl_msr, uint64_t bit) { return (ctl_msr >> 32) & bit; }

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

const char *vmx_caps_missing(const struct vmx_caps *c)
{
    return !c->vmx ? "VT-x" :
           c->locked_off ? "permission (VMX locked off by firmware)" :
           !c->ept ? "EPT" : !c->unrestricted ? "unrestricted guest" :
           !c->vpid ? "VPID" : !c->ept_wb ? "write-back EPT memory" :
           !c->virtual_nmis ? "virtual NMIs" : NULL;
}

bool vmx_caps_usable(const struct vmx_caps *c)
{
    return vmx_caps_missing(c) == NULL;
}

/* ---- the probe behind virt.h ---------------------------------------------------------- */

static struct vmx_caps caps[MAX_CPUS];

bool virt_cpu_probe(unsigned cpu)
{
    vmx_caps_read(&caps[cpu]);
    return vmx_caps_usable(&caps[cpu]);
}

static const char *yes_no(bool b) { return b ? "yes" : "no"; }

bool virt_report(unsigned count)
{
    bool any_vmx = false;
    const char *missing = NULL;
    for (unsigned i = 0; i < count; i++) {
        any_vmx |= caps[i].vmx;
        missing = missing ? missing : vmx_caps_missing(&caps[i]);
    }
    if (!any_vmx) {
        kprintf("atoll: no VT-x on this machine; partitions disabled\n");
        return false;
    }
    for (unsigned i = 0; i < count; i++)
        kprintf("cpu%u: vmx ept=%s ug=%s vpid=%s\n", i, yes_no(caps[i].ept),
                yes_no(caps[i].unrestricted), yes_no(caps[i].vpid));
    if (missing)
        kprintf("atoll: VT-x here lacks %s; partitions disabled\n", missing);
    return missing == NULL;
}
