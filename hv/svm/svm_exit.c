/*
 * #VMEXIT dispatch: every exit that means something to the guest or its partition is
 * decoded into the core's struct exit_info, decided by exit_handle (hv/core/exit/exit.h)
 * and its effects applied here.  What stays here is SVM's own: host interrupts and NMIs,
 * the virtual-interrupt window, the IRET that ends NMI blocking, and the instruction
 * lengths the CPU does not report without NRIPS.  VMCALL, Intel's hypercall instruction,
 * raises #UD on AMD: the #UD intercept takes it as a hypercall too, so one guest binary
 * runs under both backends.
 */
#include <string.h>
#include "hv/core/exit/exit_apply.h"
#include "hv/core/partition.h"
#include "hv/core/snapshot_lazy.h"
#include "hv/svm/svm.h"
#include "hv/lib/x86_bits.h"

#define ATTRIB_L (1u << 9)
#define ATTRIB_D (1u << 10)

static struct vmcb *vmcb_of(struct vcpu *v) { return svm_of(v)->vmcb; }

static enum exit_action kill_unhandled(struct vcpu *v)
{
    struct vmcb *b = vmcb_of(v);
    partition_kill(v->part, "vcpu%u: unhandled #VMEXIT %#lx, exitinfo1 %#lx, exitinfo2 %#lx, rip %#lx",
                   v->index, b->ctl.exit_code, b->ctl.exit_info1, b->ctl.exit_info2, b->save.rip);
    return EXIT_STOP;
}

static struct guest_ctl guest_ctl_of(const struct vmcb *b)
{
    return (struct guest_ctl){ b->save.cr0, b->save.cr4, b->save.efer & ~EFER_SVME };
}

/* ---- emulation --------------------------------------------------------------------- */

static void load_emulation_state(struct vcpu *v, struct mmio_cpu *c, struct guest_paging *pg)
{
    const struct vmcb_save *s = &vmcb_of(v)->save;
    memcpy(c->gpr, v->gpr, sizeof(c->gpr));
    c->gpr[RSP] = s->rsp;
    c->rip = s->rip;
    c->rflags = s->rflags;
    c->seg_base[MMIO_SEG_ES] = s->es.base;
    c->seg_base[MMIO_SEG_CS] = s->cs.base;
    c->seg_base[MMIO_SEG_SS] = s->ss.base;
    c->seg_base[MMIO_SEG_DS] = s->ds.base;
    c->seg_base[MMIO_SEG_FS] = s->fs.base;
    c->seg_base[MMIO_SEG_GS] = s->gs.base;
    svm_get_paging(v, pg);
    c->mode = mmio_cpu_mode_of(pg->cr0 & 1, pg->efer & EFER_LMA, c->rflags & RFLAGS_VM,
                               s->cs.attrib & ATTRIB_L, s->cs.attrib & ATTRIB_D);
}

static void store_emulation_state(struct vcpu *v, const struct mmio_cpu *c)
{
    struct vmcb_save *s = &vmcb_of(v)->save;
    memcpy(v->gpr, c->gpr, sizeof(v->gpr));
    s->rsp = c->gpr[RSP];
    s->rflags = c->rflags;
}

/* ---- exits the core decides ------------------------------------------------------------ */

static uint64_t read_gpr(struct vcpu *v, unsigned reg)
{
    return reg == RSP ? vmcb_of(v)->save.rsp : v->gpr[reg];
}

static struct exit_info decoded(struct vcpu *v, enum exit_info_kind kind, unsigned len)
{
    struct vmcb *b = vmcb_of(v);
    return (struct exit_info){
        .kind = kind, .vcpu = v->index, .rip = b->save.rip, .instr_len = len,
        .raw = b->ctl.exit_info1, .real_mode = !(b->save.cr0 & 1),
        .event_queued = svm_of(v)->event_inj != 0,
    };
}

