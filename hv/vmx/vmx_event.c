/* Event injection: re-queued IDT-vectoring events, exceptions we raise, NMIs and interrupts
 * from the partition's interrupt controllers, with NMI- and interrupt-window exiting.  NMIs
 * are virtual NMIs: the processor blocks further ones from delivery until the guest's
 * IRET, so one waits in the vLAPIC (one in service, one latched) meanwhile. */
#include "hv/core/partition.h"
#include "hv/core/platform_glue.h"
#include "hv/vmx/vmcs.h"
#include "hv/vmx/vmx.h"

#define RFLAGS_IF (1ull << 9)

void vmx_queue_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
    struct vmx_vcpu *x = vmx_of(v);
    x->entry_intr_info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector |
                         (has_error ? INTR_INFO_ERROR_CODE : 0);
    x->entry_intr_error = error;
    x->entry_instr_len = 0;
}

/* An event that was being delivered when the exit happened must be delivered again. */
void vmx_requeue_idt_vectoring(struct vcpu *v)
{
    struct vmx_vcpu *x = vmx_of(v);
    uint32_t info = vmcs_read32(VMCS32_IDT_VECTORING_INFO);
    if (!(info & INTR_INFO_VALID))
        return;
    x->entry_intr_info = info & ~(1u << 12);    /* bit 12 is undefined on entry */
    x->entry_intr_error = vmcs_read32(VMCS32_IDT_VECTORING_ERROR);
    uint32_t type = info & INTR_TYPE_MASK;
    x->entry_instr_len = (type == INTR_TYPE_SW_INTR || type == INTR_TYPE_SW_EXCEPTION ||
                          type == INTR_TYPE_PRIV_SW_EXC) ? vmcs_read32(VMCS32_EXIT_INSTR_LEN) : 0;
}

static bool guest_interruptible(void)
{
    return (vmcs_readn(VMCSN_GUEST_RFLAGS) & RFLAGS_IF) &&
           !(vmcs_read32(VMCS32_GUEST_INTERRUPTIBILITY) &
             (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
}

static bool nmi_allowed(void)
{
    return !(vmcs_read32(VMCS32_GUEST_INTERRUPTIBILITY) &
             (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS | INTERRUPTIBILITY_NMI));
}

/* The processor-based controls are cached: this runs before every entry. */
static void set_window(struct vcpu *v, uint32_t control, bool on)
{
    struct vmx_vcpu *x = vmx_of(v);
    uint32_t want = on ? x->proc_controls | control : x->proc_controls & ~control;
    if (want != x->proc_controls) {
        vmcs_write32(VMCS32_PROC_CONTROLS, want);
        x->proc_controls = want;
    }
}

static void set_interrupt_window(struct vcpu *v, bool on) { set_window(v, PROC_INTR_WINDOW, on); }

bool vmx_interrupt_pending(struct vcpu *v)
{
    return vmx_of(v)->entry_intr_info || partition_pending_vector(v) >= 0 ||
           partition_nmi_pending(v);
}

/* An NMI goes first when the guest can take one; otherwise the NMI window is watched. */
static bool inject_nmi(struct vcpu *v)
{
    bool pending = partition_nmi_pending(v);
    if (pending && nmi_allowed() && partition_take_nmi(v)) {
        vmcs_write32(VMCS32_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | 2u);
        set_window(v, PROC_NMI_WINDOW, partition_nmi_pending(v));
        set_interrupt_window(v, partition_pending_vector(v) >= 0);
        return true;
    }
    set_window(v, PROC_NMI_WINDOW, pending);
    return false;
}

void vmx_inject_pending(struct vcpu *v)
{
    struct vmx_vcpu *x = vmx_of(v);
    if (x->entry_intr_info) {
        vmcs_write32(VMCS32_ENTRY_INTR_INFO, x->entry_intr_info);
        if (x->entry_intr_info & INTR_INFO_ERROR_CODE)
            vmcs_write32(VMCS32_ENTRY_EXCEPTION_ERROR, x->entry_intr_error);
        vmcs_write32(VMCS32_ENTRY_INSTR_LEN, x->entry_instr_len);
        x->entry_intr_info = 0;
        set_interrupt_window(v, partition_pending_vector(v) >= 0);
        set_window(v, PROC_NMI_WINDOW, partition_nmi_pending(v));
        return;
    }
    if (inject_nmi(v))
        return;
    int vector = partition_pending_vector(v);
    if (vector < 0) {
        set_interrupt_window(v, false);
        return;
    }
    if (!guest_interruptible()) {
        set_interrupt_window(v, true);
        return;
    }
    partition_ack_vector(v, (uint8_t)vector);
    vmcs_write32(VMCS32_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_EXT_INTR | (uint32_t)vector);
    set_interrupt_window(v, partition_pending_vector(v) >= 0);
}
