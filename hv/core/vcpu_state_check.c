#include "hv/core/vcpu_state_check.h"

#include <stddef.h>
#include <string.h>
#include "hv/core/vcpu_state_desc.h"
#include "hv/core/exit/xcr0_policy.h"
#include "hv/lib/x86_bits.h"

#define INTR_STI    (1u << 0)
#define INTR_MOV_SS (1u << 1)
#define INTR_NMI    (1u << 3)
#define PENDING_DBG_BITS (0xfull | (1ull << 12) | (1ull << 14))
#define PENDING_DBG_BS   (1ull << 14)

#define EVENT_EXT_INTR  0
#define EVENT_NMI       2
#define EVENT_HW_EXC    3
#define EVENT_SW_INTR   4
#define EVENT_PRIV_SW   5
#define EVENT_SW_EXC    6

/* #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP push an error code. */
#define ERROR_CODE_VECTORS ((1u << 8) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13) | \
                            (1u << 14) | (1u << 17) | (1u << 21))

#define XSAVE_MXCSR     24
#define XSAVE_HEADER    512
#define MXCSR_MASK_DEFAULT 0xffbfu

uint32_t vcpu_seg_attr_from_vmx(uint32_t ar)
{
    if (ar & VSEG_ATTR_UNUSABLE)
        return VSEG_ATTR_UNUSABLE | (ar & VSEG_ATTR_DPL);
    return ar & VSEG_ATTR_USABLE_BITS;
}

uint32_t vcpu_seg_attr_to_vmx(uint32_t attributes)
{
    return vcpu_seg_attr_from_vmx(attributes);
}

uint64_t vcpu_visible_cr(uint64_t real, uint64_t mask, uint64_t shadow)
{
    return (real & ~mask) | (shadow & mask);
}

static bool canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

static unsigned dpl(uint32_t attr) { return (attr >> 5) & 3; }
static unsigned type(uint32_t attr) { return attr & VSEG_ATTR_TYPE; }

/* Limit and granularity agree: a limit not ending in 0xfff needs byte granularity, one
 * above 1 MiB page granularity. */
static bool limit_fits(const struct vcpu_segment *g)
{
    bool pages = g->attributes & VSEG_ATTR_G;
    if ((g->limit & 0xfff) != 0xfff && pages)
        return false;
    return !(g->limit >> 20) || pages;
}

static const char *check_v86_segments(const struct vcpu_state *s)
{
    for (unsigned i = VSEG_ES; i <= VSEG_GS; i++) {
        const struct vcpu_segment *g = &s->seg[i];
        if (g->base != (uint64_t)g->selector << 4 || g->limit != 0xffff || g->attributes != 0xf3)
            return "virtual-8086 segment";
    }
    return NULL;
}

static const char *check_code_and_stack(const struct vcpu_state *s, bool pe, bool lma)
{
    const struct vcpu_segment *cs = &s->seg[VSEG_CS], *ss = &s->seg[VSEG_SS];
    uint32_t a = cs->attributes;
    unsigned t = type(a);
    if ((a & VSEG_ATTR_UNUSABLE) || !(a & VSEG_ATTR_S) || !(a & VSEG_ATTR_P) || !limit_fits(cs))
        return "CS attributes";
    if (t != 3 && t != 9 && t != 11 && t != 13 && t != 15)
        return "CS type";
    if ((t == 3 && dpl(a) != 0) || ((t == 9 || t == 11) && dpl(a) != dpl(ss->attributes)) ||
        ((t == 13 || t == 15) && dpl(a) > dpl(ss->attributes)))
        return "CS DPL";
    if (lma && (a & VSEG_ATTR_L) && (a & VSEG_ATTR_DB))
        return "CS with both L and D";
    if (cs->base >> 32)
        return "CS base";
    uint32_t b = ss->attributes;
    if ((!pe || t == 3) && dpl(b) != 0)
        return "SS DPL";
    if (!(b & VSEG_ATTR_UNUSABLE)) {
        if ((type(b) != 3 && type(b) != 7) || !(b & VSEG_ATTR_S) || !(b & VSEG_ATTR_P) ||
            !limit_fits(ss))
            return "SS attributes";
        if (ss->base >> 32)
            return "SS base";
    }
    return NULL;
}

