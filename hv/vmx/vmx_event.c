/* Event injection: re-queued IDT-vectoring events, exceptions we raise, and interrupts
 * from the partition's interrupt controllers, with interrupt-window exiting. */
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

static void set_interrupt_window(bool on)
{
    uint32_t proc = vmcs_read32(VMCS32_PROC_CONTROLS);
    uint32_t want = on ? proc | PROC_INTR_WINDOW : proc & ~PROC_INTR_WINDOW;
    if (want != proc)
        vmcs_write32(VMCS32_PROC_CONTROLS, want);
}

bool vmx_interrupt_pending(struct vcpu *v)
{
    return vmx_of(v)->entry_intr_info || partition_pending_vector(v) >= 0;
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
        set_interrupt_window(partition_pending_vector(v) >= 0);
        return;
    }
    int vector = partition_pending_vector(v);
    if (vector < 0) {
        set_interrupt_window(false);
        return;
    }
    if (!guest_interruptible()) {
        set_interrupt_window(true);
        return;
    }
    partition_ack_vector(v, (uint8_t)vector);
    vmcs_write32(VMCS32_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_EXT_INTR | (uint32_t)vector);
    set_interrupt_window(partition_pending_vector(v) >= 0);
}
