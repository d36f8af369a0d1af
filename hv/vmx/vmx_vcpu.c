/* VMCS life cycle and the run loop of one vCPU on this physical CPU. */
#include <string.h>
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/ipi_call.h"
#include "hv/arch/x86/percpu.h"
#include "hv/arch/x86/tsc.h"
#include "hv/arch/x86/console.h"
#include "hv/core/partition.h"
#include "hv/core/platform_glue.h"
#include "hv/core/vcpu_run.h"
#include "hv/core/virt.h"
#include "hv/mm/kmem.h"
#include "hv/vmx/vmcs.h"
#include "hv/vmx/vmx.h"
#include "hv/lib/x86_bits.h"

static uint16_t next_vpid = 1;

/* ---- per partition: EPT, I/O and MSR bitmaps ------------------------------------- */

static void msr_passthrough(uint8_t *bitmap, uint32_t msr)
{
    unsigned base = msr >= 0xc0000000u ? 1024 : 0;
    uint32_t bit = msr & 0x1fff;
    bitmap[base + bit / 8] &= ~(1u << (bit % 8));           /* reads */
    bitmap[2048 + base + bit / 8] &= ~(1u << (bit % 8));    /* writes */
}

bool vtx_partition_init(struct partition *p)
{
    struct vmx_partition *x = kmalloc(sizeof(*x));
    if (!x)
        return false;
    p->arch = x;
    x->io_bitmaps = kmem_alloc_pages(2);
    x->msr_bitmap = kmem_alloc_pages(1);
    if (!x->io_bitmaps || !x->msr_bitmap ||
        !ept_build(&x->ept, &p->mem, vmx_this_cpu()->caps.ept_2m))
        return false;
    memset(x->io_bitmaps, 0xff, 8192);
    memset(x->msr_bitmap, 0xff, 4096);
    static const uint32_t passthrough[] = {
        MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
        MSR_FMASK, MSR_TSC_AUX, MSR_IA32_PAT, 0x174, 0x175, 0x176, /* SYSENTER_* */
    };
    for (size_t i = 0; i < sizeof(passthrough) / sizeof(passthrough[0]); i++)
        msr_passthrough(x->msr_bitmap, passthrough[i]);
    return true;
}

void vtx_partition_destroy(struct partition *p)
{
    struct vmx_partition *x = p->arch;
    if (!x)
        return;
    ept_destroy(&x->ept);
    kmem_free_pages(x->io_bitmaps, 2);
    kmem_free_pages(x->msr_bitmap, 1);
    kfree(x);
    p->arch = NULL;
}

/* ---- VMCS contents ---------------------------------------------------------------- */

