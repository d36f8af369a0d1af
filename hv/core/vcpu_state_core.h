/*
 * What a backend's save and restore (virt_vcpu_save / virt_vcpu_restore) share: the part
 * of a struct vcpu_state kept in the core's struct vcpu (the scheduler's state, a SIPI to
 * take, the MSR policy's values in the partition's CPUID view), the extended state each
 * backend switches the same way, and what this CPU offers a state to restore.
 */
#ifndef ATOLL_HV_CORE_VCPU_STATE_CORE_H
#define ATOLL_HV_CORE_VCPU_STATE_CORE_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/core/guest_xstate.h"
#include "hv/core/partition.h"
#include "hv/core/vcpu_state.h"

/* A backend's copy of the guest's extended state while the vCPU is off the CPU. */
struct vcpu_xstate_copy {
    uint64_t *xcr0;
    uint8_t *area;
    uint32_t size;
};

/* Into s: the MSRs, the extended state, the run state and SIPI; false when v is in no
 * state a stream can carry or its area is larger than the stream's. */
bool vcpu_state_save_core(struct vcpu *v, struct vcpu_state *s, const struct vcpu_xstate_copy *x);

/* NULL, or why this CPU cannot take s: impossible in itself, or beyond what it offers
 * (CR4 bits a guest's MOV may set, the extended state it switches in x->size bytes). */
const char *vcpu_state_refusal(const struct vcpu_state *s, uint64_t cr4_allowed,
                               const struct guest_xstate_cpu *xs,
                               const struct vcpu_xstate_copy *x);

/* s's MSRs into msrs (zeroed here) as the guest's WRMSR in v's partition would take them;
 * NULL, or the MSR its CPUID view refuses.  The view reads the guest's CR4 (OSXSAVE,
 * OSPKE): on VT-x, v's VMCS must be current. */
const char *vcpu_state_msrs_restore(struct vcpu *v, const struct vcpu_state *s,
                                    struct vcpu_msrs *msrs);

/* From s: the extended state, halted-with-interrupts-off, SIPI and the scheduler's state
 * (unchanged: not written, so a wake-up from another CPU meanwhile is not undone). */
void vcpu_state_restore_core(struct vcpu *v, const struct vcpu_state *s,
                             const struct vcpu_xstate_copy *x);

#endif
