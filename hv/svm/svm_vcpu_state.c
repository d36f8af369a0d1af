/*
 * virt_vcpu_save / virt_vcpu_restore on SVM: the vendor-neutral struct vcpu_state
 * (hv/core/vcpu_state.h) from and into a paused vCPU.
 *
 * Where each piece lives between two runs: the VMCB's state save area (RSP, RIP, RFLAGS,
 * segments, descriptor tables, CR0/CR2/CR3/CR4, DR6/DR7, EFER, PAT, DEBUGCTL, and what
 * VMSAVE keeps: STAR, LSTAR, CSTAR, SFMASK, KERNEL_GS_BASE, SYSENTER_*), its control area
 * (TSC offset, the interrupt shadow); struct vcpu (the other general registers, the
 * scheduler's state, the MSR policy's values); struct svm_vcpu (the event to inject next,
 * NMI blocking, DR0-DR3, TSC_AUX, XCR0 and the XSAVE area, in memory once
 * svm_vcpu_put_aside ran).
 * SVM has no pending debug exceptions nor PDPTE registers to carry: they stay zero.
 */
#include <string.h>
#include "hv/arch/x86/cpu.h"
#include "hv/core/partition.h"
#include "hv/core/vcpu_state.h"
#include "hv/core/vcpu_state_check.h"
#include "hv/core/vcpu_state_core.h"
#include "hv/core/vcpu_state_desc.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"
#include "hv/svm/svm.h"

#define EFER_SVME (1ull << 12)
#define INTERRUPTIBILITY_STI 1u
#define INTERRUPTIBILITY_NMI 8u
#define ATTRIB_P (1u << 7)
#define TSS_TYPE_BUSY 2u

#define xstate_of(x) ((struct vcpu_xstate_copy){ &(x)->xcr0, (x)->xsave_area, (x)->xsave_size })

/* The CR4 bits this CPU implements (what MOV to CR4 under SVM accepts). */
uint64_t svm_cr4_offered(void)
{
    uint64_t cr4 = 0x7ff;   /* VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT */
    struct cpuid_regs one = cpuid(1, 0), seven = cpuid(7, 0);
    if (seven.ecx & (1u << 2)) cr4 |= 1ull << 11;          /* UMIP */
    if (seven.ecx & (1u << 16)) cr4 |= 1ull << 12;         /* LA57 */
    if (seven.ebx & (1u << 0)) cr4 |= 1ull << 16;          /* FSGSBASE */
    if (one.ecx & (1u << 17)) cr4 |= 1ull << 17;           /* PCIDE */
    if (one.ecx & (1u << 26)) cr4 |= 1ull << 18;           /* OSXSAVE */
    if (seven.ebx & (1u << 7)) cr4 |= 1ull << 20;          /* SMEP */
    if (seven.ebx & (1u << 20)) cr4 |= 1ull << 21;         /* SMAP */
    if (seven.ecx & (1u << 3)) cr4 |= 1ull << 22;          /* PKE */
    return cr4;
}

/* SVM's segment attributes (access byte, then AVL L D/B G) in VMX's access-rights layout
 * (hv/core/vcpu_state.h), as VT-x would hold them: a segment other than CS and TR that is
 * not present is an unusable one, a loaded code or data segment is marked accessed and a
 * loaded TSS busy (the processor sets those bits in the descriptor as it loads it; SVM
 * may keep the register's copy without them). */
static uint32_t neutral_attributes(uint16_t a, unsigned seg)
{
    uint32_t ar = (a & 0xffu) | ((uint32_t)(a & 0xf00u) << 4);
    if (seg != VSEG_CS && seg != VSEG_TR && !(a & ATTRIB_P))
        ar |= VSEG_ATTR_UNUSABLE;
    else if (ar & VSEG_ATTR_S)
        ar |= 1;
    else if (seg == VSEG_TR && ((ar & VSEG_ATTR_TYPE) == 9 || (ar & VSEG_ATTR_TYPE) == 1))
        ar |= 2;
    return vcpu_seg_attr_from_vmx(ar);
}

static uint16_t svm_attributes(uint32_t attributes)
{
    uint32_t ar = vcpu_seg_attr_to_vmx(attributes);
    if (ar & VSEG_ATTR_UNUSABLE)
        ar &= VSEG_ATTR_DPL;
    return (uint16_t)((ar & 0xffu) | ((ar >> 4) & 0xf00u));
}

static struct vmcb_seg *segment(struct vmcb_save *s, unsigned i)
{
    struct vmcb_seg *order[VSEG_COUNT] = { &s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs,
                                           &s->ldtr, &s->tr };
    return order[i];
}