/* An exit of an instruction the core may complete, with its length; false when its bytes
 * were refused (the guest has its fault, or the partition ended: see refused). */
static bool decoded_instruction(struct vcpu *v, enum exit_info_kind kind, enum svm_insn want,
                                struct exit_info *e)
{
    unsigned len = svm_instruction_length(v, want);
    *e = decoded(v, kind, len);
    return len != 0;
}

/* After svm_refuse_instruction: the guest takes its fault, unless the partition ended. */
static enum exit_action refused(struct vcpu *v)
{
    return v->part->state == PART_DEAD ? EXIT_STOP : EXIT_RESUME;
}

/* CR0 and CR4 as the rules of hv/core/exit/exit_cr.h made them (EFER.LMA following CR0.PG
 * and EFER.LME); the guest's TLB goes, as MOV to CR0 or CR4 would flush it. */
static bool load_guest_ctl(struct vcpu *v, unsigned which, const struct guest_ctl *ctl)
{
    struct vmcb_save *s = &vmcb_of(v)->save;
    if (which & (GUEST_CTL_CR0 | GUEST_CTL_CR4))
        vmcb_of(v)->ctl.tlb_control = svm_this_cpu()->caps.flush_by_asid ? TLB_CONTROL_FLUSH_ASID
                                                                        : TLB_CONTROL_FLUSH_ALL;
    if (which & GUEST_CTL_CR0)
        s->cr0 = ctl->cr0;
    if (which & GUEST_CTL_CR4)
        s->cr4 = ctl->cr4;
    if (which & GUEST_CTL_EFER)
        s->efer = ctl->efer | EFER_SVME;
    return true;
}

static void write_rsp(struct vcpu *v, uint64_t value) { vmcb_of(v)->save.rsp = value; }

static bool set_xcr0(struct vcpu *v, uint64_t xcr0) { return svm_xstate_set_xcr0(svm_of(v), xcr0); }

static enum exit_action unhandled_decision(struct vcpu *v, const struct exit_info *e)
{
    return kill_unhandled(v);
}

static const struct exit_target target = {
    .emulation_load = load_emulation_state, .emulation_store = store_emulation_state,
    .write_rsp = write_rsp, .load_ctl = load_guest_ctl, .set_xcr0 = set_xcr0,
    .queue_exception = svm_queue_exception, .queue_fault = svm_queue_fault,
    .complete_instruction = svm_complete_instruction, .unhandled = unhandled_decision,
};

static enum exit_action on_cpuid(struct vcpu *v)
{
    struct exit_info e;
    if (!decoded_instruction(v, EXIT_IS_CPUID, SVM_INSN_CPUID, &e))
        return refused(v);
    e.cpuid.leaf = (uint32_t)v->gpr[RAX];
    e.cpuid.subleaf = (uint32_t)v->gpr[RCX];
    return exit_apply(&target, v, &e);
}

static enum exit_action on_hlt(struct vcpu *v)
{
    struct exit_info e;
    if (!decoded_instruction(v, EXIT_IS_HLT, SVM_INSN_HLT, &e))
        return refused(v);
    uint64_t rflags = vmcb_of(v)->save.rflags;
    e.hlt.irqs_enabled = rflags & RFLAGS_IF;
    e.hlt.single_step = rflags & RFLAGS_TF;
    return exit_apply(&target, v, &e);
}

static enum exit_action on_msr(struct vcpu *v)
{
    bool write = vmcb_of(v)->ctl.exit_info1 & 1;
    struct exit_info e;
    if (!decoded_instruction(v, write ? EXIT_IS_MSR_WRITE : EXIT_IS_MSR_READ,
                             write ? SVM_INSN_WRMSR : SVM_INSN_RDMSR, &e))
        return refused(v);
    e.msr.index = (uint32_t)v->gpr[RCX];
    e.msr.value = (v->gpr[RDX] << 32) | (uint32_t)v->gpr[RAX];
    e.msr.efer = vmcb_of(v)->save.efer & ~EFER_SVME;
    e.msr.cr0 = vmcb_of(v)->save.cr0;
    return exit_apply(&target, v, &e);
}

