/* VMX operation on each physical CPU: feature control, CR0/CR4 fixed bits, VMXON. */
#include <string.h>
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/percpu.h"
#include "hv/arch/x86/console.h"
#include "hv/core/guest_xstate.h"
#include "hv/core/virt.h"
#include "hv/mm/kmem.h"
#include "hv/vmx/vmx.h"
#include "hv/lib/x86_bits.h"

#define FC_LOCK              (1ull << 0)
#define FC_VMX_OUTSIDE_SMX   (1ull << 2)

struct vmx_cpu *vmx_this_cpu(void) { return this_cpu()->virt; }

static bool enable_feature_control(void)
{
    uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
    if (fc & FC_LOCK)
        return fc & FC_VMX_OUTSIDE_SMX;
    wrmsr(MSR_IA32_FEATURE_CONTROL, fc | FC_LOCK | FC_VMX_OUTSIDE_SMX);
    return true;
}

bool vtx_cpu_enable(void)
{
    struct percpu *p = this_cpu();
    struct vmx_cpu *c = kmalloc(sizeof(*c));
    if (!c)
        return false;
    memset(c, 0, sizeof(*c));
    vmx_caps_read(&c->caps);
    if (!vmx_caps_usable(&c->caps) || !enable_feature_control()) {
        kfree(c);
        return false;
    }
    c->vmxon_region = kmem_alloc_pages(1);
    if (!c->vmxon_region) {
        kfree(c);
        return false;
    }
    *(uint32_t *)c->vmxon_region = c->caps.vmcs_revision;
    guest_xstate_enable();
    vmx_xstate_probe(c);
    write_cr0((read_cr0() | c->caps.cr0_fixed0) & c->caps.cr0_fixed1);
    write_cr4((read_cr4() | CR4_VMXE | c->caps.cr4_fixed0) & c->caps.cr4_fixed1);
    uint64_t phys = virt_to_phys(c->vmxon_region);
    uint8_t cf, zf;
    __asm__ volatile("vmxon %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : "m"(phys) : "cc", "memory");
    if (cf || zf) {
        kprintf("vmx: cpu%u: vmxon failed\n", p->index);
        return false;
    }
    struct { uint64_t a, b; } all = { 0, 0 };
    __asm__ volatile("invept %0, %1" : : "m"(all), "r"(2ull) : "cc", "memory");
    __asm__ volatile("invvpid %0, %1" : : "m"(all), "r"(2ull) : "cc", "memory");
    p->virt = c;
    return true;
}