/* ---- save ----------------------------------------------------------------------------- */

static void read_event(const struct svm_vcpu *x, struct vcpu_event *e)
{
    uint64_t inj = x->event_inj;
    if (!(inj & EVENT_VALID))
        return;
    uint8_t type = (uint8_t)((inj & EVENT_TYPE_MASK) >> 8);
    e->valid = true;
    e->vector = (uint8_t)inj;
    e->type = type;
    e->has_error = inj & EVENT_ERROR_VALID;
    e->error = e->has_error ? (uint32_t)(inj >> 32) & 0xffff : 0;
    e->instr_len = 0;
}

bool svm_vcpu_save(struct vcpu *v, struct vcpu_state *s)
{
    memset(s, 0, sizeof(*s));
    struct svm_vcpu *x = v->arch;
    if (!x || v->state == VCPU_STOPPED || !svm_vcpu_put_aside(v))
        return false;
    struct vmcb_save *b = &x->vmcb->save;
    memcpy(s->gpr, v->gpr, sizeof(s->gpr));
    s->gpr[RSP] = b->rsp;
    s->rip = b->rip;
    s->rflags = b->rflags;
    for (unsigned i = 0; i < VSEG_COUNT; i++) {
        const struct vmcb_seg *g = segment(b, i);
        s->seg[i] = (struct vcpu_segment){ g->sel, g->limit,
                                           neutral_attributes(g->attrib, i),
                                           g->base };
    }
    s->gdtr_base = b->gdtr.base;
    s->gdtr_limit = b->gdtr.limit;
    s->idtr_base = b->idtr.base;
    s->idtr_limit = b->idtr.limit;
    s->cr0 = b->cr0;
    s->cr2 = b->cr2;
    s->cr3 = b->cr3;
    s->cr4 = b->cr4;
    memcpy(s->dr, x->dr, sizeof(s->dr));
    s->dr6 = b->dr6;
    s->dr7 = b->dr7;
    s->efer = b->efer & ~EFER_SVME;
    s->pat = b->g_pat;
    s->debugctl = b->dbgctl;
    s->sysenter_cs = b->sysenter_cs;
    s->sysenter_esp = b->sysenter_esp;
    s->sysenter_eip = b->sysenter_eip;
    s->star = b->star;
    s->lstar = b->lstar;
    s->cstar = b->cstar;
    s->fmask = b->sfmask;
    s->kernel_gs_base = b->kernel_gs_base;
    s->tsc_aux = x->tsc_aux;
    s->tsc_offset = x->tsc_offset;
    read_event(x, &s->event);
    s->interruptibility = ((x->vmcb->ctl.int_shadow & 1) ? INTERRUPTIBILITY_STI : 0) |
                          (x->nmi_blocked ? INTERRUPTIBILITY_NMI : 0);
    return vcpu_state_save_core(v, s, &xstate_of(x));
}

/* ---- restore -------------------------------------------------------------------------- */

static uint64_t event_of(const struct vcpu_event *e)
{
    if (!e->valid)
        return 0;
    /* Software exceptions (types 5, 6) are hardware-class on SVM; a software interrupt
     * keeps its type. */
    uint64_t type = e->type == 4 ? EVENT_TYPE_SOFT_INT : e->type >= 5 ? EVENT_TYPE_EXCEPTION
                                                                      : (uint64_t)e->type << 8;
    return EVENT_VALID | type | e->vector |
           (e->has_error ? EVENT_ERROR_VALID | ((uint64_t)e->error << 32) : 0);
}

