/*
 * Leaf by leaf:
 *   0            the host's vendor; max basic leaf capped at 0x1f
 *   1            EBX: APIC id = vCPU index, logical count = vCPUs; ECX: no VMX, SMX, EST,
 *                TM2, SDBG, PDCM, DS-CPL, MONITOR; x2APIC and TSC-deadline set (emulated);
 *                EDX.APIC clear while the vCPU's IA32_APIC_BASE.EN is;
 *                hypervisor bit set; EDX: no DS, ACPI thermal, TM, PBE
 *   4            cache topology passed through, core counts from the vCPU count
 *   5, 6, 0xa    zero: no MONITOR/MWAIT, power management or performance counters
 *   7.0          no SGX, Intel PT, WAITPKG; no PKS (IA32_PKRS is not virtualised: PKU with
 *                PKRU in the XSAVE area is), CET or UINTR (their state is supervisor XSAVE
 *                state, which is not offered); the rest passed through, less the features of
 *                state components not offered (AMX always; see xcr0_policy.h); OSPKE
 *                mirrors the guest's CR4.PKE
 *                (Key Locker, whose IWKey no VM exit saves, is not offered either)
 *   7.1          no FRED (its MSRs are not switched); no AMX-FP16, AMX-COMPLEX, APX; no
 *                AVX-512 BF16 without AVX-512
 *   0xb, 0x1f    one thread per core, cores = vCPUs; x2APIC id = vCPU index
 *   0xd          the components offered (xcr0_policy.h): subleaf 0 EDX:EAX lists them and
 *                ECX is the size of an area holding them all (EBX, the size for the
 *                current XCR0, is the CPU's: the guest's XCR0 is loaded while it exits);
 *                subleaves of components not offered are zero; subleaf 1: no XSAVEC,
 *                XSAVES or XFD and no supervisor states (IA32_XSS is not virtualised; Linux
 *                otherwise writes it and finds the compacted size inconsistent)
 *   0x1d, 0x1e   zero: AMX tile and TMUL information (AMX is not offered)
 *   0x40000000   max hypervisor leaf 0x40000001, "AtollAtollHv"
 *   0x40000001   EAX = hypercall ABI version
 *   0x80000001   ECX: no SVM, SKINIT or MONITORX (no nested virtualization: the SVM
 *                instructions, INVLPGA among them, and MONITORX/MWAITX get #UD)
 *   0x80000008   EBX: no INVLPGB/TLBSYNC (#UD in a guest: the VMCB does not enable them)
 *   0x8000000a   zero: SVM's own features
 *   0x80000000+  the rest passed through (RDTSCP too: VT-x enables it and SVM runs it with
 *                the vCPU's TSC_AUX)
 * Anything else in 0x40000000..0x4fffffff and beyond the max leaves: zero.
 */
#include "hv/core/exit/cpuid_policy.h"

#include <string.h>
#include "hv/core/hypercall_abi.h"
#include "hv/core/exit/xcr0_policy.h"

#ifdef ATOLL_KERNEL
#include "hv/arch/x86/cpu.h"
#include "hv/core/partition.h"
#include "hv/core/platform_glue.h"
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

enum reg { EAX, EBX, ECX, EDX };

/* A feature bit that means nothing without these state components. */
struct state_feature {
    uint32_t leaf, subleaf;
    enum reg reg;
    uint8_t bit;
    uint64_t needs;
};

static const struct state_feature state_features[] = {
    { 1, 0, ECX, 12, XCR0_AVX },            /* FMA */
    { 1, 0, ECX, 28, XCR0_AVX },            /* AVX */
    { 1, 0, ECX, 29, XCR0_AVX },            /* F16C */
    { 7, 0, EBX, 5, XCR0_AVX },             /* AVX2 */
    { 7, 0, EBX, 14, XCR0_MPX },            /* MPX */
    { 7, 0, EBX, 16, XCR0_AVX512 },         /* AVX512F */
    { 7, 0, EBX, 17, XCR0_AVX512 },         /* AVX512DQ */
    { 7, 0, EBX, 21, XCR0_AVX512 },         /* AVX512_IFMA */
    { 7, 0, EBX, 26, XCR0_AVX512 },         /* AVX512PF */
    { 7, 0, EBX, 27, XCR0_AVX512 },         /* AVX512ER */
    { 7, 0, EBX, 28, XCR0_AVX512 },         /* AVX512CD */
    { 7, 0, EBX, 30, XCR0_AVX512 },         /* AVX512BW */
    { 7, 0, EBX, 31, XCR0_AVX512 },         /* AVX512VL */
    { 7, 0, ECX, 1, XCR0_AVX512 },          /* AVX512_VBMI */
    { 7, 0, ECX, 3, XCR0_PKRU },            /* PKU */
    { 7, 0, ECX, 4, XCR0_PKRU },            /* OSPKE */
    { 7, 0, ECX, 6, XCR0_AVX512 },          /* AVX512_VBMI2 */
    { 7, 0, ECX, 11, XCR0_AVX512 },         /* AVX512_VNNI */
    { 7, 0, ECX, 12, XCR0_AVX512 },         /* AVX512_BITALG */
    { 7, 0, ECX, 14, XCR0_AVX512 },         /* AVX512_VPOPCNTDQ */
    { 7, 0, EDX, 2, XCR0_AVX512 },          /* AVX512_4VNNIW */
    { 7, 0, EDX, 3, XCR0_AVX512 },          /* AVX512_4FMAPS */
    { 7, 0, EDX, 8, XCR0_AVX512 },          /* AVX512_VP2INTERSECT */
    { 7, 0, EDX, 22, XCR0_AMX },            /* AMX-BF16 */
    { 7, 0, EDX, 23, XCR0_AVX512 },         /* AVX512_FP16 */
    { 7, 0, EDX, 24, XCR0_AMX },            /* AMX-TILE */
    { 7, 0, EDX, 25, XCR0_AMX },            /* AMX-INT8 */
    { 7, 1, EAX, 5, XCR0_AVX512 },          /* AVX512_BF16 */
    { 7, 1, EAX, 21, XCR0_AMX },            /* AMX-FP16 */
    { 7, 1, EDX, 8, XCR0_AMX },             /* AMX-COMPLEX */
    { 7, 1, EDX, 21, XCR0_APX },            /* APX_F */
};

