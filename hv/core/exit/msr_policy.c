/*
 * MSR by MSR (SDM Vol. 4, chapter 2), each present only when the CPUID view shows what
 * brings it:
 *   0x10   IA32_TSC               CPUID.1:EDX.TSC; the host's TSC plus this vCPU's offset;
 *                                 a write sets the offset and moves TSC_ADJUST as much
 *   0x3a   IA32_FEATURE_CONTROL   reads 1 (locked, VMX and SMX off); writes #GP (locked)
 *   0x3b   IA32_TSC_ADJUST        CPUID.7.0:EBX[1]; 0 at reset; a write moves the TSC by
 *                                 the difference (the coupling of SDM 18.17.3)
 *   0x48   IA32_SPEC_CTRL         IBRS, STIBP or SSBD (CPUID.7.0:EDX[26,27,31] or AMD's
 *                                 CPUID.80000008H:EBX[14,15,24]); the bits those show read
 *                                 back, others #GP.  Kept per vCPU, not loaded into the CPU
 *   0x49   IA32_PRED_CMD          IBPB (CPUID.7.0:EDX[26] or CPUID.80000008H:EBX[12]);
 *                                 write-only, bit 0 runs an IBPB
 *   0x8b   IA32_BIOS_SIGN_ID      reads a current microcode revision; writes are dropped
 *   0xfe   IA32_MTRRCAP           CPUID.1:EDX.MTRR; fixed ranges and WC, no variable ones
 *   0x250.. the 11 fixed-range MTRRs and IA32_MTRR_DEF_TYPE (0x2ff): CPUID.1:EDX.MTRR;
 *                                 valid memory types read back, others #GP (EPT maps RAM
 *                                 write-back and the guest's PAT applies; these are kept)
 *   0x10a  IA32_ARCH_CAPABILITIES CPUID.7.0:EDX[29]; reads 0, read-only
 *   0x179  IA32_MCG_CAP           CPUID.1:EDX.MCA; 0 banks, no MCG_CTL; read-only
 *   0x17a  IA32_MCG_STATUS        CPUID.1:EDX.MCA; reads 0, takes 0
 *   0x17b, 0x400..  MCG_CTL and the bank MSRs: none (MCG_CAP.Count = 0, MCG_CTL_P = 0)
 *   0x1a0  IA32_MISC_ENABLE       fast strings, and xTPR disable, EIST and MONITOR where
 *                                 CPUID shows those features, read back; the read-only
 *                                 bits say what CPUID says (no PMU, no BTS, no PEBS);
 *                                 setting anything else (limit CPUID, XD disable) #GPs
 *   0x1d9  IA32_DEBUGCTL          reads 0; LBR and BTF are taken and dropped
 */
#include "hv/core/exit/msr_policy.h"

#ifdef ATOLL_KERNEL
#include "hv/arch/x86/cpu.h"
#include "hv/core/platform_glue.h"
#endif

#define MSR_TSC              0x10
#define MSR_FEATURE_CONTROL  0x3a
#define MSR_TSC_ADJUST       0x3b
#define MSR_SPEC_CTRL        0x48
#define MSR_PRED_CMD         0x49
#define MSR_BIOS_SIGN_ID     0x8b
#define MSR_MTRR_CAP         0xfe
#define MSR_ARCH_CAPS        0x10a
#define MSR_MCG_CAP          0x179
#define MSR_MCG_STATUS       0x17a
#define MSR_MISC_ENABLE      0x1a0
#define MSR_DEBUGCTL         0x1d9
#define MSR_MTRR_DEF_TYPE    0x2ff

#define MTRR_CAP_VALUE       0x500ull   /* fixed ranges, WC, no variable ranges */
#define MTRR_TYPE_WB         6ull
#define MTRR_FIXED_RESET     0x0606060606060606ull
#define MTRR_DEF_RESET       (0xc00ull | MTRR_TYPE_WB)     /* enabled, fixed enabled, WB */

#define MISC_FAST_STRINGS    (1ull << 0)
#define MISC_PMU_AVAILABLE   (1ull << 7)
#define MISC_BTS_UNAVAILABLE (1ull << 11)
#define MISC_PEBS_UNAVAILABLE (1ull << 12)
#define MISC_EIST            (1ull << 16)
#define MISC_MONITOR         (1ull << 18)
#define MISC_XTPR_DISABLE    (1ull << 23)
#define MISC_READ_ONLY       (MISC_PMU_AVAILABLE | MISC_BTS_UNAVAILABLE | MISC_PEBS_UNAVAILABLE)