static bool setup_controls(struct vcpu *v)
{
    const struct vmx_caps *c = &vmx_this_cpu()->caps;
    struct vmx_partition *xp = v->part->arch;
    uint32_t pin = vmx_adjust_controls(c->pinbased, PIN_EXTINT_EXIT | PIN_NMI_EXIT |
                                       PIN_VIRTUAL_NMIS | PIN_PREEMPTION_TIMER);
    uint32_t proc = vmx_adjust_controls(c->procbased, PROC_HLT_EXIT | PROC_USE_IO_BITMAPS |
                                        PROC_USE_MSR_BITMAPS | PROC_SECONDARY | PROC_MWAIT_EXIT |
                                        PROC_MONITOR_EXIT | PROC_RDPMC_EXIT |
                                        PROC_CR8_LOAD_EXIT | PROC_CR8_STORE_EXIT |
                                        PROC_USE_TSC_OFFSET);
    proc &= ~(PROC_CR3_LOAD_EXIT | PROC_CR3_STORE_EXIT) | (uint32_t)c->procbased;
    uint32_t proc2 = vmx_adjust_controls(c->procbased2, PROC2_EPT | PROC2_VPID |
                                         PROC2_UNRESTRICTED | PROC2_RDTSCP | PROC2_INVPCID |
                                         PROC2_XSAVES);
    /* Debug controls: the guest's DR7 and DEBUGCTL live in the VMCS between exits. */
    uint32_t exit = vmx_adjust_controls(c->exit, EXIT_HOST_LONG_MODE | EXIT_SAVE_EFER |
                                        EXIT_LOAD_EFER | EXIT_SAVE_PAT | EXIT_LOAD_PAT |
                                        EXIT_SAVE_DEBUG);
    uint32_t entry = vmx_adjust_controls(c->entry, ENTRY_LOAD_EFER | ENTRY_LOAD_PAT |
                                         ENTRY_LOAD_DEBUG);
    entry &= ~ENTRY_GUEST_LONG_MODE;
    bool ok = vmcs_write32(VMCS32_PIN_CONTROLS, pin);
    ok &= vmcs_write32(VMCS32_PROC_CONTROLS, proc);
    vmx_of(v)->proc_controls = proc;
    ok &= vmcs_write32(VMCS32_PROC_CONTROLS2, proc2);
    ok &= vmcs_write32(VMCS32_EXIT_CONTROLS, exit);
    ok &= vmcs_write32(VMCS32_ENTRY_CONTROLS, entry);
    /* #MC; #AC and #DB, whose delivery a guest can make raise itself again for ever, with
     * no exit unless they are intercepted (CVE-2015-5307, CVE-2015-8104). */
    ok &= vmcs_write32(VMCS32_EXCEPTION_BITMAP, (1u << 18) | (1u << 17) | (1u << 1));
    ok &= vmcs_write32(VMCS32_PF_ERROR_MASK, 0);
    ok &= vmcs_write32(VMCS32_PF_ERROR_MATCH, 0);
    ok &= vmcs_write32(VMCS32_CR3_TARGET_COUNT, 0);
    ok &= vmcs_write32(VMCS32_EXIT_MSR_STORE_COUNT, 0);
    ok &= vmcs_write32(VMCS32_EXIT_MSR_LOAD_COUNT, 0);
    ok &= vmcs_write32(VMCS32_ENTRY_MSR_LOAD_COUNT, 0);
    ok &= vmcs_write32(VMCS32_ENTRY_INTR_INFO, 0);
    ok &= vmcs_write64(VMCS64_IO_BITMAP_A, virt_to_phys(xp->io_bitmaps));
    ok &= vmcs_write64(VMCS64_IO_BITMAP_B, virt_to_phys(xp->io_bitmaps + 4096));
    ok &= vmcs_write64(VMCS64_MSR_BITMAP, virt_to_phys(xp->msr_bitmap));
    ok &= vmcs_write64(VMCS64_EPT_POINTER, xp->ept.eptp);
    if (proc2 & PROC2_XSAVES)       /* a VMCS field unwritten is undefined (SDM 25.11.3) */
        ok &= vmcs_write64(VMCS64_XSS_EXITING_BITMAP, 0);
    ok &= vmcs_write16(VMCS16_VPID, vmx_of(v)->vpid);
    ok &= vmcs_write64(VMCS64_VMCS_LINK_POINTER, ~0ull);
    ok &= vmcs_write64(VMCS64_TSC_OFFSET, vmx_of(v)->tsc_offset);
    /* CD and NW are host-owned: VM entry keeps the host's (SDM 26.3.2.1), so a guest
     * must read back the values it wrote from the shadow. */
    ok &= vmcs_writen(VMCSN_CR0_MASK, CR0_NE | CR0_CD | CR0_NW | (c->cr0_fixed0 & ~(CR0_PE | CR0_PG)) |
                                      ~c->cr0_fixed1);
    ok &= vmcs_writen(VMCSN_CR4_MASK, CR4_VMXE | c->cr4_fixed0 | ~vmx_cr4_offered());
    return ok;
}