static enum exit_action on_xsetbv(struct vcpu *v)
{
    struct vmcb *b = vmcb_of(v);
    struct exit_info e;
    if (!decoded_instruction(v, EXIT_IS_XSETBV, SVM_INSN_XSETBV, &e))
        return refused(v);
    e.xsetbv.xcr = (uint32_t)v->gpr[RCX];
    e.xsetbv.value = (v->gpr[RDX] << 32) | (uint32_t)v->gpr[RAX];
    e.xsetbv.cpl = (b->save.rflags & RFLAGS_VM) ? 3 : b->save.cpl;
    e.xsetbv.osxsave = b->save.cr4 & CR4_OSXSAVE;
    e.xsetbv.offered = svm_this_cpu()->xs.xcr0_offered;
    return exit_apply(&target, v, &e);
}

/* EXITINFO1: IN, string, REP, size, address size, port (APM Vol. 2, 15.10.2); EXITINFO2
 * is the next RIP. */
static enum exit_action on_io(struct vcpu *v)
{
    struct vmcb *b = vmcb_of(v);
    uint64_t info = b->ctl.exit_info1;
    /* RIP wraps at the code segment's width (EIP at 4 GiB, IP at 64 KiB). */
    uint64_t len = b->ctl.exit_info2 - b->save.rip;
    if (!((b->save.efer & EFER_LMA) && (b->save.cs.attrib & ATTRIB_L)))
        len = (b->save.cs.attrib & ATTRIB_D) && !(b->save.rflags & RFLAGS_VM) ? (uint32_t)len
                                                                             : (uint16_t)len;
    if (!len || len > SVM_INSN_MAX) {
        partition_kill(v->part, "vcpu%u: IOIO exit with next rip %#lx at rip %#lx", v->index,
                       b->ctl.exit_info2, b->save.rip);
        return EXIT_STOP;
    }
    struct exit_info e = decoded(v, EXIT_IS_IO, (unsigned)len);
    e.io.in = info & 1;
    e.io.string = info & 4;
    e.io.rep = info & 8;
    e.io.size = (info & 0x10) ? 1 : (info & 0x20) ? 2 : (info & 0x40) ? 4 : 0;
    e.io.addr_size = (info & 0x80) ? 2 : (info & 0x100) ? 4 : (info & 0x200) ? 8 : 0;
    e.io.port = (uint16_t)(info >> 16);
    e.io.rax = v->gpr[RAX];
    e.io.rcx = v->gpr[RCX];
    return exit_apply(&target, v, &e);
}

#define NPF_PRESENT     (1ull << 0)
#define NPF_WRITE       (1ull << 1)
#define NPF_FETCH       (1ull << 4)
#define NPF_TABLE_WALK  (1ull << 33)

static bool lazy_page(struct vcpu *v, uint64_t gpa, enum exit_action *action)
{
    switch (snapshot_lazy_fault(v, gpa)) {
    case LAZY_NOT_MINE: return false;
    case LAZY_RETRY: *action = EXIT_RESUME; break;
    case LAZY_PARKED:
        svm_untake_requeued(v);
        *action = EXIT_HALT;
        break;
    case LAZY_LOST: *action = EXIT_STOP; break;
    }
    vcpu_count_exit(v, EXIT_EPT);
    return true;
}

static enum exit_action on_npf(struct vcpu *v)
{
    struct vmcb *b = vmcb_of(v);
    uint64_t info = b->ctl.exit_info1, gpa = b->ctl.exit_info2;
    enum exit_action lazy = EXIT_RESUME;
    if (!(info & NPF_PRESENT) && lazy_page(v, gpa, &lazy))
        return lazy;
    struct exit_info e = decoded(v, EXIT_IS_MMIO, 0);
    e.mmio.gpa = gpa;
    e.mmio.write = info & NPF_WRITE;
    e.mmio.fetch = info & NPF_FETCH;
    e.mmio.table = info & NPF_TABLE_WALK;
    return exit_apply(&target, v, &e);
}

