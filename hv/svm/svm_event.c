/* Event injection: events whose delivery an exit cut short, exceptions the core raises,
 * NMIs and interrupts from the partition's interrupt controllers in the core's order
 * (hv/core/exit/exit_event.h).  Exceptions and NMIs go through EVENTINJ; an external
 * interrupt is offered as a virtual interrupt (V_IRQ with its vector, no VINTR intercept),
 * which the guest takes at its first boundary with interrupts enabled (they are, or the
 * core would not have picked it): QEMU 7.2 delivers an EVENTINJ interrupt and leaves it
 * behind as a pending exception, delivered a second time, IF or not, when its loop next
 * stops (hv/svm/svm.md).  The interrupt window is V_IRQ with the VINTR intercept; NMI
 * blocking is tracked here, from the injection of an NMI to the completion of the guest's
 * next IRET (intercepted meanwhile). */
#include "hv/core/exit/exit_event.h"
#include "hv/core/exit/mmio.h"
#include "hv/core/partition.h"
#include "hv/core/platform_glue.h"
#include "hv/svm/svm.h"
#include "hv/lib/x86_bits.h"

#define DR6_BS (1ull << 14)
#define ATTRIB_L (1u << 9)
#define ATTRIB_D (1u << 10)
#define VECTOR_DB 1
#define VECTOR_NMI 2
#define VECTOR_BP 3
#define VECTOR_OF 4
#define VECTOR_PF 14

/* Fault-class exceptions, as hv/vmx lists them: their handler's IRET must find RF set. */
#define FAULT_VECTORS ((1u << 0) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 10) | (1u << 11) | \
                       (1u << 12) | (1u << 13) | (1u << 14) | (1u << 16) | (1u << 17) | \
                       (1u << 19) | (1u << 20) | (1u << 21))

void svm_queue_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
    struct svm_vcpu *x = svm_of(v);
    x->event_inj = EVENT_VALID | EVENT_TYPE_EXCEPTION | vector |
                   (has_error ? EVENT_ERROR_VALID | ((uint64_t)error << 32) : 0);
    if (vector < 32 && (FAULT_VECTORS & (1u << vector)))
        x->vmcb->save.rflags |= RFLAGS_RF;
}

void svm_complete_instruction(struct vcpu *v, uint32_t len)
{
    struct svm_vcpu *x = svm_of(v);
    struct vmcb_save *s = &x->vmcb->save;
    enum mmio_cpu_mode mode = mmio_cpu_mode_of(s->cr0 & 1, s->efer & EFER_LMA,
                                               s->rflags & RFLAGS_VM, s->cs.attrib & ATTRIB_L,
                                               s->cs.attrib & ATTRIB_D);
    s->rip = mmio_next_rip(mode, s->rip, len);
    x->vmcb->ctl.int_shadow &= ~1ull;
    if (len && (s->rflags & RFLAGS_RF))
        s->rflags &= ~RFLAGS_RF;
    if ((s->rflags & RFLAGS_TF) && !x->event_inj) {
        s->dr6 |= DR6_BS;
        svm_queue_exception(v, VECTOR_DB, false, 0);
    }
}

void svm_queue_fault(struct vcpu *v, uint8_t vector, uint32_t error, uint64_t linear)
{
    if (vector == VECTOR_PF)
        svm_of(v)->vmcb->save.cr2 = linear;
    svm_queue_exception(v, vector, true, error);
}

/* A software interrupt or INT3/INTO is not delivered again: RIP is still on the
 * instruction, which runs again (there is no next RIP to inject it with everywhere). */
void svm_requeue_interrupted(struct vcpu *v)
{
    struct svm_vcpu *x = svm_of(v);
    uint64_t info = x->vmcb->ctl.exit_int_info;
    bool offered = x->virq;
    x->virq = false;
    if (offered && !(info & EVENT_VALID) && (x->vmcb->ctl.int_ctl & V_IRQ)) {
        x->vmcb->ctl.int_ctl &= ~V_IRQ;     /* not taken before the exit */
        vcpu_untake_interrupt(v, x->virq_vector);
    }
    if (!(info & EVENT_VALID))
        return;
    uint64_t type = info & EVENT_TYPE_MASK;
    uint8_t vector = (uint8_t)info;
    if (type == EVENT_TYPE_SOFT_INT ||
        (type == EVENT_TYPE_EXCEPTION && (vector == VECTOR_BP || vector == VECTOR_OF)))
        return;
    /* QEMU records an external interrupt or an NMI cut short as an exception (seg_helper.c,
     * handle_even_inj), and its VMRUN refuses to inject an exception of vector 2 or above
     * 30 (svm_helper.c, `vector >= 31`): no exception has vector 31 or above (31 is
     * reserved), so such an event was an interrupt, and vector 2 is the NMI. */
    if (type == EVENT_TYPE_EXCEPTION && (vector >= 31 || vector == VECTOR_NMI))
        info = (info & ~(EVENT_TYPE_MASK | EVENT_ERROR_VALID | (0xffffffffull << 32))) |
               (vector == VECTOR_NMI ? EVENT_TYPE_NMI : EVENT_TYPE_INTR);
    x->event_inj = info;
}

