/*
 * virt_vcpu_save / virt_vcpu_restore on VT-x: the vendor-neutral struct vcpu_state
 * (hv/core/vcpu_state.h) from and into a vCPU that is on no CPU.
 *
 * Where each piece lives between two runs of a vCPU:
 *   - the VMCS: RSP, RIP, RFLAGS, segments, GDTR/IDTR, CR0/CR4 (register, guest/host mask
 *     and read shadow: the guest sees the shadow's bits where the mask is set), CR3, DR7,
 *     EFER, PAT, DEBUGCTL, SYSENTER_*, PDPTEs, interruptibility, pending debug exceptions;
 *   - struct vcpu: the other general registers, the scheduler's state (running, halted,
 *     wait-for-SIPI), a SIPI to take, the MSR policy's values and the TSC offset;
 *   - struct vmx_vcpu: the event to inject next (an exception the hypervisor raised, or
 *     the IDT-vectoring event a VM exit interrupted, re-queued right after the exit), and
 *     what VT-x does not switch: CR2, DR0-DR3, DR6, STAR, LSTAR, CSTAR, FMASK,
 *     KERNEL_GS_BASE, TSC_AUX, XCR0 and the XSAVE area.  These are in memory only once
 *     the CPU that last ran the vCPU has put it aside (vmx_vcpu_acquire sees to that).
 * The VMX-preemption timer, interrupt- and NMI-window exiting and the host state are
 * recomputed before every entry; the LAPIC (TSC deadline, pending NMIs and interrupts)
 * is a device's state.
 */
#include <string.h>
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/cpu.h"
#include "hv/core/partition.h"
#include "hv/core/vcpu_state_check.h"
#include "hv/core/vcpu_state_core.h"
#include "hv/core/vcpu_state_desc.h"
#include "hv/core/virt.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"
#include "hv/vmx/vmcs.h"
#include "hv/vmx/vmx.h"

#define CR4_VMXE (1ull << 13)
#define CR0_PG   (1ull << 31)
#define CR4_PAE  (1ull << 5)
#define EFER_LMA (1ull << 10)
#define INTR_INFO_TYPE_SHIFT 8
#define INTERRUPTIBILITY_KEPT (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS | INTERRUPTIBILITY_NMI)

#define xstate_of(x) ((struct vcpu_xstate_copy){ &(x)->xcr0, (x)->xsave_area, (x)->xsave_size })

static bool soft_event(uint32_t type)
{
    return type == 4 || type == 5 || type == 6;
}

/* ---- save --------------------------------------------------------------------------- */

static void read_segments(struct vcpu_state *s)
{
    /* ES CS SS DS FS GS LDTR TR are consecutive in each field group, as VSEG_* are. */
    for (unsigned i = 0; i < VSEG_COUNT; i++) {
        s->seg[i].selector = vmcs_read16((enum vmcs16)(VMCS16_GUEST_ES_SEL + 2 * i));
        s->seg[i].base = vmcs_readn((enum vmcsn)(VMCSN_GUEST_ES_BASE + 2 * i));
        s->seg[i].limit = vmcs_read32((enum vmcs32)(VMCS32_GUEST_ES_LIMIT + 2 * i));
        s->seg[i].attributes =
            vcpu_seg_attr_from_vmx(vmcs_read32((enum vmcs32)(VMCS32_GUEST_ES_AR + 2 * i)));
    }
    s->gdtr_base = vmcs_readn(VMCSN_GUEST_GDTR_BASE);
    s->gdtr_limit = vmcs_read32(VMCS32_GUEST_GDTR_LIMIT);
    s->idtr_base = vmcs_readn(VMCSN_GUEST_IDTR_BASE);
    s->idtr_limit = vmcs_read32(VMCS32_GUEST_IDTR_LIMIT);
}