static enum exit_action hypercall(struct vcpu *v, unsigned len)
{
    struct exit_info e = decoded(v, EXIT_IS_VMCALL, len);
    e.vmcall.nr = v->gpr[RAX];
    e.vmcall.arg[0] = v->gpr[RDI];
    e.vmcall.arg[1] = v->gpr[RSI];
    e.vmcall.arg[2] = v->gpr[RDX];
    e.vmcall.arg[3] = v->gpr[R10];
    e.vmcall.cpl = (vmcb_of(v)->save.rflags & RFLAGS_VM) ? 3 : vmcb_of(v)->save.cpl;
    return exit_apply(&target, v, &e);
}

#define VECTOR_UD_SVM 6
#define DR6_BD (1ull << 13)
#define DR7_GD (1ull << 13)

/* #UD: Intel's VMCALL (0f 01 c1) is the guest's hypercall as well; anything else is the
 * guest's own #UD, given back. */
static enum exit_action on_ud(struct vcpu *v)
{
    struct svm_fetch f;
    svm_fetch_instruction(v, &f);
    if (f.got >= 3 && f.bytes[0] == 0x0f && f.bytes[1] == 0x01 && f.bytes[2] == 0xc1)
        return hypercall(v, 3);
    vcpu_count_exit(v, EXIT_EXCEPTION);
    svm_queue_exception(v, VECTOR_UD_SVM, false, 0);
    return EXIT_RESUME;
}

static enum exit_action on_exception(struct vcpu *v, uint8_t vector)
{
    if (vector == VECTOR_UD_SVM)
        return on_ud(v);
    struct vmcb *b = vmcb_of(v);
    /* A #DB intercept comes with the VMCB's DR6 already as the delivery sets it; DR7.GD,
     * which the delivery clears, is cleared here, else the handler's own MOV DR faults. */
    if (vector == VECTOR_DB && (b->save.dr6 & DR6_BD))
        b->save.dr7 &= ~DR7_GD;
    struct exit_info e = decoded(v, EXIT_IS_EXCEPTION, 0);
    e.exception.vector = vector;
    e.exception.has_error = vector == VECTOR_AC;
    e.exception.error = (uint32_t)b->ctl.exit_info1;
    return exit_apply(&target, v, &e);
}

static uint64_t cr_source(struct vcpu *v, const struct svm_cr_insn *d)
{
    uint64_t value = read_gpr(v, d->gpr);
    return d->form == SVM_CR_LMSW ? value & 0xffff : d->wide ? value : (uint32_t)value;
}

/* LMSW's 16-bit source in memory, read as the guest reads it (its page tables and access
 * rights; segment limits are not checked); false: the guest has the fault the read raises,
 * or the partition ended. */
