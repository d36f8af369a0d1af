/* Event injection: re-queued IDT-vectoring events, exceptions we raise, NMIs and interrupts
 * from the partition's interrupt controllers, with NMI- and interrupt-window exiting.  NMIs
 * are virtual NMIs: the processor blocks further ones from delivery until the guest's
 * IRET, so one waits in the vLAPIC (one in service, one latched) meanwhile. */
#include "hv/core/exit/mmio.h"
#include "hv/core/partition.h"
#include "hv/core/platform_glue.h"
#include "hv/vmx/vmcs.h"
#include "hv/vmx/vmx.h"
#include "hv/lib/x86_bits.h"

#define DR6_BD (1ull << 13)
#define DR6_BS (1ull << 14)
#define DR6_RTM (1ull << 16)
#define DR7_GD (1ull << 13)
#define PENDING_DBG_B0_3 0xfull
#define CS_AR_L (1u << 13)
#define CS_AR_D (1u << 14)
#define VECTOR_DB 1

/* Fault-class exceptions (SDM Vol. 3, Table 6-1): #DE, #BR, #UD, #NM, #TS, #NP, #SS, #GP,
 * #PF, #MF, #AC, #XM, #VE, #CP.  #DB is a fault only for instruction breakpoints, which the
 * hypervisor never raises; the #DB it raises is the single-step trap. */
#define FAULT_VECTORS ((1u << 0) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 10) | (1u << 11) | \
                       (1u << 12) | (1u << 13) | (1u << 14) | (1u << 16) | (1u << 17) | \
                       (1u << 19) | (1u << 20) | (1u << 21))

void vmx_queue_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
    struct vmx_vcpu *x = vmx_of(v);
    x->entry_intr_info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector |
                         (has_error ? INTR_INFO_ERROR_CODE : 0);
    x->entry_intr_error = error;
    x->entry_instr_len = 0;
    /* Event injection pushes the guest RFLAGS as they are (SDM Vol. 3, "Event Injection"):
     * RF=1 must be there for a fault, so that its handler's IRET does not re-trigger an
     * instruction breakpoint on the restarted instruction. */
    if (vector < 32 && (FAULT_VECTORS & (1u << vector)))
        vmcs_writen(VMCSN_GUEST_RFLAGS, vmcs_readn(VMCSN_GUEST_RFLAGS) | RFLAGS_RF);
}

static uint64_t read_dr6(void)
{
    uint64_t v;
    __asm__ volatile("mov %%dr6, %0" : "=r"(v));
    return v;
}

static void write_dr6(uint64_t v)
{
    __asm__ volatile("mov %0, %%dr6" : : "r"(v));
}

/* The trap a single-stepping guest owes after an instruction the hypervisor completed: a
 * #DB with DR6.BS (and any data breakpoint the instruction left pending), delivered before
 * any interrupt, as the CPU orders traps of the previous instruction before interrupts.
 * The guest's DR6 is the CPU's (MOV DR does not exit); injecting #DB does not touch it. */
static void single_step_trap(struct vcpu *v)
{
    uint64_t pending = vmcs_readn(VMCSN_GUEST_PENDING_DBG);
    if (pending)
        vmcs_writen(VMCSN_GUEST_PENDING_DBG, 0);     /* folded into this #DB */
    if (vmx_of(v)->entry_intr_info)
        return;                                     /* an event of the instruction's own */
    write_dr6(read_dr6() | DR6_BS | (pending & PENDING_DBG_B0_3));
    vmx_queue_exception(v, VECTOR_DB, false, 0);
}

/* A #DB that exits leaves DR6 and DR7.GD as they were (SDM Vol. 3C 27.1): they are set here
 * as the CPU's delivery would have set them (B0-B3 replaced, BD and BS added, RTM set unless
 * the exit qualification says the #DB came from a transaction, GD cleared), before the #DB is
 * injected.  The guest's DR6 is the CPU's while it runs (MOV DR does not exit). */
void vmx_debug_exit_state(uint64_t qual)
{
    uint64_t dr6 = read_dr6() & ~(PENDING_DBG_B0_3 | DR6_RTM);
    dr6 |= qual & (PENDING_DBG_B0_3 | DR6_BD | DR6_BS);
    if (!(qual & DR6_RTM))
        dr6 |= DR6_RTM;
    write_dr6(dr6);
    uint64_t dr7 = vmcs_readn(VMCSN_GUEST_DR7);
    if (dr7 & DR7_GD)
        vmcs_writen(VMCSN_GUEST_DR7, dr7 & ~DR7_GD);
    /* A step trap after STI or MOV SS exits with their blocking still recorded, and VM entry
     * refuses TF=1 under that blocking without a single-step pending (SDM Vol. 3C 26.3.1.5);
     * the CPU does not set BS for a #DB exit. */
    if ((vmcs_readn(VMCSN_GUEST_RFLAGS) & RFLAGS_TF) &&
        (vmcs_read32(VMCS32_GUEST_INTERRUPTIBILITY) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)))
        vmcs_writen(VMCSN_GUEST_PENDING_DBG, vmcs_readn(VMCSN_GUEST_PENDING_DBG) | DR6_BS);
}