static bool setup_host_state(void)
{
    struct percpu *p = this_cpu();
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gdtr, idtr;
    __asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
    bool ok = vmcs_writen(VMCSN_HOST_CR0, read_cr0());
    ok &= vmcs_writen(VMCSN_HOST_CR3, read_cr3());
    ok &= vmcs_writen(VMCSN_HOST_CR4, read_cr4());
    ok &= vmcs_write16(VMCS16_HOST_CS_SEL, GDT_KERNEL_CS);
    ok &= vmcs_write16(VMCS16_HOST_SS_SEL, GDT_KERNEL_DS);
    ok &= vmcs_write16(VMCS16_HOST_DS_SEL, GDT_KERNEL_DS);
    ok &= vmcs_write16(VMCS16_HOST_ES_SEL, GDT_KERNEL_DS);
    ok &= vmcs_write16(VMCS16_HOST_FS_SEL, 0);
    ok &= vmcs_write16(VMCS16_HOST_GS_SEL, 0);
    ok &= vmcs_write16(VMCS16_HOST_TR_SEL, GDT_TSS);
    ok &= vmcs_writen(VMCSN_HOST_FS_BASE, 0);
    ok &= vmcs_writen(VMCSN_HOST_GS_BASE, (uint64_t)p);
    ok &= vmcs_writen(VMCSN_HOST_TR_BASE, (uint64_t)&p->tss);
    ok &= vmcs_writen(VMCSN_HOST_GDTR_BASE, gdtr.base);
    ok &= vmcs_writen(VMCSN_HOST_IDTR_BASE, idtr.base);
    ok &= vmcs_write32(VMCS32_HOST_SYSENTER_CS, 0);
    ok &= vmcs_writen(VMCSN_HOST_SYSENTER_ESP, 0);
    ok &= vmcs_writen(VMCSN_HOST_SYSENTER_EIP, 0);
    ok &= vmcs_write64(VMCS64_HOST_EFER, rdmsr(MSR_EFER));
    ok &= vmcs_write64(VMCS64_HOST_PAT, rdmsr(MSR_IA32_PAT));
    ok &= vmcs_writen(VMCSN_HOST_RIP, (uint64_t)vmx_exit_point);
    return ok;
}

struct segment { uint16_t sel; uint64_t base; uint32_t limit, ar; };

static bool write_segment(unsigned index, const struct segment *s)
{
    /* ES CS SS DS FS GS LDTR TR are consecutive in each field group. */
    bool ok = vmcs_write16((enum vmcs16)(VMCS16_GUEST_ES_SEL + 2 * index), s->sel);
    ok &= vmcs_writen((enum vmcsn)(VMCSN_GUEST_ES_BASE + 2 * index), s->base);
    ok &= vmcs_write32((enum vmcs32)(VMCS32_GUEST_ES_LIMIT + 2 * index), s->limit);
    ok &= vmcs_write32((enum vmcs32)(VMCS32_GUEST_ES_AR + 2 * index), s->ar);
    return ok;
}

enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR };

static bool setup_guest_segments(const struct vcpu_start *st)
{
    struct segment code, data;
    switch (st->mode) {
    case START_REAL_MODE:
        code = (struct segment){ st->cs_selector, (uint64_t)st->cs_selector << 4, 0xffff, 0x9b };
        data = (struct segment){ 0, 0, 0xffff, 0x93 };
        break;
    case START_PROTECTED_32:
        code = (struct segment){ st->code_sel ? st->code_sel : 0x08, 0, 0xffffffff, 0xc09b };
        data = (struct segment){ st->data_sel ? st->data_sel : 0x10, 0, 0xffffffff, 0xc093 };
        break;
    default:
        code = (struct segment){ st->code_sel ? st->code_sel : 0x08, 0, 0xffffffff, 0xa09b };
        data = (struct segment){ st->data_sel ? st->data_sel : 0x10, 0, 0xffffffff, 0xc093 };
        break;
    }
    bool ok = write_segment(SEG_CS, &code);
    for (unsigned s = SEG_ES; s <= SEG_GS; s++)
        if (s != SEG_CS)
            ok &= write_segment(s, &data);
    ok &= write_segment(SEG_LDTR, &(struct segment){ 0, 0, 0xffff, 0x82 });
    ok &= write_segment(SEG_TR, &(struct segment){ 0, 0, 0xffff, 0x8b });
    ok &= vmcs_writen(VMCSN_GUEST_GDTR_BASE, st->gdt_base);
    ok &= vmcs_write32(VMCS32_GUEST_GDTR_LIMIT, st->mode == START_REAL_MODE ? 0xffff : st->gdt_limit);
    ok &= vmcs_writen(VMCSN_GUEST_IDTR_BASE, 0);
    ok &= vmcs_write32(VMCS32_GUEST_IDTR_LIMIT, 0xffff);
    return ok;
}

