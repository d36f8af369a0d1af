/* What this CPU's VT-x can do, read once per CPU from CPUID and the VMX capability MSRs. */
#ifndef ATOLL_HV_VMX_VMX_CAPS_H
#define ATOLL_HV_VMX_VMX_CAPS_H
#include <stdbool.h>
#include <stdint.h>

struct vmx_caps {
    bool vmx;                   /* CPUID.1:ECX.VMX */
    bool locked_off;            /* IA32_FEATURE_CONTROL locked with VMX outside SMX off */
    bool ept, unrestricted, vpid;
    bool ept_2m, ept_1g, ept_wb, invept, invvpid;
    bool preemption_timer;
    bool virtual_nmis;          /* virtual NMIs with NMI-window exiting */
    bool true_ctls;
    bool io_instr_info;         /* INS/OUTS exits report their address size */
    uint32_t vmcs_revision;
    uint64_t pinbased, procbased, procbased2, exit, entry;  /* allowed 0/1 settings */
    uint64_t ept_vpid_cap, misc;
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

void vmx_caps_read(struct vmx_caps *c);
/* The first thing a partition needs that this CPU lacks, in words for "VT-x here lacks
 * ...", or NULL: VMX permitted, EPT (write-back, INVEPT), unrestricted guest, VPID
 * (INVVPID), virtual NMIs, the preemption timer (nothing else bounds a guest that never
 * exits), EFER and PAT loaded and saved on entry and exit (else a guest's stay in the
 * host), 64-bit host, external-interrupt, NMI and HLT exiting, I/O and MSR bitmaps, and
 * CR3 accesses that need not exit.  Portable: host-tested on the capability values. */
const char *vmx_caps_missing(const struct vmx_caps *c);
bool vmx_caps_usable(const struct vmx_caps *c);
/* The first thing a partition needs that c lacks, in words; NULL when it lacks nothing. */
const char *vmx_caps_missing(const struct vmx_caps *c);

#endif