static const uint32_t fixed_mtrrs[11] = {
    0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
};

/* The guest's view of a leaf's subleaf 0; zero beyond the maximum leaf it reports. */
static struct cpuid_result view(const struct msr_guest *g, uint32_t leaf)
{
    struct cpuid_result r = { 0, 0, 0, 0 }, max;
    g->cpuid(g->ctx, leaf & 0x80000000u, 0, &max);
    if (leaf <= max.eax)
        g->cpuid(g->ctx, leaf, 0, &r);
    return r;
}

static bool bit(uint32_t reg, unsigned n) { return (reg >> n) & 1; }

/* The IA32_SPEC_CTRL bits the view shows (IBRS, STIBP, SSBD); 0: no such MSR. */
static uint64_t spec_ctrl_bits(const struct msr_guest *g)
{
    struct cpuid_result l7 = view(g, 7), amd = view(g, 0x80000008u);
    return ((bit(l7.edx, 26) || bit(amd.ebx, 14)) ? 1ull : 0) |
           ((bit(l7.edx, 27) || bit(amd.ebx, 15)) ? 2ull : 0) |
           ((bit(l7.edx, 31) || bit(amd.ebx, 24)) ? 4ull : 0);
}

static bool shows_ibpb(const struct msr_guest *g)
{
    return bit(view(g, 7).edx, 26) || bit(view(g, 0x80000008u).ebx, 12);
}

/* IA32_MISC_ENABLE: the bits a guest may change, and the read-only bits' values. */
static uint64_t misc_writable(const struct msr_guest *g)
{
    struct cpuid_result l1 = view(g, 1);
    return MISC_FAST_STRINGS | (bit(l1.ecx, 14) ? MISC_XTPR_DISABLE : 0) |
           (bit(l1.ecx, 7) ? MISC_EIST : 0) | (bit(l1.ecx, 3) ? MISC_MONITOR : 0);
}

static uint64_t misc_read_only(const struct msr_guest *g)
{
    struct cpuid_result l1 = view(g, 1);
    bool ds = bit(l1.edx, 21), pebs = ds && bit(l1.ecx, 15);
    return ((view(g, 0xa).eax & 0xff) ? MISC_PMU_AVAILABLE : 0) |
           (ds ? 0 : MISC_BTS_UNAVAILABLE) | (pebs ? 0 : MISC_PEBS_UNAVAILABLE);
}

static void reset_once(const struct msr_guest *g)
{
    struct vcpu_msrs *r = g->regs;
    if (r->reset_done)
        return;
    r->reset_done = true;
    r->misc_enable = MISC_FAST_STRINGS | (misc_writable(g) & MISC_MONITOR);
    r->spec_ctrl = 0;
    r->mtrr_def_type = MTRR_DEF_RESET;
    for (unsigned i = 0; i < 11; i++)
        r->mtrr_fixed[i] = MTRR_FIXED_RESET;
}

static int fixed_mtrr_index(uint32_t msr)
{
    for (int i = 0; i < 11; i++)
        if (fixed_mtrrs[i] == msr)
            return i;
    return -1;
}

static bool valid_memory_type(uint64_t t) { return t == 0 || t == 1 || t == 4 || t == 5 || t == 6; }

static bool valid_fixed_mtrr(uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        if (!valid_memory_type((v >> (8 * i)) & 0xff))
            return false;
    return true;
}