static bool setup_guest_state(struct vcpu *v, const struct vcpu_start *st)
{
    bool ok = setup_guest_segments(st);
    uint64_t cr0 = CR0_ET | CR0_NE, cr4 = 0, efer = 0;
    if (st->mode != START_REAL_MODE)
        cr0 |= CR0_PE;
    if (st->mode == START_LONG_64) {
        cr0 |= CR0_PG | CR0_WP;
        cr4 |= CR4_PAE;
        efer |= EFER_LME | EFER_LMA;
    }
    ok &= vmcs_write64(VMCS64_GUEST_EFER, efer);
    ok &= vmcs_writen(VMCSN_GUEST_CR0, 0);
    ok &= vmcs_writen(VMCSN_GUEST_CR4, 0);
    ok &= vmx_set_guest_cr4(v, cr4);
    ok &= vmx_set_guest_cr0(v, cr0);
    if (st->mode == START_LONG_64)
        ok &= vmcs_write32(VMCS32_ENTRY_CONTROLS,
                           vmcs_read32(VMCS32_ENTRY_CONTROLS) | ENTRY_GUEST_LONG_MODE);
    ok &= vmcs_writen(VMCSN_GUEST_CR3, st->cr3);
    ok &= vmcs_writen(VMCSN_GUEST_DR7, 0x400);
    ok &= vmcs_writen(VMCSN_GUEST_RSP, st->rsp);
    ok &= vmcs_writen(VMCSN_GUEST_RIP, st->rip);
    ok &= vmcs_writen(VMCSN_GUEST_RFLAGS, 0x2);
    ok &= vmcs_writen(VMCSN_GUEST_PENDING_DBG, 0);
    ok &= vmcs_write32(VMCS32_GUEST_INTERRUPTIBILITY, 0);
    ok &= vmcs_write32(VMCS32_GUEST_ACTIVITY_STATE, 0);
    ok &= vmcs_write32(VMCS32_GUEST_SYSENTER_CS, 0);
    ok &= vmcs_writen(VMCSN_GUEST_SYSENTER_ESP, 0);
    ok &= vmcs_writen(VMCSN_GUEST_SYSENTER_EIP, 0);
    ok &= vmcs_write64(VMCS64_GUEST_DEBUGCTL, 0);
    ok &= vmcs_write64(VMCS64_GUEST_PAT, 0x0007040600070406ull);
    memset(v->gpr, 0, sizeof(v->gpr));
    v->gpr[RAX] = st->rax;
    v->gpr[RBX] = st->rbx;
    v->gpr[RSI] = st->rsi;
    v->gpr[RDI] = st->rdi;
    if (st->mode == START_REAL_MODE)
        v->gpr[RDX] = 0x600;        /* family 6 at reset, as hardware reports */
    return ok;
}

/* ---- where a VMCS is active --------------------------------------------------------- */

/* This CPU gives up its current VMCS: the guest's extended state and MSRs are saved, and
 * VMCLEAR writes the VMCS back to memory and leaves it inactive (launch state clear). */
static void put_current(bool save_context);

static void vmcs_made_inactive(struct vmx_vcpu *x)
{
    x->launched = false;
    __atomic_store_n(&x->active_cpu, 0, __ATOMIC_RELEASE);
}

bool vtx_vcpu_init(struct vcpu *v, const struct vcpu_start *st)
{
    struct vmx_vcpu *x = kmalloc(sizeof(*x));
    if (!x)
        return false;
    memset(x, 0, sizeof(*x));
    v->arch = x;
    x->vmcs = kmem_alloc_pages(1);
    if (!x->vmcs || !vmx_xstate_init(x))
        return false;
    memset(x->vmcs, 0, 4096);
    *(uint32_t *)x->vmcs = vmx_this_cpu()->caps.vmcs_revision;
    x->vmcs_phys = virt_to_phys(x->vmcs);
    x->vpid = __atomic_fetch_add(&next_vpid, 1, __ATOMIC_RELAXED);
    x->dr6 = 0xffff0ff0;            /* DR6 at reset (SDM 18.2.3) */
    /* Set up here (the boot CPU), run on its own CPU: whatever vCPU is current here is
     * put aside, and the new VMCS is left inactive. */
    put_current(true);
    if (!vmcs_clear(x->vmcs_phys) || !vmcs_load(x->vmcs_phys))
        return false;
    bool ok = setup_controls(v) && setup_guest_state(v, st);
    vmcs_clear(x->vmcs_phys);
    vmcs_made_inactive(x);
    x->host_cpu = 0;
    return ok;
}

/* On the CPU where it is active (an IPI from another). */
static void clear_if_loaded(void *arg)
{
    struct vcpu *v = arg;
    if (vmx_this_cpu()->loaded == v)
        put_current(false);
}

