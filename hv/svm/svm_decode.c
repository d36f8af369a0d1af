/* The instruction at the guest's CS:RIP after an intercept: its bytes, read once as the guest
 * would fetch them, and its length where the CPU does not report the next RIP (no NRIPS, as
 * under QEMU's TCG), only when the bytes are the instruction the exit reports
 * (hv/svm/svm_insn.h). */
#include "hv/core/exit/mmio.h"
#include "hv/core/guest_walk.h"
#include "hv/core/partition.h"
#include "hv/svm/svm.h"
#include "hv/lib/x86_bits.h"

#define ATTRIB_L (1u << 9)
#define ATTRIB_D (1u << 10)
#define VECTOR_UD 6

void svm_fetch_instruction(struct vcpu *v, struct svm_fetch *f)
{
    const struct vmcb_save *s = &svm_of(v)->vmcb->save;
    struct guest_paging pg;
    svm_get_paging(v, &pg);
    f->mode = mmio_cpu_mode_of(s->cr0 & 1, s->efer & EFER_LMA, s->rflags & RFLAGS_VM,
                               s->cs.attrib & ATTRIB_L, s->cs.attrib & ATTRIB_D);
    f->got = 0;
    f->faulted = false;
    /* Outside 64-bit mode linear addresses wrap at 4 GiB, the instruction's second page too. */
    uint64_t mask = f->mode == MMIO_MODE_LONG64 ? ~0ull : 0xffffffffull;
    struct guest_access a = { .fetch = true, .user = s->cpl == 3 };
    while (f->got < SVM_INSN_MAX) {
        uint64_t at = (s->cs.base + s->rip + f->got) & mask, gpa;
        unsigned n = (unsigned)(4096 - (at & 4095));
        if (n > SVM_INSN_MAX - f->got)
            n = SVM_INSN_MAX - f->got;
        enum guest_walk_result r = guest_translate(&v->part->mem, &pg, at, &a, &gpa);
        if (guest_walk_fault(r, &pg, &a, &f->fault)) {
            f->faulted = true;
            f->fault_linear = at;
            return;
        }
        if (!guest_mem_read(&v->part->mem, gpa, f->bytes + f->got, n))
            return;
        f->got += n;
    }
}

void svm_refuse_instruction(struct vcpu *v, const struct svm_fetch *f, enum svm_decoded r)
{
    uint64_t rip = svm_of(v)->vmcb->save.rip;
    if (r == SVM_DECODE_SHORT && !f->faulted) {
        partition_kill(v->part, "vcpu%u: the instruction at rip %#lx runs into guest-physical "
                       "memory outside its RAM, which the hypervisor does not read", v->index, rip);
        return;
    }
    vcpu_count_exit(v, EXIT_EXCEPTION);
    if (r == SVM_DECODE_SHORT)
        svm_queue_fault(v, f->fault.vector, f->fault.error, f->fault_linear);
    else
        svm_queue_exception(v, VECTOR_UD, false, 0);
}

unsigned svm_instruction_length(struct vcpu *v, enum svm_insn want)
{
    struct svm_vcpu *x = svm_of(v);
    if (svm_this_cpu()->caps.nrips && x->vmcb->ctl.next_rip) {
        uint64_t len = x->vmcb->ctl.next_rip - x->vmcb->save.rip;
        if (len && len <= SVM_INSN_MAX)
            return (unsigned)len;
    }
    struct svm_fetch f;
    unsigned length = 0;
    svm_fetch_instruction(v, &f);
    enum svm_decoded r = svm_insn_decode(f.mode, f.bytes, f.got, want, &length);
    if (r == SVM_DECODED)
        return length;
    svm_refuse_instruction(v, &f, r);
    return 0;
}