static void read_event(const struct vmx_vcpu *x, struct vcpu_event *e)
{
    uint32_t info = x->entry_intr_info, error = x->entry_intr_error, len = x->entry_instr_len;
    if (!(info & INTR_INFO_VALID)) {        /* written for this entry, not yet entered */
        info = vmcs_read32(VMCS32_ENTRY_INTR_INFO);
        error = vmcs_read32(VMCS32_ENTRY_EXCEPTION_ERROR);
        len = vmcs_read32(VMCS32_ENTRY_INSTR_LEN);
    }
    if (!(info & INTR_INFO_VALID))
        return;
    uint32_t type = (info & INTR_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
    e->valid = true;
    e->vector = (uint8_t)info;
    e->type = (uint8_t)type;
    e->has_error = info & INTR_INFO_ERROR_CODE;
    e->error = e->has_error ? error : 0;
    e->instr_len = soft_event(type) ? len : 0;
}

static void read_vmcs(struct vcpu *v, struct vcpu_state *s)
{
    s->gpr[RSP] = vmcs_readn(VMCSN_GUEST_RSP);
    s->rip = vmcs_readn(VMCSN_GUEST_RIP);
    s->rflags = vmcs_readn(VMCSN_GUEST_RFLAGS);
    read_segments(s);
    s->cr0 = vcpu_visible_cr(vmcs_readn(VMCSN_GUEST_CR0), vmcs_readn(VMCSN_CR0_MASK),
                             vmcs_readn(VMCSN_CR0_SHADOW));
    s->cr4 = vcpu_visible_cr(vmcs_readn(VMCSN_GUEST_CR4), vmcs_readn(VMCSN_CR4_MASK),
                             vmcs_readn(VMCSN_CR4_SHADOW));
    s->cr3 = vmcs_readn(VMCSN_GUEST_CR3);
    s->dr7 = vmcs_readn(VMCSN_GUEST_DR7);
    s->efer = vmcs_read64(VMCS64_GUEST_EFER);
    s->pat = vmcs_read64(VMCS64_GUEST_PAT);
    s->debugctl = vmcs_read64(VMCS64_GUEST_DEBUGCTL);
    s->sysenter_cs = vmcs_read32(VMCS32_GUEST_SYSENTER_CS);
    s->sysenter_esp = vmcs_readn(VMCSN_GUEST_SYSENTER_ESP);
    s->sysenter_eip = vmcs_readn(VMCSN_GUEST_SYSENTER_EIP);
    if ((s->cr0 & CR0_PG) && (s->cr4 & CR4_PAE) && !(s->efer & EFER_LMA))
        for (unsigned i = 0; i < 4; i++)
            s->pdpte[i] = vmcs_read64((enum vmcs64)(VMCS64_GUEST_PDPTE0 + 2 * i));
    s->interruptibility = vmcs_read32(VMCS32_GUEST_INTERRUPTIBILITY) & INTERRUPTIBILITY_KEPT;
    s->pending_debug = vmcs_readn(VMCSN_GUEST_PENDING_DBG);
    read_event(vmx_of(v), &s->event);
}

static bool read_software(struct vcpu *v, struct vcpu_state *s)
{
    struct vmx_vcpu *x = vmx_of(v);
    for (unsigned i = 0; i < 16; i++)
        if (i != RSP)
            s->gpr[i] = v->gpr[i];
    s->cr2 = x->cr2;
    memcpy(s->dr, x->dr, sizeof(s->dr));
    s->dr6 = x->dr6;
    s->star = x->msr_star;
    s->lstar = x->msr_lstar;
    s->cstar = x->msr_cstar;
    s->fmask = x->msr_fmask;
    s->kernel_gs_base = x->msr_kernel_gs;
    s->tsc_aux = x->msr_tsc_aux;
    return vcpu_state_save_core(v, s, &xstate_of(x));
}

bool vtx_vcpu_save(struct vcpu *v, struct vcpu_state *s)
{
    memset(s, 0, sizeof(*s));
    if (!v->arch || v->state == VCPU_STOPPED)
        return false;
    struct vmx_acquired a;
    if (!vmx_vcpu_acquire(v, &a))
        return false;
    read_vmcs(v, s);
    bool ok = read_software(v, s);
    return vmx_vcpu_release(v, &a) && ok;
}

/* ---- restore ------------------------------------------------------------------------ */

static bool write_segments(const struct vcpu_state *s)
{
    bool ok = true;
    for (unsigned i = 0; i < VSEG_COUNT; i++) {
        ok &= vmcs_write16((enum vmcs16)(VMCS16_GUEST_ES_SEL + 2 * i), s->seg[i].selector);
        ok &= vmcs_writen((enum vmcsn)(VMCSN_GUEST_ES_BASE + 2 * i), s->seg[i].base);
        ok &= vmcs_write32((enum vmcs32)(VMCS32_GUEST_ES_LIMIT + 2 * i), s->seg[i].limit);
        ok &= vmcs_write32((enum vmcs32)(VMCS32_GUEST_ES_AR + 2 * i),
                           vcpu_seg_attr_to_vmx(s->seg[i].attributes));
    }
    ok &= vmcs_writen(VMCSN_GUEST_GDTR_BASE, s->gdtr_base);
    ok &= vmcs_write32(VMCS32_GUEST_GDTR_LIMIT, s->gdtr_limit);
    ok &= vmcs_writen(VMCSN_GUEST_IDTR_BASE, s->idtr_base);
    ok &= vmcs_write32(VMCS32_GUEST_IDTR_LIMIT, s->idtr_limit);
    return ok;
}

/* CR4, then CR0 as MOV to CR0 would set them: vmx_set_guest_cr0 makes EFER.LMA and the
 * IA-32e entry control follow CR0.PG and EFER.LME, as the checks required s to have. */
static bool write_control(struct vcpu *v, const struct vcpu_state *s)
{
    bool ok = vmcs_write64(VMCS64_GUEST_EFER, s->efer & ~EFER_LMA);
    ok &= vmcs_write32(VMCS32_ENTRY_CONTROLS,
                       vmcs_read32(VMCS32_ENTRY_CONTROLS) & ~ENTRY_GUEST_LONG_MODE);
    ok &= vmcs_writen(VMCSN_GUEST_CR0, 0);
    ok &= vmx_set_guest_cr4(v, s->cr4);
    ok &= vmx_set_guest_cr0(v, s->cr0);
    ok &= vmcs_read64(VMCS64_GUEST_EFER) == s->efer;
    ok &= vmcs_writen(VMCSN_GUEST_CR3, s->cr3);
    for (unsigned i = 0; i < 4; i++)
        ok &= vmcs_write64((enum vmcs64)(VMCS64_GUEST_PDPTE0 + 2 * i), s->pdpte[i]);
    ok &= vmcs_writen(VMCSN_GUEST_DR7, s->dr7);
    ok &= vmcs_write64(VMCS64_GUEST_PAT, s->pat);
    ok &= vmcs_write64(VMCS64_GUEST_DEBUGCTL, s->debugctl);
    ok &= vmcs_write32(VMCS32_GUEST_SYSENTER_CS, (uint32_t)s->sysenter_cs);
    ok &= vmcs_writen(VMCSN_GUEST_SYSENTER_ESP, s->sysenter_esp);
    ok &= vmcs_writen(VMCSN_GUEST_SYSENTER_EIP, s->sysenter_eip);
    return ok;
}

static bool write_vmcs(struct vcpu *v, const struct vcpu_state *s)
{
    bool ok = write_control(v, s) && write_segments(s);
    ok &= vmcs_writen(VMCSN_GUEST_RSP, s->gpr[RSP]);
    ok &= vmcs_writen(VMCSN_GUEST_RIP, s->rip);
    ok &= vmcs_writen(VMCSN_GUEST_RFLAGS, s->rflags);
    ok &= vmcs_write32(VMCS32_GUEST_INTERRUPTIBILITY, s->interruptibility);
    ok &= vmcs_writen(VMCSN_GUEST_PENDING_DBG, s->pending_debug);
    ok &= vmcs_write32(VMCS32_GUEST_ACTIVITY_STATE, 0);    /* HLT is the scheduler's */
    ok &= vmcs_write32(VMCS32_ENTRY_INTR_INFO, 0);
    ok &= vmcs_write64(VMCS64_TSC_OFFSET, s->tsc_offset);
    return ok;
}

static void write_software(struct vcpu *v, const struct vcpu_state *s,
                           const struct vcpu_msrs *msrs)
{
    struct vmx_vcpu *x = vmx_of(v);
    memcpy(v->gpr, s->gpr, sizeof(v->gpr));
    x->cr2 = s->cr2;
    memcpy(x->dr, s->dr, sizeof(x->dr));
    x->dr6 = s->dr6;
    x->msr_star = s->star;
    x->msr_lstar = s->lstar;
    x->msr_cstar = s->cstar;
    x->msr_fmask = s->fmask;
    x->msr_kernel_gs = s->kernel_gs_base;
    x->msr_tsc_aux = s->tsc_aux;
    v->msrs = *msrs;
    x->tsc_offset = s->tsc_offset;
    const struct vcpu_event *e = &s->event;
    x->entry_intr_info = e->valid ? INTR_INFO_VALID | (uint32_t)e->type << INTR_INFO_TYPE_SHIFT |
                                    e->vector | (e->has_error ? INTR_INFO_ERROR_CODE : 0) : 0;
    x->entry_intr_error = e->error;
    x->entry_instr_len = e->instr_len;
    vcpu_state_restore_core(v, s, &xstate_of(x));
}

bool vtx_vcpu_restore(struct vcpu *v, const struct vcpu_state *s, char *err, unsigned err_size)
{
    struct vcpu_msrs msrs;
    const struct vmx_cpu *c = vmx_this_cpu();
    const char *bad = vcpu_state_refusal(s, c->caps.cr4_fixed1 & ~CR4_VMXE, &c->xs,
                                         &xstate_of(vmx_of(v)));
    if (bad) {
        fmt_snprintf(err, err_size, "vcpu%u: state refused: %s", v->index, bad);
        return false;
    }
    struct vmx_acquired a;
    if (!vmx_vcpu_acquire(v, &a)) {
        fmt_snprintf(err, err_size, "vcpu%u: its VMCS could not be made current", v->index);
        return false;
    }
    const char *msr = vcpu_state_msrs_restore(v, s, &msrs);     /* v's VMCS is current */
    if (msr) {
        vmx_vcpu_release(v, &a);
        fmt_snprintf(err, err_size, "vcpu%u: state refused: %s not allowed by the partition's "
                     "CPUID", v->index, msr);
        return false;
    }
    bool ok = write_vmcs(v, s);
    write_software(v, s, &msrs);
    if (!vmx_vcpu_release(v, &a) || !ok) {
        fmt_snprintf(err, err_size, "vcpu%u: the VMCS refused the state", v->index);
        return false;
    }
    return true;
}

/* ---- virt_vcpu_scrub, for the debug round trip (hv/core/vcpu_state_roundtrip.c) ---------- */

#define POISON 0xdeadbeefdeadbeefull

/* Everything restore must write, overwritten with values that fail loudly if it does
 * not: a VM entry that fails, an XRSTOR that faults, a guest that sees garbage. */
bool vtx_vcpu_scrub(struct vcpu *v)
{
    struct vmx_vcpu *x = vmx_of(v);
    struct vmx_acquired a;
    if (!vmx_vcpu_acquire(v, &a))
        return false;
    for (unsigned i = 0; i < VSEG_COUNT; i++) {
        vmcs_write16((enum vmcs16)(VMCS16_GUEST_ES_SEL + 2 * i), 0xdead);
        vmcs_writen((enum vmcsn)(VMCSN_GUEST_ES_BASE + 2 * i), POISON);
        vmcs_write32((enum vmcs32)(VMCS32_GUEST_ES_LIMIT + 2 * i), 0xdead);
        vmcs_write32((enum vmcs32)(VMCS32_GUEST_ES_AR + 2 * i), 0xffff);
    }
    static const enum vmcsn natural[] = {
        VMCSN_GUEST_GDTR_BASE, VMCSN_GUEST_IDTR_BASE, VMCSN_GUEST_CR0, VMCSN_GUEST_CR3,
        VMCSN_GUEST_CR4, VMCSN_CR0_SHADOW, VMCSN_CR4_SHADOW, VMCSN_GUEST_DR7, VMCSN_GUEST_RSP,
        VMCSN_GUEST_RIP, VMCSN_GUEST_RFLAGS, VMCSN_GUEST_PENDING_DBG,
        VMCSN_GUEST_SYSENTER_ESP, VMCSN_GUEST_SYSENTER_EIP,
    };
    for (unsigned i = 0; i < sizeof(natural) / sizeof(natural[0]); i++)
        vmcs_writen(natural[i], POISON);
    static const enum vmcs64 wide[] = {
        VMCS64_GUEST_EFER, VMCS64_GUEST_PAT, VMCS64_GUEST_DEBUGCTL, VMCS64_TSC_OFFSET,
        VMCS64_GUEST_PDPTE0, VMCS64_GUEST_PDPTE1, VMCS64_GUEST_PDPTE2, VMCS64_GUEST_PDPTE3,
    };
    for (unsigned i = 0; i < sizeof(wide) / sizeof(wide[0]); i++)
        vmcs_write64(wide[i], POISON);
    vmcs_write32(VMCS32_GUEST_GDTR_LIMIT, 0xdead);
    vmcs_write32(VMCS32_GUEST_IDTR_LIMIT, 0xdead);
    vmcs_write32(VMCS32_GUEST_INTERRUPTIBILITY, 0x1f);
    vmcs_write32(VMCS32_GUEST_SYSENTER_CS, 0xdead);
    vmcs_write32(VMCS32_ENTRY_CONTROLS, vmcs_read32(VMCS32_ENTRY_CONTROLS) ^ ENTRY_GUEST_LONG_MODE);
    memset(v->gpr, 0xa5, sizeof(v->gpr));
    memset(&v->msrs, 0xa5, sizeof(v->msrs));
    x->cr2 = x->dr6 = x->msr_star = x->msr_lstar = x->msr_cstar = x->msr_fmask = POISON;
    x->msr_kernel_gs = x->msr_tsc_aux = x->xcr0 = x->tsc_offset = POISON;
    for (unsigned i = 0; i < 4; i++)
        x->dr[i] = POISON;
    memset(x->xsave_area, 0xa5, x->xsave_size);
    x->cr0_shadow = x->cr4_shadow = POISON;
    x->entry_intr_info = INTR_INFO_VALID | (7u << INTR_INFO_TYPE_SHIFT) | 0xff;
    x->entry_intr_error = x->entry_instr_len = 0xdead;
    v->halted_irqs_off = true;
    v->sipi_vector = 0xa5;
    return vmx_vcpu_release(v, &a);
}