#define VMCLEAR_TIMEOUT_NS 1000000000ull

void vtx_vcpu_destroy(struct vcpu *v)
{
    struct vmx_vcpu *x = v->arch;
    if (!x)
        return;
    unsigned active = __atomic_load_n(&x->active_cpu, __ATOMIC_ACQUIRE);
    if (active)
        ipi_call(active - 1, clear_if_loaded, v, VMCLEAR_TIMEOUT_NS);
    active = __atomic_load_n(&x->active_cpu, __ATOMIC_ACQUIRE);
    if (active) {
        /* The CPU may still write the VMCS back: its page is never reused. */
        kprintf("vmx: %s vcpu%u: cpu%u did not clear its VMCS; the page is kept\n",
                v->part->name, v->index, active - 1);
    } else if (x->vmcs) {
        kmem_free_pages(x->vmcs, 1);
    }
    vmx_xstate_free(x);
    kfree(x);
    v->arch = NULL;
}

void vtx_vcpu_sipi(struct vcpu *v, uint8_t vector)
{
    v->sipi_vector = vector;
    v->sipi_pending = true;
    v->state = VCPU_RUNNABLE;
}

/* ---- switching vCPUs on this CPU ------------------------------------------------- */

static void save_debug_and_cr2(struct vmx_vcpu *x)
{
    __asm__ volatile("mov %%cr2, %0" : "=r"(x->cr2));
    __asm__ volatile("mov %%db0, %0" : "=r"(x->dr[0]));
    __asm__ volatile("mov %%db1, %0" : "=r"(x->dr[1]));
    __asm__ volatile("mov %%db2, %0" : "=r"(x->dr[2]));
    __asm__ volatile("mov %%db3, %0" : "=r"(x->dr[3]));
    __asm__ volatile("mov %%db6, %0" : "=r"(x->dr6));
}

static void restore_debug_and_cr2(const struct vmx_vcpu *x)
{
    __asm__ volatile("mov %0, %%cr2" : : "r"(x->cr2));
    __asm__ volatile("mov %0, %%db0" : : "r"(x->dr[0]));
    __asm__ volatile("mov %0, %%db1" : : "r"(x->dr[1]));
    __asm__ volatile("mov %0, %%db2" : : "r"(x->dr[2]));
    __asm__ volatile("mov %0, %%db3" : : "r"(x->dr[3]));
    __asm__ volatile("mov %0, %%db6" : : "r"(x->dr6));
}

static bool save_guest_context(struct vcpu *v)
{
    struct vmx_vcpu *x = vmx_of(v);
    x->msr_star = rdmsr(MSR_STAR);
    x->msr_lstar = rdmsr(MSR_LSTAR);
    x->msr_cstar = rdmsr(MSR_CSTAR);
    x->msr_fmask = rdmsr(MSR_FMASK);
    x->msr_kernel_gs = rdmsr(MSR_KERNEL_GS_BASE);
    x->msr_tsc_aux = rdmsr(MSR_TSC_AUX);
    save_debug_and_cr2(x);
    return vmx_xstate_save(x);
}

static bool restore_guest_context(struct vcpu *v)
{
    struct vmx_vcpu *x = vmx_of(v);
    wrmsr(MSR_STAR, x->msr_star);
    wrmsr(MSR_LSTAR, x->msr_lstar);
    wrmsr(MSR_CSTAR, x->msr_cstar);
    wrmsr(MSR_FMASK, x->msr_fmask);
    wrmsr(MSR_KERNEL_GS_BASE, x->msr_kernel_gs);
    wrmsr(MSR_TSC_AUX, x->msr_tsc_aux);
    restore_debug_and_cr2(x);
    return vmx_xstate_restore(x);
}

static void put_current(bool save_context)
{
    struct vmx_cpu *c = vmx_this_cpu();
    struct vcpu *old = c->loaded;
    if (!old)
        return;
    struct vmx_vcpu *x = vmx_of(old);
    if (save_context && !save_guest_context(old))
        partition_kill(old->part, "vcpu%u: the CPU refused to save its extended state",
                       old->index);
    vmcs_clear(x->vmcs_phys);
    vmcs_made_inactive(x);
    c->loaded = NULL;
}

/* Makes v's VMCS current (and its guest context live) on this CPU; false if the CPU
 * refused the guest's extended state, and then the partition must end. */