static bool lmsw_memory_source(struct vcpu *v, const struct svm_fetch *f, uint64_t *value,
                               unsigned *length)
{
    const struct vmcb_save *s = &vmcb_of(v)->save;
    struct svm_mem_operand m;
    if (!svm_lmsw_operand(f->mode, f->bytes, f->got, &m)) {
        svm_refuse_instruction(v, f, SVM_DECODE_OTHER);
        return false;
    }
    uint64_t gpr[16];
    memcpy(gpr, v->gpr, sizeof(gpr));
    gpr[RSP] = s->rsp;
    const uint64_t seg[6] = { s->es.base, s->cs.base, s->ss.base, s->ds.base, s->fs.base,
                              s->gs.base };
    uint64_t linear = svm_mem_linear(&m, f->mode, gpr, s->rip, seg);
    struct guest_paging pg;
    svm_get_paging(v, &pg);
    struct guest_access a = { .user = s->cpl == 3, .ac = s->rflags & RFLAGS_AC };
    uint8_t bytes[2];
    for (unsigned i = 0; i < 2; i++) {
        uint64_t at = f->mode == MMIO_MODE_LONG64 ? linear + i : (uint32_t)(linear + i), gpa;
        struct guest_fault fault;
        enum guest_walk_result r = guest_translate(&v->part->mem, &pg, at, &a, &gpa);
        if (guest_walk_fault(r, &pg, &a, &fault)) {
            vcpu_count_exit(v, EXIT_EXCEPTION);
            svm_queue_fault(v, fault.vector, fault.error, at);
            return false;
        }
        if (!guest_mem_read(&v->part->mem, gpa, &bytes[i], 1)) {
            partition_kill(v->part, "vcpu%u: LMSW at rip %#lx reads guest-physical %#lx outside "
                           "its RAM, which the hypervisor does not read", v->index, s->rip, gpa);
            return false;
        }
    }
    *value = bytes[0] | (uint64_t)bytes[1] << 8;
    *length = m.length;
    return true;
}

/* A control-register access without decode assists: decoded from one read of its bytes,
 * which must be the access the exit reports (CR number, read or write); bytes that are not
 * get the guest #UD (svm_refuse_instruction). */
static enum exit_action on_cr(struct vcpu *v, unsigned number, bool write)
{
    struct vmcb *vb = vmcb_of(v);
    struct svm_fetch f;
    struct svm_cr_insn d;
    svm_fetch_instruction(v, &f);
    enum svm_decoded r = svm_cr_decode(f.mode, f.bytes, f.got, &d);
    uint64_t nrip_len = svm_this_cpu()->caps.nrips && vb->ctl.next_rip
                            ? vb->ctl.next_rip - vb->save.rip : 0;
    if (r == SVM_DECODED && (!svm_cr_agrees(&d, number, write) ||
                             (nrip_len && !d.memory && nrip_len != d.length)))
        r = SVM_DECODE_OTHER;
    if (r != SVM_DECODED) {
        svm_refuse_instruction(v, &f, r);
        return refused(v);
    }
    if (d.form == SVM_CR_SMSW) {    /* CR0 reads are not intercepted */
        partition_kill(v->part, "vcpu%u: SMSW at rip %#lx is not emulated", v->index,
                       vb->save.rip);
        return EXIT_STOP;
    }
    uint64_t source = 0;
    if (d.memory) {
        if (!lmsw_memory_source(v, &f, &source, &d.length))
            return refused(v);
    } else if (d.form == SVM_CR_LMSW || d.form == SVM_CR_MOV_TO) {
        source = cr_source(v, &d);
    }
    struct exit_info e = decoded(v, EXIT_IS_CR, d.length);
    e.cr.number = number;
    e.cr.now = guest_ctl_of(vb);
    e.cr.cr4_offered = svm_cr4_offered();
    e.cr.cs_long = (vb->save.efer & EFER_LMA) && (vb->save.cs.attrib & ATTRIB_L);
    e.cr.cr3 = vb->save.cr3;
    e.cr.gpr = d.gpr;
    switch (d.form) {
    case SVM_CR_CLTS: e.cr.access = CR_CLTS; break;
    case SVM_CR_LMSW: e.cr.access = CR_LMSW; break;
    case SVM_CR_MOV_FROM: e.cr.access = CR_MOV_FROM; break;
    default: e.cr.access = CR_MOV_TO; break;
    }
    e.cr.value = source;
    return exit_apply(&target, v, &e);
}

/* Only those the core completes (INVD, WBINVD) need their length: the others raise #UD or
 * #GP on the instruction. */