static uint32_t *reg_of(struct cpuid_result *r, enum reg reg)
{
    switch (reg) {
    case EAX: return &r->eax;
    case EBX: return &r->ebx;
    case ECX: return &r->ecx;
    default:  return &r->edx;
    }
}

static void hide_unoffered_features(uint32_t leaf, uint32_t subleaf, uint64_t offered,
                                    struct cpuid_result *out)
{
    for (size_t i = 0; i < sizeof(state_features) / sizeof(state_features[0]); i++) {
        const struct state_feature *f = &state_features[i];
        if (f->leaf == leaf && f->subleaf == subleaf && (offered & f->needs) != f->needs)
            *reg_of(out, f->reg) &= ~(1u << f->bit);
    }
}

static void xsave_leaf(uint32_t subleaf, uint64_t offered, cpuid_source host,
                       struct cpuid_result *out)
{
    if (subleaf == 0) {
        out->eax = (uint32_t)offered;
        out->edx = (uint32_t)(offered >> 32);
        out->ecx = xsave_area_size(offered, host);
        if (out->ebx > out->ecx)
            out->ebx = out->ecx;
    } else if (subleaf == 1) {
        out->eax &= ~((1u << 1) | (1u << 3) | (1u << 4));  /* XSAVEC, XSAVES, XFD */
        out->ebx = out->ecx = out->edx = 0;
    } else if (subleaf >= 63 || !(offered & (1ull << subleaf))) {
        memset(out, 0, sizeof(*out));
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
        hide_unoffered_features(leaf, subleaf, xcr0_offered(xcr0_cpu_supported(host)), out);
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
            out->ebx &= ~((1u << 2) | (1u << 25));                  /* SGX, Intel PT */
            out->ebx |= 1u << 1;    /* IA32_TSC_ADJUST: msr_policy.c emulates it whole */
            out->ecx &= ~((1u << 5) | (1u << 7) | (1u << 23) | (1u << 31)); /* WAITPKG, CET_SS,
                                                                       Key Locker, PKS */
            out->edx &= ~((1u << 5) | (1u << 20));                  /* UINTR, CET_IBT */
        } else if (subleaf == 1) {
            out->eax &= ~(1u << 17);                                /* FRED */
        }
        hide_unoffered_features(leaf, subleaf, xcr0_offered(xcr0_cpu_supported(host)), out);
        break;
    case 0xd:
        xsave_leaf(subleaf, xcr0_offered(xcr0_cpu_supported(host)), host, out);
        break;
    case 0x1d: case 0x1e:
        if (!(xcr0_offered(xcr0_cpu_supported(host)) & XCR0_AMX))
            memset(out, 0, sizeof(*out));
        break;
    case 0x80000001u:
        out->ecx &= ~((1u << 2) | (1u << 12) | (1u << 29));     /* SVM, SKINIT, MONITORX */
        break;
    case 0x80000008u:
        out->ebx &= ~(1u << 3);                                 /* INVLPGB and TLBSYNC */
        break;
    case 0x8000000au:
        memset(out, 0, sizeof(*out));
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
    /* OSXSAVE and OSPKE mirror the guest's CR4, not the host's */
    if (leaf == 1) {
        struct guest_paging pg;
        virt_get_paging(v, &pg);
        out->ecx = (out->ecx & ~(1u << 27)) | ((pg.cr4 & (1ull << 18)) ? 1u << 27 : 0);
        if (!partition_apic_enabled(v))             /* IA32_APIC_BASE.EN clear (SDM 10.4.3) */
            out->edx &= ~(1u << 9);
    } else if (leaf == 7 && subleaf == 0 && (out->ecx & (1u << 3))) {
        struct guest_paging pg;
        virt_get_paging(v, &pg);
        out->ecx = (out->ecx & ~(1u << 4)) | ((pg.cr4 & (1ull << 22)) ? 1u << 4 : 0);
    }
}
#endif