static bool make_current(struct vcpu *v)
{
    struct vmx_cpu *c = vmx_this_cpu();
    struct vmx_vcpu *x = vmx_of(v);
    if (c->loaded == v)
        return true;
    put_current(true);
    if (!restore_guest_context(v) || !vmcs_load(x->vmcs_phys))
        return false;
    __atomic_store_n(&x->active_cpu, this_cpu()->index + 1, __ATOMIC_RELEASE);
    c->loaded = v;
    if (x->host_cpu != this_cpu()->index + 1) {
        setup_host_state();
        x->host_cpu = this_cpu()->index + 1;
    }
    return true;
}

/* make_current, or v's partition ends saying why. */
static bool load(struct vcpu *v)
{
    if (make_current(v))
        return true;
    partition_kill(v->part, "vcpu%u: the CPU refused its extended state (XCR0 %#lx)",
                   v->index, vmx_of(v)->xcr0);
    return false;
}

/* ---- a paused vCPU's VMCS, for state capture ---------------------------------------- */

static void put_aside_if_loaded(void *arg)
{
    struct vcpu *v = arg;
    if (vmx_this_cpu()->loaded == v)
        put_current(true);
}

/* The CPU that last ran v still holds its VMCS and guest context (switching is lazy):
 * that CPU saves and clears them (an IPI).  Then whatever vCPU is current here is put
 * aside too, and v's VMCS is made current here alone, with interrupts off until
 * vmx_vcpu_release. */
bool vmx_vcpu_acquire(struct vcpu *v, struct vmx_acquired *a)
{
    struct vmx_vcpu *x = vmx_of(v);
    unsigned active = __atomic_load_n(&x->active_cpu, __ATOMIC_ACQUIRE);
    if (active && active - 1 != this_cpu()->index &&
        !ipi_call(active - 1, put_aside_if_loaded, v, VMCLEAR_TIMEOUT_NS))
        return false;
    a->irq_flags = irq_save();
    a->previous = vmx_this_cpu()->loaded;
    put_current(true);
    if (__atomic_load_n(&x->active_cpu, __ATOMIC_ACQUIRE) || !vmcs_load(x->vmcs_phys)) {
        vmx_vcpu_release(v, a);
        return false;
    }
    __atomic_store_n(&x->active_cpu, this_cpu()->index + 1, __ATOMIC_RELEASE);
    return true;
}

/* v's VMCS goes back to memory; the vCPU that was current here before (v itself when
 * its own run loop asked) is current again.  False when the CPU refused that vCPU's
 * extended state: its partition has ended. */
bool vmx_vcpu_release(struct vcpu *v, const struct vmx_acquired *a)
{
    struct vmx_vcpu *x = vmx_of(v);
    if (__atomic_load_n(&x->active_cpu, __ATOMIC_ACQUIRE) == this_cpu()->index + 1) {
        vmcs_clear(x->vmcs_phys);
        vmcs_made_inactive(x);
    }
    bool ok = !a->previous || load(a->previous);
    irq_restore(a->irq_flags);
    return ok;
}

/* ---- running ---------------------------------------------------------------------- */

static uint32_t preemption_ticks(uint64_t ns)
{
    unsigned rate = vmx_this_cpu()->caps.misc & 0x1f;
    uint64_t tsc = ns / 1000 * (tsc_hz() / 1000000);
    uint64_t ticks = tsc >> rate;
    return ticks > 0xffffffffu ? 0xffffffffu : (ticks ? (uint32_t)ticks : 1);
}

static void report_entry_failure(struct vcpu *v, int rc)
{
    uint32_t reason = vmcs_read32(VMCS32_EXIT_REASON);
    if (rc)
        partition_kill(v->part, "vcpu%u: VM entry failed (vm-instruction error %u)", v->index,
                       vmcs_read32(VMCS32_VM_INSTR_ERROR));
    else
        partition_kill(v->part, "vcpu%u: VM entry failed: %s (exit reason %u, qualification %#lx)",
                       v->index, (reason & 0xffff) == 33 ? "invalid guest state" :
                       (reason & 0xffff) == 34 ? "MSR loading" : "machine check",
                       reason & 0xffff, vmcs_readn(VMCSN_EXIT_QUALIFICATION));
}

/* As if paused, everything in memory (for the debug state round trip). */
static void put_aside(void)
{
    put_current(true);
}