static enum exit_action instruction(struct vcpu *v, enum exit_instruction which)
{
    struct exit_info e = decoded(v, EXIT_IS_INSTRUCTION, 0);
    if ((which == INSTR_INVD || which == INSTR_WBINVD) &&
        !decoded_instruction(v, EXIT_IS_INSTRUCTION,
                             which == INSTR_INVD ? SVM_INSN_INVD : SVM_INSN_WBINVD, &e))
        return refused(v);
    e.instruction.which = which;
    return exit_apply(&target, v, &e);
}

static enum exit_action lifecycle(struct vcpu *v, enum exit_info_kind kind)
{
    struct exit_info e = decoded(v, kind, 0);
    return exit_apply(&target, v, &e);
}

enum exit_action svm_handle_exit(struct vcpu *v)
{
    struct svm_vcpu *x = svm_of(v);
    uint64_t code = x->vmcb->ctl.exit_code;
    if ((uint32_t)code == (uint32_t)SVM_EXIT_INVALID)
        code = SVM_EXIT_INVALID;
    if (code >= SVM_EXIT_EXCEPTION && code < SVM_EXIT_EXCEPTION + 32)
        return on_exception(v, (uint8_t)(code - SVM_EXIT_EXCEPTION));
    switch (code) {
    case SVM_EXIT_INTR:
        vcpu_count_exit(v, EXIT_EXTINT);
        return v->kick ? EXIT_TO_SCHEDULER : EXIT_RESUME;
    case SVM_EXIT_NMI:                  /* the host's: taken when GIF was set again */
        vcpu_count_exit(v, EXIT_EXCEPTION);
        return EXIT_RESUME;
    case SVM_EXIT_VINTR:
        vcpu_count_exit(v, EXIT_INTR_WINDOW);
        return EXIT_RESUME;
    case SVM_EXIT_IRET:                 /* the guest leaves its NMI handler */
        x->iret_seen = true;
        x->iret_rip = x->vmcb->save.rip;
        vcpu_count_exit(v, EXIT_INTR_WINDOW);
        return EXIT_RESUME;
    case SVM_EXIT_CR_READ + 8: return on_cr(v, 8, false);
    case SVM_EXIT_CR_WRITE + 0: return on_cr(v, 0, true);
    case SVM_EXIT_CR_WRITE + 4: return on_cr(v, 4, true);
    case SVM_EXIT_CR_WRITE + 8: return on_cr(v, 8, true);
    case SVM_EXIT_CPUID: return on_cpuid(v);
    case SVM_EXIT_HLT: return on_hlt(v);
    case SVM_EXIT_MSR: return on_msr(v);
    case SVM_EXIT_IOIO: return on_io(v);
    case SVM_EXIT_XSETBV: return on_xsetbv(v);
    case SVM_EXIT_NPF: return on_npf(v);
    case SVM_EXIT_VMMCALL: {
        unsigned len = svm_instruction_length(v, SVM_INSN_VMMCALL);
        return len ? hypercall(v, len) : refused(v);
    }
    case SVM_EXIT_SHUTDOWN: return lifecycle(v, EXIT_IS_SHUTDOWN);
    case SVM_EXIT_INIT: return lifecycle(v, EXIT_IS_INIT);
    case SVM_EXIT_INVD: return instruction(v, INSTR_INVD);
    case SVM_EXIT_WBINVD: return instruction(v, INSTR_WBINVD);
    case SVM_EXIT_RDPMC: return instruction(v, INSTR_RDPMC);
    case SVM_EXIT_MONITOR: return instruction(v, INSTR_MONITOR);
    case SVM_EXIT_MWAIT: return instruction(v, INSTR_MWAIT);
    case SVM_EXIT_VMRUN: case SVM_EXIT_VMLOAD: case SVM_EXIT_VMSAVE: case SVM_EXIT_STGI:
    case SVM_EXIT_CLGI: case SVM_EXIT_SKINIT: case SVM_EXIT_INVLPGA:
        return instruction(v, INSTR_VIRTUALIZATION);
    default:
        vcpu_count_exit(v, EXIT_OTHER);
        return kill_unhandled(v);
    }
}