static const char *check_data_segments(const struct vcpu_state *s)
{
    for (unsigned i = VSEG_ES; i <= VSEG_GS; i++) {
        if (i == VSEG_CS || i == VSEG_SS)
            continue;
        const struct vcpu_segment *g = &s->seg[i];
        uint32_t a = g->attributes;
        if (i == VSEG_FS || i == VSEG_GS) {
            if (!canonical(g->base))
                return "FS or GS base";
        } else if (!(a & VSEG_ATTR_UNUSABLE) && g->base >> 32) {
            return "DS or ES base";
        }
        if (a & VSEG_ATTR_UNUSABLE)
            continue;
        bool code = type(a) & 8;
        if (!(type(a) & 1) || (code && !(type(a) & 2)) || !(a & VSEG_ATTR_S) ||
            !(a & VSEG_ATTR_P) || !limit_fits(g))
            return "data segment attributes";
    }
    return NULL;
}

static const char *check_system_segments(const struct vcpu_state *s, bool lma)
{
    const struct vcpu_segment *tr = &s->seg[VSEG_TR], *ldtr = &s->seg[VSEG_LDTR];
    uint32_t a = tr->attributes;
    if ((a & VSEG_ATTR_UNUSABLE) || (a & VSEG_ATTR_S) || !(a & VSEG_ATTR_P) ||
        !(type(a) == 11 || (type(a) == 3 && !lma)) || (tr->selector & 4) || !limit_fits(tr) ||
        !canonical(tr->base))
        return "TR";
    a = ldtr->attributes;
    if (!canonical(ldtr->base))
        return "LDTR base";
    if (!(a & VSEG_ATTR_UNUSABLE) && (type(a) != 2 || (a & VSEG_ATTR_S) || !(a & VSEG_ATTR_P) ||
                                      (ldtr->selector & 4) || !limit_fits(ldtr)))
        return "LDTR";
    return NULL;
}

static const char *check_segments(const struct vcpu_state *s, bool pe, bool lma, bool v86)
{
    for (unsigned i = 0; i < VSEG_COUNT; i++) {
        uint32_t a = s->seg[i].attributes;
        if ((a & VSEG_ATTR_UNUSABLE) ? (a & ~(VSEG_ATTR_UNUSABLE | VSEG_ATTR_DPL))
                                     : (a & ~VSEG_ATTR_USABLE_BITS))
            return "segment attribute bits";
    }
    const char *bad = v86 ? check_v86_segments(s) : check_code_and_stack(s, pe, lma);
    if (!bad && !v86)
        bad = check_data_segments(s);
    return bad ? bad : check_system_segments(s, lma);
}

