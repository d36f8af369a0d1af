/* The capability probe and its report behind hv/core/virt.h: what each CPU's VT-x offers,
 * one line per CPU, and one line naming what the first unusable CPU lacks. */
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/percpu.h"
#include "hv/core/virt.h"
#include "hv/vmx/vmx.h"
#include "hv/vmx/vmx_caps.h"

static struct vmx_caps caps[MAX_CPUS];

bool vtx_cpu_probe(unsigned cpu)
{
    vmx_caps_read(&caps[cpu]);
    return vmx_caps_usable(&caps[cpu]);
}

static const char *yes_no(bool b) { return b ? "yes" : "no"; }

bool vtx_report(unsigned count)
{
    bool any_vmx = false;
    const char *missing = NULL;
    unsigned first = 0;
    for (unsigned i = 0; i < count; i++) {
        any_vmx |= caps[i].vmx;
        if (!missing && (missing = vmx_caps_missing(&caps[i])))
            first = i;
    }
    if (!any_vmx) {
        kprintf("atoll: no VT-x on this machine; partitions disabled\n");
        return false;
    }
    for (unsigned i = 0; i < count; i++)
        kprintf("cpu%u: vmx ept=%s ug=%s vpid=%s\n", i, yes_no(caps[i].ept),
                yes_no(caps[i].unrestricted), yes_no(caps[i].vpid));
    if (missing)
        kprintf("atoll: VT-x here lacks %s%s; partitions disabled\n", missing,
                count > 1 ? (first ? " (from cpu1 on)" : "") : "");
    return missing == NULL;
}
