/* A vCPU state every check accepts: a 64-bit guest at CPL 0 with AVX state, halted with
 * a page fault pending (tests of hv/core/vcpu_state*.c). */
#ifndef ATOLL_TESTS_UNIT_VCPU_STATE_SAMPLE_H
#define ATOLL_TESTS_UNIT_VCPU_STATE_SAMPLE_H
#include <string.h>
#include "hv/core/vcpu_state.h"

static inline void vcpu_state_sample(struct vcpu_state *s)
{
    memset(s, 0, sizeof(*s));
    for (unsigned i = 0; i < 16; i++)
        s->gpr[i] = 0x1111111111111111ull * i;
    s->rip = 0xffffffff81000000ull;
    s->rflags = 0x246;
    for (unsigned i = VSEG_ES; i <= VSEG_GS; i++)
        s->seg[i] = (struct vcpu_segment){ 0x10, 0xffffffff, 0xc093, 0 };
    s->seg[VSEG_CS] = (struct vcpu_segment){ 0x08, 0xffffffff, 0xa09b, 0 };
    s->seg[VSEG_FS].base = 0x7f0000001000ull;
    s->seg[VSEG_GS] = (struct vcpu_segment){ 0, 0, VSEG_ATTR_UNUSABLE, 0xffff888000000000ull };
    s->seg[VSEG_LDTR] = (struct vcpu_segment){ 0, 0, VSEG_ATTR_UNUSABLE, 0 };
    s->seg[VSEG_TR] = (struct vcpu_segment){ 0x40, 0x67, 0x8b, 0xfffffe0000003000ull };
    s->gdtr_base = 0xfffffe0000001000ull;
    s->gdtr_limit = 0x7f;
    s->idtr_base = 0xfffffe0000000000ull;
    s->idtr_limit = 0xfff;
    s->cr0 = 0x80050033;
    s->cr3 = 0x1234000;
    s->cr4 = 0x3406e0;
    s->cr2 = 0xdeadbeef000;
    s->dr[3] = 0x4000;
    s->dr6 = 0xffff0ff0;
    s->dr7 = 0x400;
    s->efer = 0xd01;
    s->pat = 0x0007040600070406ull;
    s->sysenter_esp = 0xfffffe0000005000ull;
    s->star = 0x0023001000000000ull;
    s->lstar = 0xffffffff81a00000ull;
    s->fmask = 0x47700;
    s->kernel_gs_base = 0xffff888000001000ull;
    s->tsc_aux = 1;
    s->tsc_offset = (uint64_t)-123456789;
    s->xcr0 = 0x7;
    s->xsave_size = 832;
    s->xsave[24] = 0x80;                        /* MXCSR 0x1f80 */
    s->xsave[25] = 0x1f;
    s->xsave[512] = 0x7;                        /* XSTATE_BV: x87, SSE, AVX */
    for (unsigned i = 576; i < s->xsave_size; i++)
        s->xsave[i] = (uint8_t)(i * 13);
    s->event = (struct vcpu_event){ true, 14, 3, true, 2, 0 };
    s->interruptibility = 1;
    s->run_state = VCPU_RS_HALTED;
    s->halted_irqs_off = true;
    s->sipi_vector = 0x9a;
    s->misc_enable = 1;
    s->mtrr_def_type = 0xc06;
    for (unsigned i = 0; i < 11; i++)
        s->mtrr_fixed[i] = 0x0606060606060606ull;
    s->mtrr_fixed[1] = 0x0505050505050505ull;
    s->tsc_adjust = 77;
}

#endif
