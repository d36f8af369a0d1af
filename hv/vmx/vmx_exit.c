/*
 * VM-exit dispatch: one decoder per basic exit reason.  Every exit that means something to
 * the guest or its partition is decoded into the core's struct exit_info, decided by
 * exit_handle (hv/core/exit/exit.h) and its effects applied here; what stays here is VT-x's
 * own: host interrupts and NMIs, interrupt and NMI windows, the preemption timer, and the
 * NMI blocking an EPT violation during IRET leaves.  An exit nobody handles ends only its
 * partition, with the reason by name, qualification and guest RIP in one line.
 */
#include <string.h>
#include "hv/core/exit/exit_apply.h"
#include "hv/core/partition.h"
#include "hv/core/snapshot_lazy.h"
#include "hv/vmx/vmcs.h"
#include "hv/vmx/vmx.h"
#include "hv/lib/x86_bits.h"

#define EXIT_REASON_COUNT 70
#define CS_AR_L (1u << 13)
#define CS_AR_D (1u << 14)

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

static enum exit_action kill_unhandled(struct vcpu *v, uint64_t qual)
{
    uint32_t reason = vmcs_read32(VMCS32_EXIT_REASON) & 0xffff;
    const char *name = reason < EXIT_REASON_COUNT && reason_names[reason] ? reason_names[reason] : "unknown";
    partition_kill(v->part, "vcpu%u: unhandled exit %u (%s), qualification %#lx, rip %#lx",
                   v->index, reason, name, qual, vmcs_readn(VMCSN_GUEST_RIP));
    return EXIT_STOP;
}

static enum exit_action unhandled(struct vcpu *v, uint64_t qual)
{
    vcpu_count_exit(v, EXIT_OTHER);
    return kill_unhandled(v, qual);
}

