/*
 * A vCPU's extended state (x87, SSE, AVX, ... as XSAVE calls it) and its XCR0, for both
 * vendors' backends (hv/vmx, hv/svm): each keeps the fields, this does the work.
 *
 * While a vCPU is current on its CPU, its state lives in the registers and its XCR0 in the
 * CPU's.  When another vCPU takes the CPU, the state goes to the vCPU's XSAVE area, sized
 * from CPUID leaf 0xD for every component the hypervisor offers (exit/xcr0_policy.h).
 * Saving and restoring run with XCR0 = every offered component, not the guest's own XCR0:
 * a guest can change PKRU with CR4.PKE set while XCR0.PKRU is clear, and a vCPU must never
 * see another's registers, so every offered component is switched, each time.  A new vCPU
 * starts from an area in the initial configuration (XSTATE_BV = 0).
 *
 * XSETBV and XRSTOR act on values that came from guests; they run through the exception
 * table, so if the CPU refuses one after all, only that vCPU's partition ends.
 */
#ifndef ATOLL_HV_CORE_GUEST_XSTATE_H
#define ATOLL_HV_CORE_GUEST_XSTATE_H
#include <stdbool.h>
#include <stdint.h>

/* What this CPU offers guests, once per CPU at start. */
struct guest_xstate_cpu {
    uint64_t xcr0_offered;          /* XCR0 components guests may enable; 0: no XSAVE */
    uint32_t xsave_size;            /* bytes of an area holding all of them (or FXSAVE's) */
    uint32_t mxcsr_mask;            /* MXCSR bits FXRSTOR and XRSTOR accept */
};
/* Lets guests use the FPU/SSE/AVX state directly on this CPU (CR4.OSFXSR, OSXMMEXCPT, and
 * OSXSAVE where CPUID offers XSAVE; CR0.TS and EM clear); the hypervisor never touches it.
 * Once per CPU at start, before guest_xstate_probe. */
void guest_xstate_enable(void);
void guest_xstate_probe(struct guest_xstate_cpu *c);

/* A new vCPU's area of c->xsave_size bytes in the initial configuration (NULL: no memory);
 * freed with guest_xstate_free. */
uint8_t *guest_xstate_alloc(const struct guest_xstate_cpu *c);
void guest_xstate_free(uint8_t *area, uint32_t size);
/* The registers into area / area (and the guest's XCR0) into the registers; false when the
 * CPU refused the guest's state. */
bool guest_xstate_save(const struct guest_xstate_cpu *c, uint8_t *area);
bool guest_xstate_restore(const struct guest_xstate_cpu *c, const uint8_t *area,
                          uint64_t guest_xcr0);
/* XSETBV of a value the guest asked for; false when the CPU refused it. */
bool guest_xstate_set_xcr0(uint64_t value);

#endif