static bool valid_pat(uint64_t pat)
{
    for (unsigned i = 0; i < 8; i++) {
        uint64_t t = (pat >> (8 * i)) & 0xff;
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

static bool pae_paging(const struct vcpu_state *s)
{
    return (s->cr0 & CR0_PG) && (s->cr4 & CR4_PAE) && !(s->efer & EFER_LMA);
}

/* Present PDPTEs have bits 2:1 and 8:5 clear (the width check is the host's). */
static const char *check_pdptes(const struct vcpu_state *s)
{
    for (unsigned i = 0; i < 4; i++) {
        uint64_t e = s->pdpte[i];
        if (!pae_paging(s) ? e != 0 : ((e & 1) && (e & 0x1e6)))
            return "PDPTE";
    }
    return NULL;
}

static const char *check_control(const struct vcpu_state *s)
{
    bool pg = s->cr0 & CR0_PG, lma = s->efer & EFER_LMA;
    if (s->cr0 >> 32 || (pg && !(s->cr0 & CR0_PE)) || ((s->cr0 & CR0_NW) && !(s->cr0 & CR0_CD)))
        return "CR0";
    if (s->cr4 >> 32 || (lma && !(s->cr4 & CR4_PAE)) || (!lma && (s->cr4 & CR4_PCIDE)))
        return "CR4";
    if (s->efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE) ||
        lma != (pg && (s->efer & EFER_LME)))
        return "EFER";
    if (s->dr6 >> 32 || s->dr7 >> 32)
        return "DR6 or DR7";
    const char *bad = check_pdptes(s);
    if (bad)
        return bad;
    if (s->debugctl)
        return "DEBUGCTL (guests cannot set it)";
    if (!valid_pat(s->pat))
        return "PAT";
    if (s->sysenter_cs >> 32 || !canonical(s->sysenter_esp) || !canonical(s->sysenter_eip))
        return "SYSENTER MSRs";
    if (!canonical(s->kernel_gs_base) || !canonical(s->lstar) || !canonical(s->cstar) ||
        s->fmask >> 32 || s->tsc_aux >> 32)
        return "SYSCALL MSRs";
    if (!canonical(s->gdtr_base) || !canonical(s->idtr_base) || s->gdtr_limit >> 16 ||
        s->idtr_limit >> 16)
        return "GDTR or IDTR";
    return NULL;
}

static const char *check_flow(const struct vcpu_state *s)
{
    bool lma = s->efer & EFER_LMA, pe = s->cr0 & CR0_PE;
    if (!(s->rflags & RFLAGS_FIXED1) || (s->rflags & RFLAGS_RESERVED) ||
        ((s->rflags & RFLAGS_VM) && (lma || !pe)))
        return "RFLAGS";
    uint32_t in = s->interruptibility;
    if ((in & ~(INTR_STI | INTR_MOV_SS | INTR_NMI)) || ((in & INTR_STI) && (in & INTR_MOV_SS)) ||
        ((in & INTR_STI) && !(s->rflags & RFLAGS_IF)))
        return "interruptibility";
    if (s->pending_debug & ~PENDING_DBG_BITS)
        return "pending debug exceptions";
    if ((in & (INTR_STI | INTR_MOV_SS)) &&
        !(s->pending_debug & PENDING_DBG_BS) != !(s->rflags & RFLAGS_TF))
        return "pending single step";
    return NULL;
}

static bool soft_event(unsigned type)
{
    return type == EVENT_SW_INTR || type == EVENT_PRIV_SW || type == EVENT_SW_EXC;
}

static const char *check_event(const struct vcpu_state *s)
{
    const struct vcpu_event *e = &s->event;
    if (!e->valid)
        return e->vector || e->type || e->has_error || e->error || e->instr_len
                   ? "pending event fields without an event" : NULL;
    switch (e->type) {
    case EVENT_EXT_INTR:
        if (!(s->rflags & RFLAGS_IF) || (s->interruptibility & (INTR_STI | INTR_MOV_SS)))
            return "pending interrupt while interrupts are blocked";
        break;
    case EVENT_NMI:
        if (e->vector != 2 || (s->interruptibility & (INTR_STI | INTR_MOV_SS | INTR_NMI)))
            return "pending NMI";
        break;
    case EVENT_HW_EXC:
        if (e->vector >= 32 || e->vector == 2)
            return "pending exception vector";
        break;
    case EVENT_SW_INTR: case EVENT_PRIV_SW: case EVENT_SW_EXC:
        break;
    default:
        return "pending event type";
    }
    bool error = e->type == EVENT_HW_EXC && (s->cr0 & CR0_PE) &&
                 (ERROR_CODE_VECTORS & (1u << e->vector));
    if (e->has_error != error || (!e->has_error && e->error) || (e->error >> 16))
        return "pending event error code";
    if (soft_event(e->type) ? (e->instr_len < 1 || e->instr_len > 15) : e->instr_len != 0)
        return "pending event instruction length";
    return NULL;
}

static const char *check_activity(const struct vcpu_state *s)
{
    if (s->run_state > VCPU_RS_WAIT_SIPI)
        return "run state";
    if (s->halted_irqs_off && s->run_state != VCPU_RS_HALTED)
        return "halted with interrupts off while not halted";
    if (s->sipi_pending && s->run_state != VCPU_RS_RUNNING)
        return "SIPI pending while not running";
    if (s->xsave_size > VCPU_STATE_XSAVE_MAX || s->xsave_size < 512)
        return "XSAVE area size";
    if (!xcr0_value_valid(s->xcr0, ~0ull))
        return "XCR0";
    return NULL;
}

static const char *check_rip(const struct vcpu_state *s)
{
    bool cs_long = (s->efer & EFER_LMA) && (s->seg[VSEG_CS].attributes & VSEG_ATTR_L);
    return (cs_long ? !canonical(s->rip) : s->rip >> 32) ? "RIP" : NULL;
}

const char *vcpu_state_impossible(const struct vcpu_state *s)
{
    bool pe = s->cr0 & CR0_PE, lma = s->efer & EFER_LMA, v86 = s->rflags & RFLAGS_VM;
    const char *bad = check_activity(s);
    if (!bad)
        bad = check_control(s);
    if (!bad)
        bad = check_flow(s);
    if (!bad)
        bad = check_segments(s, pe, lma, v86);
    if (!bad)
        bad = check_rip(s);
    if (!bad)
        bad = check_event(s);
    return bad;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static const char *check_xsave_image(const struct vcpu_state *s, const struct vcpu_state_offer *o)
{
    uint32_t mxcsr;
    memcpy(&mxcsr, s->xsave + XSAVE_MXCSR, sizeof(mxcsr));
    if (mxcsr & ~(o->mxcsr_mask ? o->mxcsr_mask : MXCSR_MASK_DEFAULT))
        return "MXCSR bits";
    if (!o->xcr0_offered)
        return s->xsave_size != 512 ? "XSAVE area size (FXSAVE image expected)" : NULL;
    if (s->xsave_size < XSAVE_LEGACY_AND_HEADER)
        return "XSAVE area size (no XSAVE header)";
    uint64_t bv = get64(s->xsave + XSAVE_HEADER);
    if (bv & ~o->xcr0_offered)
        return "XSAVE components not offered";
    for (unsigned i = 8; i < 64; i++)
        if (s->xsave[XSAVE_HEADER + i])
            return "XSAVE header (compacted or reserved bytes)";
    if (xsave_area_size(bv, o->host) > s->xsave_size)
        return "XSAVE components beyond the area";
    return NULL;
}

const char *vcpu_state_not_offered(const struct vcpu_state *s, const struct vcpu_state_offer *o)
{
    if (s->cr4 & ~o->cr4_allowed)
        return "CR4 bits";
    if (o->phys_addr_bits < 64 && (s->cr3 >> o->phys_addr_bits))
        return "CR3 beyond the physical address width";
    for (unsigned i = 0; i < 4; i++)
        if (o->phys_addr_bits < 64 && (s->pdpte[i] & 1) && (s->pdpte[i] >> o->phys_addr_bits))
            return "PDPTE beyond the physical address width";
    if (o->xcr0_offered ? !xcr0_value_valid(s->xcr0, o->xcr0_offered) : s->xcr0 != XCR0_X87)
        return "XCR0 components";
    if (s->xsave_size > o->xsave_size)
        return "XSAVE area larger than this host's";
    return check_xsave_image(s, o);
}

#define MSR_TSC_ADJUST      0x3b
#define MSR_SPEC_CTRL       0x48
#define MSR_MISC_ENABLE     0x1a0
#define MSR_MTRR_DEF_TYPE   0x2ff

static const uint32_t fixed_mtrrs[11] = {
    0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
};

/* Any read makes the policy set its reset values first. */
static void policy_reset(const struct msr_guest *g)
{
    uint64_t ignored;
    (void)msr_guest_read(g, MSR_MISC_ENABLE, &ignored);
}

void vcpu_state_msrs_capture(struct vcpu_state *s, const struct msr_guest *g)
{
    policy_reset(g);
    const struct vcpu_msrs *m = g->regs;
    s->misc_enable = m->misc_enable;
    s->spec_ctrl = m->spec_ctrl;
    s->mtrr_def_type = m->mtrr_def_type;
    memcpy(s->mtrr_fixed, m->mtrr_fixed, sizeof(s->mtrr_fixed));
    s->tsc_adjust = m->tsc_adjust;
    s->tsc_offset = m->tsc_offset;
}

/* Values at reset need no write (a CPUID view without MTRRs still keeps their reset
 * values); any other must be one the guest could have written. */
static bool apply(const struct msr_guest *g, uint32_t msr, uint64_t have, uint64_t want)
{
    return have == want || msr_guest_write(g, msr, want);
}

const char *vcpu_state_msrs_apply(const struct vcpu_state *s, const struct msr_guest *g)
{
    struct vcpu_msrs *m = g->regs;
    policy_reset(g);
    for (unsigned i = 0; i < 11; i++)
        if (!apply(g, fixed_mtrrs[i], m->mtrr_fixed[i], s->mtrr_fixed[i]))
            return "a fixed-range MTRR";
    if (!apply(g, MSR_MTRR_DEF_TYPE, m->mtrr_def_type, s->mtrr_def_type))
        return "IA32_MTRR_DEF_TYPE";
    if (!apply(g, MSR_SPEC_CTRL, m->spec_ctrl, s->spec_ctrl))
        return "IA32_SPEC_CTRL";
    if (!apply(g, MSR_MISC_ENABLE, m->misc_enable, s->misc_enable) ||
        m->misc_enable != s->misc_enable)
        return "IA32_MISC_ENABLE";
    if (!apply(g, MSR_TSC_ADJUST, m->tsc_adjust, s->tsc_adjust))
        return "IA32_TSC_ADJUST";
    m->tsc_offset = s->tsc_offset;      /* the TSC_ADJUST write moved it; the state says where */
    return NULL;
}

const char *vcpu_state_first_difference(const struct vcpu_state *a, const struct vcpu_state *b)
{
    const struct state_desc *d = &vcpu_state_desc;
    for (size_t i = 0; i < d->field_count; i++) {
        const struct state_field *f = &d->fields[i];
        if (memcmp((const uint8_t *)a + f->offset, (const uint8_t *)b + f->offset, f->size))
            return f->name;
    }
    return NULL;
}
