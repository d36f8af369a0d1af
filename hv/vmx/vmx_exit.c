/*
 * VM-exit dispatch: one handler per basic exit reason, each returning what the run loop
 * does next.  An exit nobody handles ends only its partition, with the reason,
 * qualification and guest RIP in one line.
 */
#include <string.h>
#include "hv/arch/x86/cpu.h"
#include "hv/core/cpuid_policy.h"
#include "hv/core/emulate.h"
#include "hv/core/hypercall.h"
#include "hv/core/msr_policy.h"
#include "hv/core/partition.h"
#include "hv/core/platform_glue.h"
#include "hv/core/xcr0_policy.h"
#include "hv/vmx/vmcs.h"
#include "hv/vmx/vmx.h"

#define EXIT_REASON_COUNT 70
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)
#define EFER_SCE (1ull << 0)

typedef enum exit_action (*exit_handler)(struct vcpu *v, uint64_t qual);

static const char *const reason_names[EXIT_REASON_COUNT] = {
    [0] = "exception or NMI", [1] = "external interrupt", [2] = "triple fault",
    [3] = "INIT", [4] = "SIPI", [7] = "interrupt window", [8] = "NMI window",
    [9] = "task switch", [10] = "CPUID", [11] = "GETSEC", [12] = "HLT", [13] = "INVD",
    [14] = "INVLPG", [15] = "RDPMC", [16] = "RDTSC", [18] = "VMCALL", [19] = "VMCLEAR",
    [20] = "VMLAUNCH", [21] = "VMPTRLD", [22] = "VMPTRST", [23] = "VMREAD", [24] = "VMRESUME",
    [25] = "VMWRITE", [26] = "VMXOFF", [27] = "VMXON", [28] = "control-register access",
    [29] = "MOV DR", [30] = "I/O instruction", [31] = "RDMSR", [32] = "WRMSR",
    [33] = "invalid guest state", [34] = "MSR loading", [36] = "MWAIT", [37] = "monitor trap",
    [39] = "MONITOR", [40] = "PAUSE", [41] = "machine check", [43] = "TPR below threshold",
    [44] = "APIC access", [46] = "GDTR/IDTR access", [47] = "LDTR/TR access",
    [48] = "EPT violation", [49] = "EPT misconfiguration", [50] = "INVEPT", [51] = "RDTSCP",
    [52] = "preemption timer", [53] = "INVVPID", [54] = "WBINVD", [55] = "XSETBV",
    [57] = "RDRAND", [58] = "INVPCID", [61] = "RDSEED", [63] = "XSAVES", [64] = "XRSTORS",
};

static enum exit_action unhandled(struct vcpu *v, uint64_t qual)
{
    uint32_t reason = vmcs_read32(VMCS32_EXIT_REASON) & 0xffff;
    const char *name = reason < EXIT_REASON_COUNT && reason_names[reason] ? reason_names[reason] : "unknown";
    vcpu_count_exit(v, EXIT_OTHER);
    partition_kill(v->part, "vcpu%u: unhandled exit %u (%s), qualification %#lx, rip %#lx",
                   v->index, reason, name, qual, vmcs_readn(VMCSN_GUEST_RIP));
    return EXIT_STOP;
}

static enum exit_action inject_ud(struct vcpu *v, uint64_t qual)
{
    vcpu_count_exit(v, EXIT_EXCEPTION);
    vmx_queue_exception(v, 6, false, 0);
    return EXIT_RESUME;
}

static enum exit_action on_exception_nmi(struct vcpu *v, uint64_t qual)
{
    uint32_t info = vmcs_read32(VMCS32_EXIT_INTR_INFO);
    vcpu_count_exit(v, EXIT_EXCEPTION);
    if ((info & INTR_TYPE_MASK) == INTR_TYPE_NMI) {
        __asm__ volatile("int $2");
        return EXIT_RESUME;
    }
    partition_kill(v->part, "vcpu%u: machine check or unexpected exception %u at rip %#lx",
                   v->index, info & 0xff, vmcs_readn(VMCSN_GUEST_RIP));
    return EXIT_STOP;
}

static enum exit_action on_extint(struct vcpu *v, uint64_t qual)
{
    vcpu_count_exit(v, EXIT_EXTINT);
    return v->kick ? EXIT_TO_SCHEDULER : EXIT_RESUME;
}