static enum exit_action on_extint(struct vcpu *v, uint64_t qual)
{
    vcpu_count_exit(v, EXIT_EXTINT);
    return v->kick ? EXIT_TO_SCHEDULER : EXIT_RESUME;
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

/* ---- exits the core decides: decode, exit_handle, load the effects -------------------- */

static uint64_t read_gpr(struct vcpu *v, unsigned reg)
{
    return reg == RSP ? vmcs_readn(VMCSN_GUEST_RSP) : v->gpr[reg];
}

static struct exit_info decoded(struct vcpu *v, enum exit_info_kind kind, uint64_t qual)
{
    return (struct exit_info){
        .kind = kind, .vcpu = v->index, .rip = vmcs_readn(VMCSN_GUEST_RIP),
        .instr_len = vmcs_read32(VMCS32_EXIT_INSTR_LEN), .raw = qual,
        .real_mode = !(vmcs_readn(VMCSN_GUEST_CR0) & 1),
        .event_queued = vmx_of(v)->entry_intr_info != 0,
    };
}

static void write_rsp(struct vcpu *v, uint64_t value) { vmcs_writen(VMCSN_GUEST_RSP, value); }

static bool set_xcr0(struct vcpu *v, uint64_t xcr0) { return vmx_xstate_set_xcr0(vmx_of(v), xcr0); }

static enum exit_action unhandled_decision(struct vcpu *v, const struct exit_info *e)
{
    return kill_unhandled(v, e->raw);
}

static const struct exit_target target = {
    .emulation_load = load_emulation_state, .emulation_store = store_emulation_state,
    .write_rsp = write_rsp, .load_ctl = vmx_load_guest_ctl, .set_xcr0 = set_xcr0,
    .queue_exception = vmx_queue_exception, .queue_fault = vmx_queue_fault,
    .complete_instruction = vmx_complete_instruction, .unhandled = unhandled_decision,
};

static enum exit_action on_cpuid(struct vcpu *v, uint64_t qual)
{
    struct exit_info e = decoded(v, EXIT_IS_CPUID, qual);
    e.cpuid.leaf = (uint32_t)v->gpr[RAX];
    e.cpuid.subleaf = (uint32_t)v->gpr[RCX];
    return exit_apply(&target, v, &e);
}

static enum exit_action on_hlt(struct vcpu *v, uint64_t qual)
{
    struct exit_info e = decoded(v, EXIT_IS_HLT, qual);
    uint64_t rflags = vmcs_readn(VMCSN_GUEST_RFLAGS);
    e.hlt.irqs_enabled = rflags & RFLAGS_IF;
    e.hlt.single_step = rflags & RFLAGS_TF;
    return exit_apply(&target, v, &e);
}

/* The qualification: CR number, access type, register (SDM Vol. 3, Table 28-3). */
static enum exit_action on_cr_access(struct vcpu *v, uint64_t qual)
{
    static const enum cr_access access[4] = { CR_MOV_TO, CR_MOV_FROM, CR_CLTS, CR_LMSW };
    struct exit_info e = decoded(v, EXIT_IS_CR, qual);
    e.cr.number = qual & 0xf;
    e.cr.access = access[(qual >> 4) & 3];
    e.cr.gpr = (qual >> 8) & 0xf;
    e.cr.value = e.cr.access == CR_LMSW ? (qual >> 16) & 0xffff
                 : e.cr.access == CR_MOV_TO ? read_gpr(v, e.cr.gpr) : 0;
    e.cr.now = vmx_guest_ctl();
    e.cr.cr4_offered = vmx_cr4_offered();
    e.cr.cs_long = (e.cr.now.efer & EFER_LMA) && (vmcs_read32(VMCS32_GUEST_CS_AR) & (1u << 13));
    e.cr.cr3 = vmcs_readn(VMCSN_GUEST_CR3);
    return exit_apply(&target, v, &e);
}

static enum exit_action on_msr(struct vcpu *v, uint64_t qual, bool write)
{
    struct exit_info e = decoded(v, write ? EXIT_IS_MSR_WRITE : EXIT_IS_MSR_READ, qual);
    e.msr.index = (uint32_t)v->gpr[RCX];
    e.msr.value = (v->gpr[RDX] << 32) | (uint32_t)v->gpr[RAX];
    e.msr.efer = vmcs_read64(VMCS64_GUEST_EFER);
    e.msr.cr0 = vmcs_readn(VMCSN_GUEST_CR0);
    return exit_apply(&target, v, &e);
}

static enum exit_action on_rdmsr(struct vcpu *v, uint64_t qual) { return on_msr(v, qual, false); }
static enum exit_action on_wrmsr(struct vcpu *v, uint64_t qual) { return on_msr(v, qual, true); }

static unsigned guest_cpl(void)
{
    if (vmcs_readn(VMCSN_GUEST_RFLAGS) & RFLAGS_VM)
        return 3;
    return (vmcs_read32(VMCS32_GUEST_SS_AR) >> 5) & 3;     /* SS.DPL is the CPL */
}

static enum exit_action on_xsetbv(struct vcpu *v, uint64_t qual)
{
    struct exit_info e = decoded(v, EXIT_IS_XSETBV, qual);
    e.xsetbv.xcr = (uint32_t)v->gpr[RCX];
    e.xsetbv.value = (v->gpr[RDX] << 32) | (uint32_t)v->gpr[RAX];
    e.xsetbv.cpl = guest_cpl();
    e.xsetbv.osxsave = vmcs_readn(VMCSN_GUEST_CR4) & CR4_OSXSAVE;
    e.xsetbv.offered = vmx_this_cpu()->xs.xcr0_offered;
    return exit_apply(&target, v, &e);
}

/* The qualification: size - 1, direction, string, REP, port (SDM Vol. 3, Table 28-5). */
static enum exit_action on_io(struct vcpu *v, uint64_t qual)
{
    struct exit_info e = decoded(v, EXIT_IS_IO, qual);
    e.io.size = (uint8_t)((qual & 7) + 1);
    e.io.in = qual & 8;
    e.io.string = qual & 16;
    e.io.rep = qual & 32;
    e.io.port = (uint16_t)(qual >> 16);
    e.io.rax = v->gpr[RAX];
    e.io.rcx = v->gpr[RCX];
    /* The instruction information's address size (SDM Vol. 3, Table 28-8), where reported. */
    if (e.io.string && vmx_this_cpu()->caps.io_instr_info) {
        unsigned as = (vmcs_read32(VMCS32_EXIT_INSTR_INFO) >> 7) & 7;
        e.io.addr_size = as <= 2 ? (uint8_t)(2u << as) : 0xff;
    }
    return exit_apply(&target, v, &e);
}

#define EPT_QUAL_WRITE          (1ull << 1)     /* the access was a data write */
#define EPT_QUAL_FETCH          (1ull << 2)     /* an instruction fetch */
#define EPT_QUAL_LINEAR_VALID   (1ull << 7)     /* a guest-linear address was translated */
#define EPT_QUAL_TRANSLATED     (1ull << 8)     /* ... and this was its access, not a table's */
#define EPT_QUAL_NMI_UNBLOCKED  (1ull << 12)    /* during an IRET that unblocked NMIs */
#define EPT_QUAL_ENTRY_RWX      (7ull << 3)     /* the entry's read, write, execute bits */

/* A lazy restore's absent page (hv/core/snapshot_lazy.h): its own hook, before the rest. */
static bool lazy_page(struct vcpu *v, uint64_t qual, enum exit_action *action)
{
    if (qual & EPT_QUAL_ENTRY_RWX)
        return false;
    switch (snapshot_lazy_fault(v, vmcs_read64(VMCS64_GUEST_PHYS_ADDR))) {
    case LAZY_NOT_MINE: return false;
    case LAZY_RETRY: *action = EXIT_RESUME; break;
    case LAZY_PARKED:
        vmx_untake_requeued(v);
        *action = EXIT_HALT;
        break;
    case LAZY_LOST: *action = EXIT_STOP; break;
    }
    vcpu_count_exit(v, EXIT_EPT);
    return true;
}

static enum exit_action on_ept_violation(struct vcpu *v, uint64_t qual)
{
    /* The exit interrupted an IRET that had unblocked NMIs: the IRET runs again, so NMIs
     * must stay blocked until it completes (virtual NMIs, SDM "NMI unblocking due to IRET"). */
    if (qual & EPT_QUAL_NMI_UNBLOCKED)
        vmcs_write32(VMCS32_GUEST_INTERRUPTIBILITY,
                     vmcs_read32(VMCS32_GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
    enum exit_action lazy = EXIT_RESUME;
    if (lazy_page(v, qual, &lazy))
        return lazy;
    struct exit_info e = decoded(v, EXIT_IS_MMIO, qual);
    e.mmio.gpa = vmcs_read64(VMCS64_GUEST_PHYS_ADDR);
    e.mmio.write = qual & EPT_QUAL_WRITE;
    e.mmio.fetch = qual & EPT_QUAL_FETCH;
    e.mmio.table = (qual & EPT_QUAL_LINEAR_VALID) && !(qual & EPT_QUAL_TRANSLATED);
    return exit_apply(&target, v, &e);
}

static enum exit_action on_ept_misconfig(struct vcpu *v, uint64_t qual)
{
    struct exit_info e = decoded(v, EXIT_IS_TABLES_BROKEN, qual);
    e.mmio.gpa = vmcs_read64(VMCS64_GUEST_PHYS_ADDR);
    return exit_apply(&target, v, &e);
}

static enum exit_action on_vmcall(struct vcpu *v, uint64_t qual)
{
    struct exit_info e = decoded(v, EXIT_IS_VMCALL, qual);
    e.vmcall.nr = v->gpr[RAX];
    e.vmcall.arg[0] = v->gpr[RDI];
    e.vmcall.arg[1] = v->gpr[RSI];
    e.vmcall.arg[2] = v->gpr[RDX];
    e.vmcall.arg[3] = v->gpr[R10];
    e.vmcall.cpl = guest_cpl();
    return exit_apply(&target, v, &e);
}

static enum exit_action on_triple_fault(struct vcpu *v, uint64_t qual)
{
    struct exit_info e = decoded(v, EXIT_IS_SHUTDOWN, qual);
    return exit_apply(&target, v, &e);
}

static enum exit_action on_init(struct vcpu *v, uint64_t qual)
{
    struct exit_info e = decoded(v, EXIT_IS_INIT, qual);
    return exit_apply(&target, v, &e);
}

static enum exit_action on_sipi(struct vcpu *v, uint64_t qual)
{
    struct exit_info e = decoded(v, EXIT_IS_SIPI, qual);
    return exit_apply(&target, v, &e);
}

/* Host NMIs are the host's: handled here, as if they had not hit the guest. */
static enum exit_action on_exception_nmi(struct vcpu *v, uint64_t qual)
{
    uint32_t info = vmcs_read32(VMCS32_EXIT_INTR_INFO);
    if ((info & INTR_TYPE_MASK) == INTR_TYPE_NMI) {
        vcpu_count_exit(v, EXIT_EXCEPTION);
        __asm__ volatile("int $2");
        return EXIT_RESUME;
    }
    /* A fault in an IRET that had unblocked NMIs: the IRET runs again, NMIs stay blocked
     * until it completes (as for EPT violations below). */
    if (info & INTR_INFO_NMI_UNBLOCKED)
        vmcs_write32(VMCS32_GUEST_INTERRUPTIBILITY,
                     vmcs_read32(VMCS32_GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
    if ((info & 0xff) == VECTOR_DB) {
        /* INT1 (ICEBP) is delivered again as itself, past the instruction; any other #DB
         * goes to the core with DR6 and DR7 as its delivery leaves them. */
        if ((info & INTR_TYPE_MASK) == INTR_TYPE_PRIV_SW_EXC) {
            vcpu_count_exit(v, EXIT_EXCEPTION);
            struct vmx_vcpu *x = vmx_of(v);
            x->entry_intr_info = INTR_INFO_VALID | INTR_TYPE_PRIV_SW_EXC | VECTOR_DB;
            x->entry_intr_error = 0;
            x->entry_instr_len = vmcs_read32(VMCS32_EXIT_INSTR_LEN);
            return EXIT_RESUME;
        }
        vmx_debug_exit_state(qual);
    }
    struct exit_info e = decoded(v, EXIT_IS_EXCEPTION, qual);
    e.exception.vector = info & 0xff;
    e.exception.has_error = info & INTR_INFO_ERROR_CODE;
    e.exception.error = e.exception.has_error ? vmcs_read32(VMCS32_EXIT_INTR_ERROR) : 0;
    return exit_apply(&target, v, &e);
}

static enum exit_action instruction(struct vcpu *v, uint64_t qual, enum exit_instruction which)
{
    struct exit_info e = decoded(v, EXIT_IS_INSTRUCTION, qual);
    e.instruction.which = which;
    return exit_apply(&target, v, &e);
}

static enum exit_action on_vmx_instruction(struct vcpu *v, uint64_t qual)
{
    return instruction(v, qual, INSTR_VIRTUALIZATION);
}

static enum exit_action on_getsec(struct vcpu *v, uint64_t qual) { return instruction(v, qual, INSTR_GETSEC); }
static enum exit_action on_monitor(struct vcpu *v, uint64_t qual) { return instruction(v, qual, INSTR_MONITOR); }
static enum exit_action on_mwait(struct vcpu *v, uint64_t qual) { return instruction(v, qual, INSTR_MWAIT); }
static enum exit_action on_rdpmc(struct vcpu *v, uint64_t qual) { return instruction(v, qual, INSTR_RDPMC); }
static enum exit_action on_invd(struct vcpu *v, uint64_t qual) { return instruction(v, qual, INSTR_INVD); }
static enum exit_action on_wbinvd(struct vcpu *v, uint64_t qual) { return instruction(v, qual, INSTR_WBINVD); }

static enum exit_action on_preemption_timer(struct vcpu *v, uint64_t qual)
{
    vcpu_count_exit(v, EXIT_PREEMPT);
    return EXIT_RESUME;     /* the run loop checks the slice and the device timers */
}

static const exit_handler handlers[EXIT_REASON_COUNT] = {
    [0] = on_exception_nmi, [1] = on_extint, [2] = on_triple_fault, [3] = on_init,
    [4] = on_sipi, [7] = on_interrupt_window, [8] = on_nmi_window, [10] = on_cpuid,
    [11] = on_getsec, [12] = on_hlt, [13] = on_invd, [15] = on_rdpmc, [18] = on_vmcall,
    [19] = on_vmx_instruction, [20] = on_vmx_instruction, [21] = on_vmx_instruction,
    [22] = on_vmx_instruction, [23] = on_vmx_instruction, [24] = on_vmx_instruction,
    [25] = on_vmx_instruction, [26] = on_vmx_instruction, [27] = on_vmx_instruction,
    [28] = on_cr_access, [30] = on_io, [31] = on_rdmsr, [32] = on_wrmsr, [36] = on_mwait,
    [39] = on_monitor, [48] = on_ept_violation, [49] = on_ept_misconfig,
    [50] = on_vmx_instruction, [52] = on_preemption_timer, [53] = on_vmx_instruction,
    [54] = on_wbinvd, [55] = on_xsetbv,
};

enum exit_action vmx_handle_exit(struct vcpu *v)
{
    uint32_t reason = vmcs_read32(VMCS32_EXIT_REASON) & 0xffff;
    uint64_t qual = vmcs_readn(VMCSN_EXIT_QUALIFICATION);
    exit_handler h = reason < EXIT_REASON_COUNT ? handlers[reason] : NULL;
    return (h ? h : unhandled)(v, qual);
}
