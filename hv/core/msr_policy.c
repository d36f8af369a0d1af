#include "hv/core/msr_policy.h"

#include "hv/arch/x86/cpu.h"
#include "hv/core/partition.h"
#include "hv/core/platform_glue.h"

#define MSR_TSC              0x10
#define MSR_TSC_ADJUST       0x3b
#define MSR_SPEC_CTRL        0x48
#define MSR_PRED_CMD         0x49
#define MSR_BIOS_SIGN_ID     0x8b
#define MSR_MTRR_CAP         0xfe
#define MSR_MCG_CAP          0x179
#define MSR_MCG_STATUS       0x17a
#define MSR_MISC_ENABLE      0x1a0
#define MSR_DEBUGCTL         0x1d9
#define MSR_MTRR_DEF_TYPE    0x2ff
#define MSR_ARCH_CAPS        0x10a

/* Reads that return a constant and writes that are accepted and dropped. */
static bool constant_msr(uint32_t msr, uint64_t *value)
{
    switch (msr) {
    case MSR_IA32_FEATURE_CONTROL: *value = 1; return true;       /* locked, VMX off */
    case MSR_BIOS_SIGN_ID: *value = 0xffull << 32; return true;   /* a current microcode */
    case MSR_MISC_ENABLE: *value = 1; return true;                /* fast strings */
    case MSR_MTRR_CAP: *value = 0x500; return true;               /* fixed + WC, no variable */
    case MSR_MTRR_DEF_TYPE: *value = 0xc06; return true;          /* enabled, write-back */
    case MSR_TSC_ADJUST: case MSR_SPEC_CTRL: case MSR_MCG_CAP: case MSR_MCG_STATUS:
    case MSR_DEBUGCTL: case MSR_ARCH_CAPS:
        *value = 0;
        return true;
    }
    if ((msr >= 0x250 && msr <= 0x26f) || (msr >= 0x400 && msr < 0x480)) {  /* fixed MTRRs, MCA */
        *value = msr >= 0x400 ? 0 : 0x0606060606060606ull;
        return true;
    }
    return false;
}

bool msr_policy_read(struct vcpu *v, uint32_t msr, uint64_t *value)
{
    int r = partition_msr(v, msr, false, value);
    if (r != 2)
        return r == 0;
    if (msr == MSR_TSC) {
        *value = rdtsc();
        return true;
    }
    return constant_msr(msr, value);
}

bool msr_policy_write(struct vcpu *v, uint32_t msr, uint64_t value)
{
    uint64_t ignored;
    int r = partition_msr(v, msr, true, &value);
    if (r != 2)
        return r == 0;
    if (msr == MSR_TSC || msr == MSR_PRED_CMD)
        return true;
    if (msr == MSR_DEBUGCTL || msr == MSR_SPEC_CTRL)
        return (value & ~0x3ull) == 0 || msr == MSR_SPEC_CTRL;
    return constant_msr(msr, &ignored) && msr != MSR_IA32_FEATURE_CONTROL && msr != MSR_MTRR_CAP &&
           msr != MSR_ARCH_CAPS;
}