enum run_result vtx_vcpu_run(struct vcpu *v, uint64_t slice_ns)
{
    struct vmx_vcpu *x = vmx_of(v);
    uint64_t end = time_ns() + slice_ns;
    enum run_result r;
    if (!load(v))
        return RUN_STOPPED;
    if (v->sipi_pending) {
        struct vcpu_start st = { .mode = START_REAL_MODE, .cs_selector = (uint16_t)(v->sipi_vector << 8) };
        setup_guest_state(v, &st);
        v->sipi_pending = false;
    }
    while (vcpu_run_may_enter(v, &r)) {
        uint64_t now = time_ns();
        partition_run_timers(v->part, now);
        vmx_inject_pending(v);
        if (v->msrs.tsc_offset != x->tsc_offset) {     /* the guest wrote TSC or TSC_ADJUST */
            x->tsc_offset = v->msrs.tsc_offset;
            vmcs_write64(VMCS64_TSC_OFFSET, x->tsc_offset);
        }
        uint64_t until = partition_next_deadline(v->part);
        if (!until || until > end)
            until = end;
        vmcs_write32(VMCS32_PREEMPTION_TIMER, preemption_ticks(until > now ? until - now : 0));
        v->kick = false;
        irq_disable();
        __atomic_store_n(&v->in_guest, true, __ATOMIC_SEQ_CST);
        if (__atomic_exchange_n(&v->flush_ept, false, __ATOMIC_SEQ_CST))
            ept_invalidate_local(&((struct vmx_partition *)v->part->arch)->ept);
        int rc = vmx_enter(v->gpr, x->launched);
        __atomic_store_n(&v->in_guest, false, __ATOMIC_SEQ_CST);
        uint32_t reason = vmcs_read32(VMCS32_EXIT_REASON);
        if (rc || (reason & (1u << 31))) {
            irq_enable();
            report_entry_failure(v, rc);
            return RUN_STOPPED;
        }
        x->launched = true;
        vmx_requeue_idt_vectoring(v);
        __asm__ volatile("sti; nop; cli" ::: "memory");    /* host interrupts run here */
        irq_enable();
        if (!vcpu_run_after_exit(v, vmx_handle_exit(v), end, put_aside, load, &r))
            break;
    }
    return r;
}

void vtx_vcpu_kick(struct vcpu *v)
{
    v->kick = true;
}

bool vtx_map_foreign(struct partition *p, uint64_t gpa, uint64_t hpa, bool writable,
                     enum virt_memtype type)
{
    struct vmx_partition *x = p->arch;
    if (!x)
        return false;
    uint64_t f = spin_lock_irqsave(&x->ept_lock);
    bool ok = ept_map_page(&x->ept, gpa, hpa, writable ? EPT_RWX : EPT_READ | EPT_EXEC,
                           type == VIRT_MEMTYPE_WC);
    spin_unlock_irqrestore(&x->ept_lock, f);
    return ok;
}

void vtx_unmap_foreign(struct partition *p, uint64_t gpa)
{
    struct vmx_partition *x = p->arch;
    if (!x)
        return;
    uint64_t f = spin_lock_irqsave(&x->ept_lock);
    ept_unmap_page(&x->ept, gpa);
    spin_unlock_irqrestore(&x->ept_lock, f);
}

bool vtx_set_ram_writable(struct partition *p, uint64_t gpa, uint64_t len, bool writable)
{
    struct vmx_partition *x = p->arch;
    if (!x || !guest_mem_contains(&p->mem, gpa, len))
        return false;
    uint64_t f = spin_lock_irqsave(&x->ept_lock);
    bool ok = ept_set_permissions(&x->ept, gpa, len, writable ? EPT_RWX : EPT_READ | EPT_EXEC);
    spin_unlock_irqrestore(&x->ept_lock, f);
    return ok;
}

bool vtx_set_ram_present(struct partition *p, uint64_t gpa, uint64_t len, bool present)
{
    struct vmx_partition *x = p->arch;
    if (!x || !guest_mem_contains(&p->mem, gpa, len))
        return false;
    uint64_t f = spin_lock_irqsave(&x->ept_lock);
    bool ok = ept_set_permissions(&x->ept, gpa, len, present ? EPT_RWX : 0);
    spin_unlock_irqrestore(&x->ept_lock, f);
    return ok;
}