static enum exit_action on_triple_fault(struct vcpu *v, uint64_t qual)
{
    vcpu_count_exit(v, EXIT_TRIPLE_FAULT);
    partition_kill(v->part, "vcpu%u: triple fault at rip %#lx", v->index, vmcs_readn(VMCSN_GUEST_RIP));
    return EXIT_STOP;
}

static enum exit_action on_interrupt_window(struct vcpu *v, uint64_t qual)
{
    vcpu_count_exit(v, EXIT_INTR_WINDOW);
    return EXIT_RESUME;
}

static enum exit_action on_nmi_window(struct vcpu *v, uint64_t qual)
{
    vcpu_count_exit(v, EXIT_INTR_WINDOW);
    return EXIT_RESUME;
}

static enum exit_action on_cpuid(struct vcpu *v, uint64_t qual)
{
    vcpu_count_exit(v, EXIT_CPUID);
    struct cpuid_result r;
    cpuid_policy(v, (uint32_t)v->gpr[RAX], (uint32_t)v->gpr[RCX], &r);
    v->gpr[RAX] = r.eax;
    v->gpr[RBX] = r.ebx;
    v->gpr[RCX] = r.ecx;
    v->gpr[RDX] = r.edx;
    vmx_skip_instruction();
    return EXIT_RESUME;
}