bool msr_guest_read(const struct msr_guest *g, uint32_t msr, uint64_t *value)
{
    reset_once(g);
    struct cpuid_result l1 = view(g, 1);
    bool mca = bit(l1.edx, 14), mtrr = bit(l1.edx, 12);
    int fixed = fixed_mtrr_index(msr);
    if (fixed >= 0 && mtrr) {
        *value = g->regs->mtrr_fixed[fixed];
        return true;
    }
    switch (msr) {
    case MSR_TSC:
        *value = g->tsc + g->regs->tsc_offset;
        return bit(l1.edx, 4);
    case MSR_FEATURE_CONTROL: *value = 1; return true;
    case MSR_TSC_ADJUST: *value = g->regs->tsc_adjust; return bit(view(g, 7).ebx, 1);
    case MSR_SPEC_CTRL: *value = g->regs->spec_ctrl; return spec_ctrl_bits(g) != 0;
    case MSR_BIOS_SIGN_ID: *value = 0xffull << 32; return true;
    case MSR_MTRR_CAP: *value = MTRR_CAP_VALUE; return mtrr;
    case MSR_MTRR_DEF_TYPE: *value = g->regs->mtrr_def_type; return mtrr;
    case MSR_ARCH_CAPS: *value = 0; return bit(view(g, 7).edx, 29);
    case MSR_MCG_CAP: case MSR_MCG_STATUS: *value = 0; return mca;
    case MSR_MISC_ENABLE:
        *value = (g->regs->misc_enable & misc_writable(g)) | misc_read_only(g);
        return true;
    case MSR_DEBUGCTL: *value = 0; return true;
    }
    return false;
}

bool msr_guest_write(const struct msr_guest *g, uint32_t msr, uint64_t value)
{
    reset_once(g);
    struct cpuid_result l1 = view(g, 1);
    bool mtrr = bit(l1.edx, 12);
    int fixed = fixed_mtrr_index(msr);
    if (fixed >= 0) {
        if (!mtrr || !valid_fixed_mtrr(value))
            return false;
        g->regs->mtrr_fixed[fixed] = value;
        return true;
    }
    switch (msr) {
    case MSR_TSC: {
        if (!bit(l1.edx, 4))
            return false;
        uint64_t delta = value - (g->tsc + g->regs->tsc_offset);
        g->regs->tsc_offset += delta;
        if (bit(view(g, 7).ebx, 1))
            g->regs->tsc_adjust += delta;
        return true;
    }
    case MSR_TSC_ADJUST:
        if (!bit(view(g, 7).ebx, 1))
            return false;
        g->regs->tsc_offset += value - g->regs->tsc_adjust;
        g->regs->tsc_adjust = value;
        return true;
    case MSR_SPEC_CTRL: {
        uint64_t allowed = spec_ctrl_bits(g);
        if (!allowed || (value & ~allowed))
            return false;
        g->regs->spec_ctrl = value;
        return true;
    }
    case MSR_PRED_CMD: return shows_ibpb(g) && (value & ~1ull) == 0;
    case MSR_BIOS_SIGN_ID: return true;
    case MSR_MTRR_DEF_TYPE:
        if (!mtrr || (value & ~0xcffull) || !valid_memory_type(value & 0xff))
            return false;
        g->regs->mtrr_def_type = value;
        return true;
    case MSR_MCG_STATUS: return bit(l1.edx, 14) && value == 0;
    case MSR_MISC_ENABLE: {
        uint64_t writable = misc_writable(g);
        if (value & ~(writable | MISC_READ_ONLY))       /* read-only bits: ignored */
            return false;
        g->regs->misc_enable = value & writable;
        return true;
    }
    case MSR_DEBUGCTL: return (value & ~3ull) == 0;
    }
    return false;           /* unknown, read-only (FEATURE_CONTROL locked, MTRRCAP, MCG_CAP,
                               ARCH_CAPABILITIES) or absent (MCG_CTL, bank MSRs) */
}

#ifdef ATOLL_KERNEL
static void vcpu_view(void *ctx, uint32_t leaf, uint32_t subleaf, struct cpuid_result *out)
{
    cpuid_policy(ctx, leaf, subleaf, out);
}

bool msr_policy_read(struct vcpu *v, uint32_t msr, uint64_t *value)
{
    int r = partition_msr(v, msr, false, value);
    if (r != 2)
        return r == 0;
    struct msr_guest g = { vcpu_view, v, &v->msrs, rdtsc() };
    return msr_guest_read(&g, msr, value);
}

bool msr_policy_write(struct vcpu *v, uint32_t msr, uint64_t value)
{
    int r = partition_msr(v, msr, true, &value);
    if (r != 2)
        return r == 0;
    struct msr_guest g = { vcpu_view, v, &v->msrs, rdtsc() };
    if (!msr_guest_write(&g, msr, value))
        return false;
    if (msr == MSR_PRED_CMD && value)
        wrmsr(MSR_PRED_CMD, value);     /* the barrier the guest asked for */
    return true;
}
#endif