void svm_untake_requeued(struct vcpu *v)
{
    struct svm_vcpu *x = svm_of(v);
    if ((x->event_inj & EVENT_VALID) && (x->event_inj & EVENT_TYPE_MASK) == EVENT_TYPE_INTR &&
        vcpu_untake_interrupt(v, (uint8_t)x->event_inj))
        x->event_inj = 0;
}

static struct event_windows windows(const struct svm_vcpu *x)
{
    bool shadow = x->vmcb->ctl.int_shadow & 1;
    return (struct event_windows){
        .irq_open = (x->vmcb->save.rflags & RFLAGS_IF) && !shadow,
        .nmi_open = !shadow && !x->nmi_blocked,
        .nmi_unblocked = !x->nmi_blocked,
    };
}

void svm_inject_pending(struct vcpu *v)
{
    struct svm_vcpu *x = svm_of(v);
    struct vmcb_control *c = &x->vmcb->ctl;
    struct event_windows w = { false, false, false };
    c->event_inj = 0;
    /* The IRET that exited has run once RIP moved: NMIs are unblocked after it. */
    if (x->iret_seen && x->vmcb->save.rip != x->iret_rip) {
        x->nmi_blocked = false;
        x->iret_seen = false;
    }
    if (x->event_inj) {
        c->event_inj = x->event_inj;
        if ((x->event_inj & EVENT_TYPE_MASK) == EVENT_TYPE_NMI)
            x->nmi_blocked = true;
        x->event_inj = 0;
    } else {
        w = windows(x);
    }
    struct pending_event ev;
    if (vcpu_next_event(v, &w, &ev)) {
        c->event_inj = EVENT_VALID | ev.vector |
                       (ev.kind == PENDING_NMI ? EVENT_TYPE_NMI : EVENT_TYPE_INTR);
        if (ev.kind == PENDING_NMI)
            x->nmi_blocked = true;
    }
    c->int_ctl &= ~(V_IRQ | (0xfull << V_INTR_PRIO_SHIFT) | V_IGN_TPR |
                    (0xffull << V_INTR_VECTOR_SHIFT));
    c->intercept_misc1 &= ~INTERCEPT_VINTR;
    /* Waiting for the IRET to complete: where it runs with interrupts disabled, the first
     * boundary with them enabled after it (IRET restores IF) exits; else the next exit. */
    bool after_iret = x->iret_seen && ev.nmi_window && !(x->vmcb->save.rflags & RFLAGS_IF);
    if ((c->event_inj & EVENT_TYPE_MASK) == EVENT_TYPE_INTR && (c->event_inj & EVENT_VALID) &&
        !after_iret) {
        /* A second interrupt that waits is injected at the next exit (the host timer bounds
         * the stay): V_IRQ carries one interrupt, and VINTR would exit instead of taking it. */
        x->virq = true;
        x->virq_vector = (uint8_t)c->event_inj;
        c->int_ctl |= V_IRQ | (0xfull << V_INTR_PRIO_SHIFT) | V_IGN_TPR |
                      ((uint64_t)x->virq_vector << V_INTR_VECTOR_SHIFT);
        c->event_inj = 0;
    } else if (ev.irq_window || after_iret) {
        c->int_ctl |= V_IRQ | (0xfull << V_INTR_PRIO_SHIFT) | V_IGN_TPR;
        c->intercept_misc1 |= INTERCEPT_VINTR;
    }
    if (x->nmi_blocked && !x->iret_seen)
        c->intercept_misc1 |= INTERCEPT_IRET;
    else
        c->intercept_misc1 &= ~INTERCEPT_IRET;
}