static enum exit_action on_hlt(struct vcpu *v, uint64_t qual)
{
    vcpu_count_exit(v, EXIT_HLT);
    vmx_skip_instruction();
    v->halted_irqs_off = !(vmcs_readn(VMCSN_GUEST_RFLAGS) & (1ull << 9));
    if ((!v->halted_irqs_off && vmx_interrupt_pending(v)) || vmx_of(v)->entry_intr_info ||
        partition_nmi_pending(v))
        return EXIT_RESUME;
    /* An INIT that came meanwhile (wait-for-SIPI) outranks the halt: keep that state. */
    enum vcpu_sched_state was = VCPU_RUNNABLE;
    if (!__atomic_compare_exchange_n(&v->state, &was, VCPU_HALTED, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return EXIT_HALT;
    if (v->halted_irqs_off && partition_stuck(v->part)) {
        partition_kill(v->part, "every vCPU halted with interrupts disabled (rip %#lx)",
                       vmcs_readn(VMCSN_GUEST_RIP));
        return EXIT_STOP;
    }
    return EXIT_HALT;
}

static enum exit_action on_vmcall(struct vcpu *v, uint64_t qual)
{
    vcpu_count_exit(v, EXIT_HYPERCALL);
    vmx_skip_instruction();
    hypercall_dispatch(v);
    return v->part->state == PART_DEAD ? EXIT_STOP : EXIT_RESUME;
}

static uint64_t *gpr_ref(struct vcpu *v, unsigned reg, uint64_t *rsp_tmp)
{
    if (reg == RSP) {
        *rsp_tmp = vmcs_readn(VMCSN_GUEST_RSP);
        return rsp_tmp;
    }
    return &v->gpr[reg];
}

static enum exit_action on_cr_access(struct vcpu *v, uint64_t qual)
{
    vcpu_count_exit(v, EXIT_CR);
    struct vmx_vcpu *x = vmx_of(v);
    unsigned cr = qual & 0xf, type = (qual >> 4) & 3, reg = (qual >> 8) & 0xf;
    uint64_t rsp_tmp, *r = gpr_ref(v, reg, &rsp_tmp);
    bool ok = true;
    switch (type) {
    case 0:     /* MOV to CR */
        if (cr == 0)
            ok = vmx_set_guest_cr0(v, *r);
        else if (cr == 4)
            ok = vmx_set_guest_cr4(v, *r);
        else if (cr == 8)
            partition_set_tpr(v, *r & 0xf);
        else
            return unhandled(v, qual);
        break;
    case 1:     /* MOV from CR (only CR8 exits) */
        *r = cr == 8 ? partition_get_tpr(v) : 0;
        if (reg == RSP)
            vmcs_writen(VMCSN_GUEST_RSP, rsp_tmp);
        break;
    case 2:     /* CLTS */
        ok = vmx_set_guest_cr0(v, x->cr0_shadow & ~(1ull << 3));
        break;
    default:    /* LMSW: low four bits, PE cannot be cleared */
        ok = vmx_set_guest_cr0(v, (x->cr0_shadow & ~0xeull) | ((qual >> 16) & 0xf) |
                                  (x->cr0_shadow & 1));
        break;
    }
    if (!ok) {
        vmx_queue_exception(v, 13, true, 0);
        return EXIT_RESUME;
    }
    vmx_skip_instruction();
    return EXIT_RESUME;
}

#define RFLAGS_VM (1ull << 17)
#define CS_AR_L (1u << 13)
#define CS_AR_D (1u << 14)

/* The vCPU as the instruction emulator sees it: RSP from the VMCS, not the gpr[] slot. */
static void load_emulation_state(struct vcpu *v, struct mmio_cpu *c, struct guest_paging *pg)
{
    static const enum vmcsn bases[6] = {
        [MMIO_SEG_ES] = VMCSN_GUEST_ES_BASE, [MMIO_SEG_CS] = VMCSN_GUEST_CS_BASE,
        [MMIO_SEG_SS] = VMCSN_GUEST_SS_BASE, [MMIO_SEG_DS] = VMCSN_GUEST_DS_BASE,
        [MMIO_SEG_FS] = VMCSN_GUEST_FS_BASE, [MMIO_SEG_GS] = VMCSN_GUEST_GS_BASE,
    };
    memcpy(c->gpr, v->gpr, sizeof(c->gpr));
    c->gpr[RSP] = vmcs_readn(VMCSN_GUEST_RSP);
    c->rip = vmcs_readn(VMCSN_GUEST_RIP);
    c->rflags = vmcs_readn(VMCSN_GUEST_RFLAGS);
    for (unsigned i = 0; i < 6; i++)
        c->seg_base[i] = vmcs_readn(bases[i]);
    virt_get_paging(v, pg);
    uint32_t cs_ar = vmcs_read32(VMCS32_GUEST_CS_AR);
    c->mode = mmio_cpu_mode_of(pg->cr0 & 1, pg->efer & EFER_LMA, c->rflags & RFLAGS_VM,
                               cs_ar & CS_AR_L, cs_ar & CS_AR_D);
}

static void store_emulation_state(struct vcpu *v, const struct mmio_cpu *c)
{
    uint64_t rsp = v->gpr[RSP];
    memcpy(v->gpr, c->gpr, sizeof(v->gpr));
    v->gpr[RSP] = rsp;
    if (c->gpr[RSP] != vmcs_readn(VMCSN_GUEST_RSP))
        vmcs_writen(VMCSN_GUEST_RSP, c->gpr[RSP]);
    if (c->rflags != vmcs_readn(VMCSN_GUEST_RFLAGS))
        vmcs_writen(VMCSN_GUEST_RFLAGS, c->rflags);
}

/* An MMIO access or string I/O, emulated; a REP string instruction with a count left stays
 * on its RIP and runs again. */
static enum exit_action emulate(struct vcpu *v, const struct mmio_exit *e)
{
    struct mmio_cpu c;
    struct guest_paging pg;
    struct mmio_outcome out;
    load_emulation_state(v, &c, &pg);
    enum mmio_result r = vcpu_emulate(v, &c, &pg, e, &out);
    if (r != MMIO_DONE && r != MMIO_AGAIN && r != MMIO_UNMAPPED)
        return EXIT_STOP;
    store_emulation_state(v, &c);
    if (r == MMIO_UNMAPPED)
        vmx_queue_page_fault(v, out.linear, out.write);
    else
        vmx_complete_instruction(v, r == MMIO_DONE ? out.length : 0);
    return v->part->state == PART_DEAD ? EXIT_STOP : EXIT_RESUME;
}

static enum exit_action on_io(struct vcpu *v, uint64_t qual)
{
    vcpu_count_exit(v, EXIT_IO);
    unsigned size = (qual & 7) + 1;
    bool in = qual & 8, string = qual & 16;
    uint16_t port = (uint16_t)(qual >> 16);
    if (string)
        return emulate(v, &(struct mmio_exit){ .string_io = true });
    if (size != 1 && size != 2 && size != 4)
        return unhandled(v, qual);
    uint32_t value = in ? 0 : (uint32_t)v->gpr[RAX];
    partition_io(v, port, size, !in, &value);
    if (in) {
        uint64_t mask = size == 4 ? 0xffffffffull : (1ull << (size * 8)) - 1;
        v->gpr[RAX] = size == 4 ? value : (v->gpr[RAX] & ~mask) | (value & mask);
    }
    vmx_skip_instruction();
    return v->part->state == PART_DEAD ? EXIT_STOP : EXIT_RESUME;
}

static bool efer_write(struct vcpu *v, uint64_t value)
{
    if (value & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
        return false;
    uint64_t old = vmcs_read64(VMCS64_GUEST_EFER);
    value = (value & ~EFER_LMA) | (old & EFER_LMA);     /* LMA follows CR0.PG */
    if ((old & EFER_LMA) && !(value & EFER_LME))
        return false;
    return vmcs_write64(VMCS64_GUEST_EFER, value);
}

static enum exit_action on_msr(struct vcpu *v, uint64_t qual, bool write)
{
    vcpu_count_exit(v, EXIT_MSR);
    uint32_t msr = (uint32_t)v->gpr[RCX];
    uint64_t value = (v->gpr[RDX] << 32) | (uint32_t)v->gpr[RAX];
    bool ok;
    if (msr == MSR_EFER) {
        if (write)
            ok = efer_write(v, value);
        else {
            value = vmcs_read64(VMCS64_GUEST_EFER);
            ok = true;
        }
    } else {
        ok = write ? msr_policy_write(v, msr, value) : msr_policy_read(v, msr, &value);
    }
    if (!ok) {
        vmx_queue_exception(v, 13, true, 0);
        return EXIT_RESUME;
    }
    if (!write) {
        v->gpr[RAX] = (uint32_t)value;
        v->gpr[RDX] = value >> 32;
    }
    vmx_skip_instruction();
    return v->part->state == PART_DEAD ? EXIT_STOP : EXIT_RESUME;
}

static enum exit_action on_rdmsr(struct vcpu *v, uint64_t qual) { return on_msr(v, qual, false); }
static enum exit_action on_wrmsr(struct vcpu *v, uint64_t qual) { return on_msr(v, qual, true); }

#define EPT_QUAL_WRITE          (1ull << 1)     /* the access was a data write */
#define EPT_QUAL_FETCH          (1ull << 2)     /* an instruction fetch */
#define EPT_QUAL_LINEAR_VALID   (1ull << 7)     /* a guest-linear address was translated */
#define EPT_QUAL_TRANSLATED     (1ull << 8)     /* ... and this was its access, not a table's */
#define EPT_QUAL_NMI_UNBLOCKED  (1ull << 12)    /* during an IRET that unblocked NMIs */

static enum exit_action on_ept_violation(struct vcpu *v, uint64_t qual)
{
    uint64_t gpa = vmcs_read64(VMCS64_GUEST_PHYS_ADDR);
    /* The exit interrupted an IRET that had unblocked NMIs: the IRET runs again, so NMIs
     * must stay blocked until it completes (virtual NMIs, SDM "NMI unblocking due to IRET"). */
    if (qual & EPT_QUAL_NMI_UNBLOCKED)
        vmcs_write32(VMCS32_GUEST_INTERRUPTIBILITY,
                     vmcs_read32(VMCS32_GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
    if (guest_mem_contains(&v->part->mem, gpa, 1)) {
        vcpu_count_exit(v, EXIT_EPT);
        if ((qual & EPT_QUAL_WRITE) && partition_write_fault(v, gpa))
            return EXIT_RESUME;
        partition_kill(v->part, "vcpu%u: unexpected EPT violation at gpa %#lx (qualification %#lx)",
                       v->index, gpa, qual);
        return EXIT_STOP;
    }
    vcpu_count_exit(v, EXIT_MMIO);
    /* Code, page tables or an event's IDT or stack outside RAM: no instruction at RIP made
     * the access, so there is nothing to emulate. */
    bool fetch = qual & EPT_QUAL_FETCH;
    bool table = (qual & EPT_QUAL_LINEAR_VALID) && !(qual & EPT_QUAL_TRANSLATED);
    bool event = vmx_of(v)->entry_intr_info;            /* re-queued: it was being delivered */
    if (fetch || table || event) {
        partition_kill(v->part, "vcpu%u: %s at gpa %#lx, outside its memory (rip %#lx)", v->index,
                       fetch ? "instruction fetch" : table ? "page-table access" : "event delivery",
                       gpa, vmcs_readn(VMCSN_GUEST_RIP));
        return EXIT_STOP;
    }
    return emulate(v, &(struct mmio_exit){ .gpa = gpa });
}

static enum exit_action on_ept_misconfig(struct vcpu *v, uint64_t qual)
{
    vcpu_count_exit(v, EXIT_EPT);
    partition_kill(v->part, "vcpu%u: EPT misconfiguration at gpa %#lx", v->index,
                   vmcs_read64(VMCS64_GUEST_PHYS_ADDR));
    return EXIT_STOP;
}

static enum exit_action on_preemption_timer(struct vcpu *v, uint64_t qual)
{
    vcpu_count_exit(v, EXIT_PREEMPT);
    return EXIT_RESUME;     /* the run loop checks the slice and the device timers */
}

#define CR4_OSXSAVE (1ull << 18)
#define RFLAGS_VM   (1ull << 17)

static unsigned guest_cpl(void)
{
    if (vmcs_readn(VMCSN_GUEST_RFLAGS) & RFLAGS_VM)
        return 3;
    return (vmcs_read32(VMCS32_GUEST_SS_AR) >> 5) & 3;     /* SS.DPL is the CPL */
}

/* The SDM's every rule (xcr0_policy.c) before the host's own XSETBV takes the value. */
static enum exit_action on_xsetbv(struct vcpu *v, uint64_t qual)
{
    vcpu_count_exit(v, EXIT_XSETBV);
    uint64_t value = (v->gpr[RDX] << 32) | (uint32_t)v->gpr[RAX];
    bool osxsave = vmcs_readn(VMCSN_GUEST_CR4) & CR4_OSXSAVE;
    switch (xsetbv_check((uint32_t)v->gpr[RCX], value, guest_cpl(), osxsave,
                         vmx_this_cpu()->xcr0_offered)) {
    case XSETBV_UD:
        vmx_queue_exception(v, 6, false, 0);
        return EXIT_RESUME;
    case XSETBV_GP:
        vmx_queue_exception(v, 13, true, 0);
        return EXIT_RESUME;
    case XSETBV_OK:
        break;
    }
    if (!vmx_xstate_set_xcr0(vmx_of(v), value)) {
        partition_kill(v->part, "vcpu%u: the CPU refused XCR0 %#lx that passed every check (rip %#lx)",
                       v->index, value, vmcs_readn(VMCSN_GUEST_RIP));
        return EXIT_STOP;
    }
    vmx_skip_instruction();
    return EXIT_RESUME;
}

static enum exit_action skip_instruction(struct vcpu *v, uint64_t qual)
{
    vcpu_count_exit(v, EXIT_OTHER);
    vmx_skip_instruction();
    return EXIT_RESUME;
}

static enum exit_action inject_gp(struct vcpu *v, uint64_t qual)
{
    vcpu_count_exit(v, EXIT_EXCEPTION);
    vmx_queue_exception(v, 13, true, 0);
    return EXIT_RESUME;
}

static enum exit_action on_init(struct vcpu *v, uint64_t qual)
{
    vcpu_count_exit(v, EXIT_INIT_SIPI);
    return EXIT_RESUME;
}

static const exit_handler handlers[EXIT_REASON_COUNT] = {
    [0] = on_exception_nmi, [1] = on_extint, [2] = on_triple_fault, [3] = on_init,
    [7] = on_interrupt_window, [8] = on_nmi_window, [10] = on_cpuid, [11] = inject_ud,
    [12] = on_hlt,
    [13] = skip_instruction, [15] = inject_gp, [18] = on_vmcall,
    [19] = inject_ud, [20] = inject_ud, [21] = inject_ud, [22] = inject_ud, [23] = inject_ud,
    [24] = inject_ud, [25] = inject_ud, [26] = inject_ud, [27] = inject_ud,
    [28] = on_cr_access, [30] = on_io, [31] = on_rdmsr, [32] = on_wrmsr,
    [36] = inject_ud, [39] = inject_ud, [48] = on_ept_violation, [49] = on_ept_misconfig,
    [50] = inject_ud, [52] = on_preemption_timer, [53] = inject_ud, [54] = skip_instruction,
    [55] = on_xsetbv,
};

enum exit_action vmx_handle_exit(struct vcpu *v)
{
    uint32_t reason = vmcs_read32(VMCS32_EXIT_REASON) & 0xffff;
    uint64_t qual = vmcs_readn(VMCSN_EXIT_QUALIFICATION);
    exit_handler h = reason < EXIT_REASON_COUNT ? handlers[reason] : NULL;
    return (h ? h : unhandled)(v, qual);
}
