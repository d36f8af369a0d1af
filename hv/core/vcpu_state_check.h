/*
 * The rules a captured vCPU state (hv/core/vcpu_state.h) must satisfy before a backend may
 * put it into a vCPU, and the conversions every VT-x-like backend shares.  A state stream
 * is untrusted input: a state these rules accept is one VM entry accepts (SDM Vol. 3,
 * 27.3.1 "Checks on the Guest State Area", for an unrestricted guest with the controls
 * hv/vmx sets) and that the partition's guest could have reached itself.  Portable.
 */
#ifndef ATOLL_HV_CORE_VCPU_STATE_CHECK_H
#define ATOLL_HV_CORE_VCPU_STATE_CHECK_H
#include <stdint.h>
#include "hv/core/exit/cpuid_policy.h"
#include "hv/core/exit/msr_policy.h"
#include "hv/core/vcpu_state.h"

/* VMX's access-rights field <-> the neutral segment attributes (same bit positions): an
 * unusable segment keeps only its DPL (SS.DPL is the CPL even then), a usable one drops
 * the reserved bits. */
uint32_t vcpu_seg_attr_from_vmx(uint32_t access_rights);
uint32_t vcpu_seg_attr_to_vmx(uint32_t attributes);

/* CR0 or CR4 as the guest reads it: the bits the guest/host mask owns come from the read
 * shadow, the others from the register itself. */
uint64_t vcpu_visible_cr(uint64_t real, uint64_t mask, uint64_t shadow);

/* What the architecture (and the hypervisor's own handling of MOV CR, WRMSR EFER and
 * DEBUGCTL) forbids, whatever the hardware: NULL, or a few words naming what is wrong. */
const char *vcpu_state_impossible(const struct vcpu_state *s);

/* What one host and one partition offer. */
struct vcpu_state_offer {
    uint64_t cr4_allowed;       /* CR4 bits a guest's MOV to CR4 may set */
    uint64_t xcr0_offered;      /* XCR0 components (xcr0_policy.h); 0: no XSAVE, FXSAVE image */
    uint32_t xsave_size;        /* bytes of the XSAVE area the backend switches */
    uint32_t mxcsr_mask;        /* MXCSR bits FXRSTOR / XRSTOR accept */
    unsigned phys_addr_bits;    /* MAXPHYADDR: CR3 bits above it must be clear */
    cpuid_source host;          /* CPUID leaf 0xD: where each XSAVE component lies */
};

/* What this host or partition does not offer: NULL, or a few words naming it. */
const char *vcpu_state_not_offered(const struct vcpu_state *s, const struct vcpu_state_offer *o);

/* The MSR policy's values (struct vcpu_msrs) of a vCPU into s; g->regs is a copy the
 * caller may let the policy reset (a vCPU that never reached an MSR exit has none yet). */
void vcpu_state_msrs_capture(struct vcpu_state *s, const struct msr_guest *g);
/* The values of s into g->regs (zeroed by the caller), each written as the guest's WRMSR
 * would in the partition's CPUID view g->cpuid; NULL, or the MSR that view refuses. */
const char *vcpu_state_msrs_apply(const struct vcpu_state *s, const struct msr_guest *g);

/* The first field (by the VCPU section's field names) where a and b differ, or NULL. */
const char *vcpu_state_first_difference(const struct vcpu_state *a, const struct vcpu_state *b);

#endif