bool svm_vcpu_restore(struct vcpu *v, const struct vcpu_state *s, char *err, unsigned err_size)
{
    struct svm_vcpu *x = v->arch;
    const struct svm_cpu *c = svm_this_cpu();
    const char *bad = vcpu_state_refusal(s, svm_cr4_offered(), &c->xs, &xstate_of(x));
    if (bad) {
        fmt_snprintf(err, err_size, "vcpu%u: state refused: %s", v->index, bad);
        return false;
    }
    struct vcpu_msrs msrs;
    const char *msr = vcpu_state_msrs_restore(v, s, &msrs);
    if (msr) {
        fmt_snprintf(err, err_size, "vcpu%u: state refused: %s not allowed by the partition's "
                     "CPUID", v->index, msr);
        return false;
    }
    if (!svm_vcpu_put_aside(v)) {
        fmt_snprintf(err, err_size, "vcpu%u: the CPU that last ran it did not answer", v->index);
        return false;
    }
    struct vmcb_save *b = &x->vmcb->save;
    memcpy(v->gpr, s->gpr, sizeof(v->gpr));
    b->rsp = s->gpr[RSP];
    b->rip = s->rip;
    b->rflags = s->rflags;
    for (unsigned i = 0; i < VSEG_COUNT; i++) {
        struct vmcb_seg *g = segment(b, i);
        *g = (struct vmcb_seg){ s->seg[i].selector, svm_attributes(s->seg[i].attributes),
                                s->seg[i].limit, s->seg[i].base };
    }
    /* TR goes back as an available TSS (save marks it busy again): so LTR leaves it in
     * QEMU's TCG, whose I/O permission check takes no other type (a ring-3 OUT after
     * ioperm() got #GP there after a restore); a CPU takes either. */
    b->tr.attrib &= (uint16_t)~TSS_TYPE_BUSY;
    b->cpl = (uint8_t)((s->seg[VSEG_SS].attributes & VSEG_ATTR_DPL) >> 5);
    b->gdtr = (struct vmcb_seg){ 0, 0, s->gdtr_limit, s->gdtr_base };
    b->idtr = (struct vmcb_seg){ 0, 0, s->idtr_limit, s->idtr_base };
    b->cr0 = s->cr0;
    b->cr2 = s->cr2;
    b->cr3 = s->cr3;
    b->cr4 = s->cr4;
    memcpy(x->dr, s->dr, sizeof(x->dr));
    b->dr6 = s->dr6;
    b->dr7 = s->dr7;
    b->efer = s->efer | EFER_SVME;
    b->g_pat = s->pat;
    b->dbgctl = s->debugctl;
    b->sysenter_cs = s->sysenter_cs;
    b->sysenter_esp = s->sysenter_esp;
    b->sysenter_eip = s->sysenter_eip;
    b->star = s->star;
    b->lstar = s->lstar;
    b->cstar = s->cstar;
    b->sfmask = s->fmask;
    b->kernel_gs_base = s->kernel_gs_base;
    x->tsc_aux = s->tsc_aux;
    v->msrs = msrs;
    x->tsc_offset = s->tsc_offset;
    x->vmcb->ctl.tsc_offset = s->tsc_offset;
    x->event_inj = event_of(&s->event);
    x->vmcb->ctl.event_inj = 0;
    x->vmcb->ctl.int_shadow = (s->interruptibility & 3) ? 1 : 0;
    x->nmi_blocked = s->interruptibility & INTERRUPTIBILITY_NMI;
    x->iret_seen = false;
    x->vmcb->ctl.tlb_control = TLB_CONTROL_FLUSH_ALL;
    vcpu_state_restore_core(v, s, &xstate_of(x));
    return true;
}

/* ---- virt_vcpu_scrub, for the debug round trip (hv/core/vcpu_state_roundtrip.c) ----------- */

#define POISON 0xdeadbeefdeadbeefull

/* Everything restore must write, overwritten with values that fail loudly if it does not. */
bool svm_vcpu_scrub(struct vcpu *v)
{
    struct svm_vcpu *x = svm_of(v);
    struct vmcb_save *b = &x->vmcb->save;
    for (unsigned i = 0; i < VSEG_COUNT; i++)
        *segment(b, i) = (struct vmcb_seg){ 0xdead, 0xfff, 0xdead, POISON };
    b->gdtr = b->idtr = (struct vmcb_seg){ 0, 0, 0xdead, POISON };
    b->cr0 = b->cr2 = b->cr3 = b->cr4 = b->dr6 = b->dr7 = b->efer = b->g_pat = POISON;
    b->rsp = b->rip = b->rflags = b->dbgctl = POISON;
    b->sysenter_cs = b->sysenter_esp = b->sysenter_eip = POISON;
    b->star = b->lstar = b->cstar = b->sfmask = b->kernel_gs_base = POISON;
    memset(v->gpr, 0xa5, sizeof(v->gpr));
    memset(&v->msrs, 0xa5, sizeof(v->msrs));
    for (unsigned i = 0; i < 4; i++)
        x->dr[i] = POISON;
    x->xcr0 = x->tsc_offset = x->tsc_aux = POISON;
    memset(x->xsave_area, 0xa5, x->xsave_size);
    x->event_inj = EVENT_VALID | (7ull << 8) | 0xff;
    x->vmcb->ctl.int_shadow = 1;
    x->nmi_blocked = true;
    v->halted_irqs_off = true;
    v->sipi_vector = 0xa5;
    return true;
}
