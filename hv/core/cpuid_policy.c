/*
 * Leaf by leaf:
 *   0            the host's vendor; max basic leaf capped at 0x1f
 *   1            EBX: APIC id = vCPU index, logical count = vCPUs; ECX: no VMX, SMX, EST,
 *                TM2, SDBG, PDCM, DS-CPL, MONITOR; x2APIC and TSC-deadline set (emulated);
 *                hypervisor bit set; EDX: no DS, ACPI thermal, TM, PBE
 *   4            cache topology passed through, core counts from the vCPU count
 *   5, 6, 0xa    zero: no MONITOR/MWAIT, power management or performance counters
 *   7.0          no SGX, Intel PT, WAITPKG; the rest passed through
 *   0xb, 0x1f    one thread per core, cores = vCPUs; x2APIC id = vCPU index
 *   0xd          passed through (XSAVE layout of the real CPU), except subleaf 1: no
 *                XSAVEC/XSAVES and no supervisor states (IA32_XSS is not virtualised; Linux
 *                otherwise writes it and finds the compacted size inconsistent)
 *   0x40000000   max hypervisor leaf 0x40000001, "AtollAtollHv"
 *   0x40000001   EAX = hypercall ABI version
 *   0x80000000+  passed through, except no RDTSCP when VT-x cannot enable it
 * Anything else in 0x40000000..0x4fffffff and beyond the max leaves: zero.
 */
#include "hv/core/cpuid_policy.h"

#include <string.h>
#include "hv/core/hypercall_abi.h"

#ifdef ATOLL_KERNEL
#include "hv/arch/x86/cpu.h"
#include "hv/core/partition.h"
#include "hv/core/virt.h"
#endif

static void hypervisor_leaf(uint32_t leaf, struct cpuid_result *out)
{
    memset(out, 0, sizeof(*out));
    if (leaf == HV_CPUID_BASE) {
        out->eax = HV_CPUID_BASE + 1;
        memcpy(&out->ebx, HV_CPUID_SIGNATURE, 4);
        memcpy(&out->ecx, HV_CPUID_SIGNATURE + 4, 4);
        memcpy(&out->edx, HV_CPUID_SIGNATURE + 8, 4);
    } else if (leaf == HV_CPUID_BASE + 1) {
        out->eax = HC_ABI_VERSION;
    }
}

void cpuid_filter(uint32_t leaf, uint32_t subleaf, unsigned index, unsigned count,
                  cpuid_source host, struct cpuid_result *out)
{
    if (leaf >= 0x40000000u && leaf <= 0x4fffffffu) {
        hypervisor_leaf(leaf, out);
        return;
    }
    uint32_t max_basic = host(0, 0).eax, max_ext = host(0x80000000u, 0).eax;
    if ((leaf < 0x80000000u && leaf > max_basic && leaf > 0x1f) ||
        (leaf >= 0x80000000u && leaf > max_ext)) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = host(leaf, subleaf);
    switch (leaf) {
    case 0:
        if (out->eax > 0x1f)
            out->eax = 0x1f;
        break;
    case 1:
        out->ebx = (out->ebx & 0x0000ffffu) | (index << 24) | ((count & 0xff) << 16);
        out->ecx &= ~((1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 8) |
                      (1u << 11) | (1u << 15));
        out->ecx |= (1u << 21) | (1u << 24) | (1u << 31);
        out->edx &= ~((1u << 21) | (1u << 22) | (1u << 29) | (1u << 31));
        out->edx |= 1u << 28;       /* HTT: the logical count in EBX is valid */
        break;
    case 4:
        if (out->eax & 0x1f)
            out->eax = (out->eax & 0x3ff) | ((count - 1) << 26);
        break;
    case 5: case 6: case 0xa:
        memset(out, 0, sizeof(*out));
        break;
    case 7:
        if (subleaf == 0) {
            out->ebx &= ~((1u << 2) | (1u << 25));
            out->ecx &= ~(1u << 5);
        }
        break;
    case 0xd:
        if (subleaf == 1) {
            out->eax &= ~((1u << 1) | (1u << 3));
            out->ebx = out->ecx = out->edx = 0;
        }
        break;
    case 0xb: case 0x1f:
        out->edx = index;
        if (subleaf == 0) {
            out->eax = 0; out->ebx = 1; out->ecx = (1u << 8) | subleaf;
        } else if (subleaf == 1) {
            out->eax = 6; out->ebx = count; out->ecx = (2u << 8) | subleaf;
        } else {
            out->eax = 0; out->ebx = 0; out->ecx = subleaf;
        }
        break;
    default:
        break;
    }
}

#ifdef ATOLL_KERNEL
static struct cpuid_result host_cpuid(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid_regs r = cpuid(leaf, subleaf);
    return (struct cpuid_result){ r.eax, r.ebx, r.ecx, r.edx };
}

void cpuid_policy(struct vcpu *v, uint32_t leaf, uint32_t subleaf, struct cpuid_result *out)
{
    cpuid_filter(leaf, subleaf, v->index, v->part->vcpu_count, host_cpuid, out);
    if (leaf == 1) {                /* OSXSAVE mirrors the guest's CR4, not the host's */
        struct guest_paging pg;
        virt_get_paging(v, &pg);
        out->ecx = (out->ecx & ~(1u << 27)) | ((pg.cr4 & (1ull << 18)) ? 1u << 27 : 0);
    }
}
#endif