void vmx_complete_instruction(struct vcpu *v, uint32_t len)
{
    uint32_t cs_ar = vmcs_read32(VMCS32_GUEST_CS_AR);
    enum mmio_cpu_mode mode = mmio_cpu_mode_of(vmcs_readn(VMCSN_GUEST_CR0) & 1,
                                               vmcs_read64(VMCS64_GUEST_EFER) & EFER_LMA,
                                               vmcs_readn(VMCSN_GUEST_RFLAGS) & RFLAGS_VM,
                                               cs_ar & CS_AR_L, cs_ar & CS_AR_D);
    vmcs_writen(VMCSN_GUEST_RIP, mmio_next_rip(mode, vmcs_readn(VMCSN_GUEST_RIP), len));
    uint32_t intr = vmcs_read32(VMCS32_GUEST_INTERRUPTIBILITY);
    if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
        vmcs_write32(VMCS32_GUEST_INTERRUPTIBILITY,
                     intr & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
    /* A completed instruction clears RF (an IRET that set it has done its job). */
    uint64_t rflags = vmcs_readn(VMCSN_GUEST_RFLAGS);
    if (len && (rflags & RFLAGS_RF))
        vmcs_writen(VMCSN_GUEST_RFLAGS, rflags & ~RFLAGS_RF);
    if (rflags & RFLAGS_TF)
        single_step_trap(v);
}

#define VECTOR_PF 14

/* The guest's CR2 is the CPU's (no VMCS field holds it) and nothing in the hypervisor
 * takes a page fault before the entry. */
void vmx_queue_fault(struct vcpu *v, uint8_t vector, uint32_t error, uint64_t linear)
{
    if (vector == VECTOR_PF)
        __asm__ volatile("mov %0, %%cr2" : : "r"(linear) : "memory");
    vmx_queue_exception(v, vector, true, error);
}

void vmx_skip_instruction(void)
{
    vmx_complete_instruction(vmx_this_cpu()->loaded, vmcs_read32(VMCS32_EXIT_INSTR_LEN));
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

/*
 * The LAPIC took the interrupt when it was injected, but its delivery was cut short and
 * the vCPU now waits: it is taken again when delivered, so that a periodic timer tick
 * delivered late counts as late (hv/vdev/lapic.c) rather than as taken on time.
 */
void vmx_untake_requeued(struct vcpu *v)
{
    struct vmx_vcpu *x = vmx_of(v);
    uint32_t info = x->entry_intr_info;
    if ((info & INTR_INFO_VALID) && (info & INTR_TYPE_MASK) == INTR_TYPE_EXT_INTR &&
        vcpu_untake_interrupt(v, (uint8_t)info))
        x->entry_intr_info = 0;
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

/* What the guest can take now, from RFLAGS.IF and its interruptibility.  An event already
 * queued (re-queued or raised by the exit) goes alone: both windows count as closed. */
static struct event_windows windows(void)
{
    uint32_t blocking = vmcs_read32(VMCS32_GUEST_INTERRUPTIBILITY);
    bool shadow = blocking & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);
    return (struct event_windows){
        .irq_open = (vmcs_readn(VMCSN_GUEST_RFLAGS) & RFLAGS_IF) && !shadow,
        .nmi_open = !shadow && !(blocking & INTERRUPTIBILITY_NMI),
        .nmi_unblocked = !(blocking & INTERRUPTIBILITY_NMI),
    };
}

void vmx_inject_pending(struct vcpu *v)
{
    struct vmx_vcpu *x = vmx_of(v);
    struct event_windows w = { false, false, false };
    if (x->entry_intr_info) {
        vmcs_write32(VMCS32_ENTRY_INTR_INFO, x->entry_intr_info);
        if (x->entry_intr_info & INTR_INFO_ERROR_CODE)
            vmcs_write32(VMCS32_ENTRY_EXCEPTION_ERROR, x->entry_intr_error);
        vmcs_write32(VMCS32_ENTRY_INSTR_LEN, x->entry_instr_len);
        x->entry_intr_info = 0;
    } else {
        w = windows();
    }
    struct pending_event ev;
    if (vcpu_next_event(v, &w, &ev))
        vmcs_write32(VMCS32_ENTRY_INTR_INFO, INTR_INFO_VALID | ev.vector |
                     (ev.kind == PENDING_NMI ? INTR_TYPE_NMI : INTR_TYPE_EXT_INTR));
    set_window(v, PROC_NMI_WINDOW, ev.nmi_window);
    set_window(v, PROC_INTR_WINDOW, ev.irq_window);
}
