/* Partitions (NPT, I/O and MSR permission maps), VMCBs and the run loop of one vCPU. */
#include <string.h>
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/ipi_call.h"
#include "hv/arch/x86/lapic.h"
#include "hv/arch/x86/percpu.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/partition.h"
#include "hv/core/platform_glue.h"
#include "hv/core/vcpu_run.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"
#include "hv/svm/svm.h"
#include "hv/lib/x86_bits.h"

#define VECTOR_DB 1
#define VECTOR_AC 17
#define VECTOR_MC 18
#define VECTOR_UD 6

/* ---- per partition: NPT, I/O and MSR permission maps --------------------------------- */

/* Two bits per MSR (read, write) in three 2 KiB blocks (APM Vol. 2, 15.11). */
static void msr_passthrough(uint8_t *map, uint32_t msr)
{
    unsigned block;
    if (msr < 0x2000)
        block = 0;
    else if (msr - 0xc0000000u < 0x2000)
        block = 1;
    else
        return;
    unsigned bit = (msr & 0x1fff) * 2;
    map[block * 2048 + bit / 8] &= (uint8_t)~(3u << (bit % 8));
}

bool svm_partition_init(struct partition *p)
{
    struct svm_partition *x = kmalloc(sizeof(*x));
    if (!x)
        return false;
    memset(x, 0, sizeof(*x));
    p->arch = x;
    x->iopm = kmem_alloc_pages(3);
    x->msrpm = kmem_alloc_pages(2);
    if (!x->iopm || !x->msrpm || !npt_build(&x->npt, &p->mem, true))
        return false;
    memset(x->iopm, 0xff, 3 * 4096);
    memset(x->msrpm, 0xff, 2 * 4096);
    /* Those the VMCB holds (VMLOAD/VMSAVE and the state save area), and TSC_AUX. */
    static const uint32_t passthrough[] = {
        MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
        MSR_FMASK, MSR_IA32_PAT, 0x174, 0x175, 0x176, /* SYSENTER_* */
        MSR_TSC_AUX,        /* switched with the vCPU's extended state */
    };
    for (size_t i = 0; i < sizeof(passthrough) / sizeof(passthrough[0]); i++)
        msr_passthrough(x->msrpm, passthrough[i]);
    return true;
}

void svm_partition_destroy(struct partition *p)
{
    struct svm_partition *x = p->arch;
    if (!x)
        return;
    npt_destroy(&x->npt);
    if (x->iopm)
        kmem_free_pages(x->iopm, 3);
    if (x->msrpm)
        kmem_free_pages(x->msrpm, 2);
    kfree(x);
    p->arch = NULL;
}

/* ---- the VMCB ----------------------------------------------------------------------- */

static void setup_controls(struct vcpu *v)
{
    struct svm_vcpu *x = svm_of(v);
    struct svm_partition *xp = v->part->arch;
    struct vmcb_control *c = &x->vmcb->ctl;
    /* CR0 and CR4 writes by the core's rules; CR8 both ways: the TPR is the vLAPIC's. */
    c->intercept_cr = (1u << 8) | (1u << 16) | (1u << 20) | (1u << 24);
    /* #AC and #DB: their delivery can raise them again for ever with no exit otherwise
     * (CVE-2015-5307, CVE-2015-8104); #UD: VMCALL on a guest that uses it. */
    c->intercept_exceptions = (1u << VECTOR_AC) | (1u << VECTOR_MC) | (1u << VECTOR_UD) |
                              (1u << VECTOR_DB);
    /* Every SVM instruction: the guest's EFER.SVME is always set in the VMCB (VMRUN wants
     * it), so without an intercept the CPU would run them for the guest; INVLPGA takes any
     * ASID, another partition's or the host's.  They get #UD, as SVM is not offered. */
    c->intercept_misc1 = INTERCEPT_INTR | INTERCEPT_NMI | INTERCEPT_INIT | INTERCEPT_CPUID |
                         INTERCEPT_HLT | INTERCEPT_IOIO | INTERCEPT_MSR | INTERCEPT_SHUTDOWN |
                         INTERCEPT_INVD | INTERCEPT_RDPMC | INTERCEPT_INVLPGA;
    c->intercept_misc2 = INTERCEPT_VMRUN | INTERCEPT_VMMCALL | INTERCEPT_VMLOAD |
                         INTERCEPT_VMSAVE | INTERCEPT_STGI | INTERCEPT_CLGI | INTERCEPT_SKINIT |
                         INTERCEPT_WBINVD | INTERCEPT_MONITOR | INTERCEPT_MWAIT |
                         INTERCEPT_XSETBV;
    c->iopm_base_pa = virt_to_phys(xp->iopm);
    c->msrpm_base_pa = virt_to_phys(xp->msrpm);
    c->tsc_offset = x->tsc_offset;
    c->tlb_control = TLB_CONTROL_FLUSH_ALL;
    c->int_ctl = V_INTR_MASKING;
    c->np_enable = 1;
    c->n_cr3 = xp->npt.ncr3;
}

static uint16_t attrib(uint32_t ar) { return (uint16_t)((ar & 0xff) | ((ar >> 4) & 0xf00)); }

static void setup_guest_state(struct vcpu *v, const struct vcpu_start *st)
{
    struct vmcb_save *s = &svm_of(v)->vmcb->save;
    struct vmcb_seg code, data;
    switch (st->mode) {
    case START_REAL_MODE:
        code = (struct vmcb_seg){ st->cs_selector, attrib(0x9b), 0xffff, (uint64_t)st->cs_selector << 4 };
        data = (struct vmcb_seg){ 0, attrib(0x93), 0xffff, 0 };
        break;
    case START_PROTECTED_32:
        code = (struct vmcb_seg){ st->code_sel ? st->code_sel : 0x08, attrib(0xc09b), 0xffffffff, 0 };
        data = (struct vmcb_seg){ st->data_sel ? st->data_sel : 0x10, attrib(0xc093), 0xffffffff, 0 };
        break;
    default:
        code = (struct vmcb_seg){ st->code_sel ? st->code_sel : 0x08, attrib(0xa09b), 0xffffffff, 0 };
        data = (struct vmcb_seg){ st->data_sel ? st->data_sel : 0x10, attrib(0xc093), 0xffffffff, 0 };
        break;
    }
    s->cs = code;
    s->es = s->ss = s->ds = s->fs = s->gs = data;
    s->ldtr = (struct vmcb_seg){ 0, attrib(0x82), 0xffff, 0 };
    s->tr = (struct vmcb_seg){ 0, attrib(0x8b), 0xffff, 0 };
    s->gdtr = (struct vmcb_seg){ 0, 0, st->mode == START_REAL_MODE ? 0xffff : st->gdt_limit, st->gdt_base };
    s->idtr = (struct vmcb_seg){ 0, 0, 0xffff, 0 };
    s->cpl = 0;
    uint64_t cr0 = CR0_ET | CR0_NE, cr4 = 0, efer = EFER_SVME;
    if (st->mode != START_REAL_MODE)
        cr0 |= CR0_PE;
    if (st->mode == START_LONG_64) {
        cr0 |= CR0_PG | CR0_WP;
        cr4 |= CR4_PAE;
        efer |= EFER_LME | EFER_LMA;
    }
    s->cr0 = cr0;
    s->cr4 = cr4;
    s->efer = efer;
    s->cr3 = st->cr3;
    s->cr2 = 0;
    s->dr7 = 0x400;
    s->dr6 = 0xffff0ff0;
    s->rsp = st->rsp;
    s->rip = st->rip;
    s->rflags = 0x2;
    s->g_pat = 0x0007040600070406ull;
    s->dbgctl = 0;
    s->star = s->lstar = s->cstar = s->sfmask = s->kernel_gs_base = 0;
    s->sysenter_cs = s->sysenter_esp = s->sysenter_eip = 0;
    svm_of(v)->vmcb->ctl.int_shadow = 0;
    memset(v->gpr, 0, sizeof(v->gpr));
    v->gpr[RAX] = st->rax;
    v->gpr[RBX] = st->rbx;
    v->gpr[RSI] = st->rsi;
    v->gpr[RDI] = st->rdi;
    if (st->mode == START_REAL_MODE)
        v->gpr[RDX] = 0x600;
}

bool svm_vcpu_init(struct vcpu *v, const struct vcpu_start *st)
{
    struct svm_vcpu *x = kmalloc(sizeof(*x));
    if (!x)
        return false;
    memset(x, 0, sizeof(*x));
    v->arch = x;
    x->vmcb = kmem_alloc_pages(1);
    if (!x->vmcb || !svm_xstate_init(x))
        return false;
    memset(x->vmcb, 0, 4096);
    x->vmcb_phys = virt_to_phys(x->vmcb);
    setup_controls(v);
    setup_guest_state(v, st);
    return true;
}

/* On a CPU where v's extended state is still in the registers: it no longer is. */
static void drop_if_loaded(void *arg)
{
    struct svm_cpu *c = svm_this_cpu();
    if (c && c->loaded == arg)
        c->loaded = NULL;
}

#define DROP_TIMEOUT_NS 1000000000ull

void svm_vcpu_destroy(struct vcpu *v)
{
    struct svm_vcpu *x = v->arch;
    if (!x)
        return;
    for (unsigned i = 0; i < cpu_count; i++)
        if (cpus[i] && cpus[i]->virt && ((struct svm_cpu *)cpus[i]->virt)->loaded == v) {
            if (i == this_cpu()->index)
                drop_if_loaded(v);
            else
                ipi_call(i, drop_if_loaded, v, DROP_TIMEOUT_NS);
        }
    if (x->vmcb)
        kmem_free_pages(x->vmcb, 1);
    svm_xstate_free(x);
    kfree(x);
    v->arch = NULL;
}

void svm_vcpu_sipi(struct vcpu *v, uint8_t vector)
{
    v->sipi_vector = vector;
    v->sipi_pending = true;
    v->state = VCPU_RUNNABLE;
}

/* ---- whose extended state, DR0-DR3 and TSC_AUX are in this CPU's registers --------- */

static void save_debug(struct svm_vcpu *x)
{
    x->tsc_aux = rdmsr(MSR_TSC_AUX);
    __asm__ volatile("mov %%db0, %0" : "=r"(x->dr[0]));
    __asm__ volatile("mov %%db1, %0" : "=r"(x->dr[1]));
    __asm__ volatile("mov %%db2, %0" : "=r"(x->dr[2]));
    __asm__ volatile("mov %%db3, %0" : "=r"(x->dr[3]));
}

static void restore_debug(const struct svm_vcpu *x)
{
    wrmsr(MSR_TSC_AUX, x->tsc_aux);
    __asm__ volatile("mov %0, %%db0" : : "r"(x->dr[0]));
    __asm__ volatile("mov %0, %%db1" : : "r"(x->dr[1]));
    __asm__ volatile("mov %0, %%db2" : : "r"(x->dr[2]));
    __asm__ volatile("mov %0, %%db3" : : "r"(x->dr[3]));
}

/* On the CPU whose registers hold v's extended state and DR0-DR3 (an IPI from another):
 * they go to memory, for state capture. */
static void put_aside_if_loaded(void *arg)
{
    struct svm_cpu *c = svm_this_cpu();
    struct vcpu *v = arg;
    if (!c || c->loaded != v)
        return;
    uint64_t f = irq_save();
    save_debug(svm_of(v));
    if (!svm_xstate_save(svm_of(v)))
        partition_kill(v->part, "vcpu%u: the CPU refused to save its extended state", v->index);
    c->loaded = NULL;
    irq_restore(f);
}

bool svm_vcpu_put_aside(struct vcpu *v)
{
    for (unsigned i = 0; i < cpu_count; i++) {
        if (!cpus[i] || !cpus[i]->virt || ((struct svm_cpu *)cpus[i]->virt)->loaded != v)
            continue;
        if (i == this_cpu()->index)
            put_aside_if_loaded(v);
        else if (!ipi_call(i, put_aside_if_loaded, v, DROP_TIMEOUT_NS))
            return false;
    }
    return true;
}

static bool make_current(struct vcpu *v)
{
    struct svm_cpu *c = svm_this_cpu();
    if (c->loaded == v)
        return true;
    uint64_t f = irq_save();
    struct vcpu *old = c->loaded;
    if (old) {
        save_debug(svm_of(old));
        if (!svm_xstate_save(svm_of(old)))
            partition_kill(old->part, "vcpu%u: the CPU refused to save its extended state",
                           old->index);
    }
    c->loaded = NULL;
    restore_debug(svm_of(v));
    bool ok = svm_xstate_restore(svm_of(v));
    if (ok)
        c->loaded = v;
    irq_restore(f);
    return ok;
}

/* ---- running ---------------------------------------------------------------------- */

/*
 * ASIDs are handed out per CPU as vCPUs come to run there, never shared by two vCPUs in
 * one generation: a vCPU that ran elsewhere, or before this CPU started a new generation,
 * gets a fresh one, whose translations this CPU cannot hold.  When the CPU runs out, a new
 * generation starts and that entry flushes every ASID's translations.
 */
static void assign_asid(struct svm_vcpu *x, struct svm_cpu *c)
{
    unsigned cpu = this_cpu()->index + 1;
    if (x->asid_cpu == cpu && x->asid_generation == c->asid_generation && x->asid)
        return;
    if (!c->next_asid || c->next_asid >= c->caps.asids) {
        c->asid_generation++;
        c->next_asid = 1;
        x->vmcb->ctl.tlb_control = TLB_CONTROL_FLUSH_ALL;
    }
    x->asid = c->next_asid++;
    x->asid_cpu = cpu;
    x->asid_generation = c->asid_generation;
    x->vmcb->ctl.asid = x->asid;
}

static inline uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static inline void clgi(void) { __asm__ volatile("clgi" ::: "memory"); }
static inline void stgi(void) { __asm__ volatile("stgi" ::: "memory"); }
static inline void vmsave(uint64_t pa) { __asm__ volatile("vmsave %%rax" : : "a"(pa) : "memory"); }
static inline void vmload(uint64_t pa) { __asm__ volatile("vmload %%rax" : : "a"(pa) : "memory"); }

/* make_current, or v's partition ends saying why. */
static bool load(struct vcpu *v)
{
    if (make_current(v))
        return true;
    partition_kill(v->part, "vcpu%u: the CPU refused its extended state (XCR0 %#lx)",
                   v->index, svm_of(v)->xcr0);
    return false;
}

enum run_result svm_vcpu_run(struct vcpu *v, uint64_t slice_ns)
{
    struct svm_vcpu *x = svm_of(v);
    struct svm_cpu *c = svm_this_cpu();
    struct vmcb *vmcb = x->vmcb;
    uint64_t end = time_ns() + slice_ns;
    enum run_result r;
    if (!load(v))
        return RUN_STOPPED;
    if (v->sipi_pending) {
        struct vcpu_start st = { .mode = START_REAL_MODE, .cs_selector = (uint16_t)(v->sipi_vector << 8) };
        setup_guest_state(v, &st);
        x->event_inj = 0;
        x->nmi_blocked = x->iret_seen = false;
        v->sipi_pending = false;
    }
    assign_asid(x, c);
    while (vcpu_run_may_enter(v, &r)) {
        partition_run_timers(v->part, time_ns());
        v->kick = false;
        /* From here a kick's IPI or the host timer's interrupt stays pending until VMRUN,
         * where it ends the guest's stay at once.  (Taken in the host between the arming
         * and VMRUN, the timer's interrupt was lost: the guest then ran on, past its own
         * timers' deadlines, until something else made it exit.) */
        irq_disable();
        svm_inject_pending(v);
        if (v->msrs.tsc_offset != x->tsc_offset) {
            x->tsc_offset = v->msrs.tsc_offset;
            vmcb->ctl.tsc_offset = x->tsc_offset;
        }
        uint64_t until = partition_next_deadline(v->part);
        if (!until || until > end)
            until = end;
        /* No preemption timer on AMD: the host's LAPIC timer ends the guest's stay.  (Its
         * interrupt may also have been taken in the host since the last entry: it is armed
         * before every entry.) */
        uint64_t now = time_ns();
        lapic_timer_oneshot_ns(until > now ? until - now : 1);
        vmcb->save.rax = v->gpr[RAX];
        uint64_t injected = vmcb->ctl.event_inj;   /* (a CPU's #VMEXIT clears it) */
        clgi();
        __atomic_store_n(&v->in_guest, true, __ATOMIC_SEQ_CST);
        if (__atomic_exchange_n(&v->flush_ept, false, __ATOMIC_SEQ_CST))
            vmcb->ctl.tlb_control = c->caps.flush_by_asid ? TLB_CONTROL_FLUSH_ASID
                                                          : TLB_CONTROL_FLUSH_ALL;
        vmsave(c->host_vmcb_phys);
        __asm__ volatile("sti" ::: "memory");   /* held off by GIF; physical ones exit */
        svm_enter(v->gpr, x->vmcb_phys);
        vmload(c->host_vmcb_phys);
        __asm__ volatile("cli" ::: "memory");
        stgi();
        __atomic_store_n(&v->in_guest, false, __ATOMIC_SEQ_CST);
        vmcb->ctl.tlb_control = TLB_CONTROL_NOTHING;
        v->gpr[RAX] = vmcb->save.rax;
        vmcb->ctl.event_inj = 0;
        /* XCR0 is not switched by VMRUN: where XSETBV is not intercepted after all (QEMU's
         * TCG runs it in the guest), the guest's value is the register's. */
        if (c->xs.xcr0_offered)
            x->xcr0 = xgetbv0();
        if ((uint32_t)vmcb->ctl.exit_code == (uint32_t)SVM_EXIT_INVALID) {
            irq_enable();
            /* Every field QEMU's helper_vmrun checks, and the event it was to inject. */
            partition_kill(v->part, "vcpu%u: VMRUN refused the guest state (rip %#lx, cr0 %#lx, "
                           "cr3 %#lx, cr4 %#lx, efer %#lx, cs attrib %#x, dr6 %#lx, dr7 %#lx, "
                           "event_inj %#lx, exit_int_info %#lx, int_ctl %#lx, asid %u)",
                           v->index, vmcb->save.rip, vmcb->save.cr0, vmcb->save.cr3,
                           vmcb->save.cr4, vmcb->save.efer, vmcb->save.cs.attrib,
                           vmcb->save.dr6, vmcb->save.dr7, injected, vmcb->ctl.exit_int_info,
                           vmcb->ctl.int_ctl, vmcb->ctl.asid);
            return RUN_STOPPED;
        }
        svm_requeue_interrupted(v);
        __asm__ volatile("sti; nop; cli" ::: "memory");    /* host interrupts and NMIs run here */
        irq_enable();
        if (!vcpu_run_after_exit(v, svm_handle_exit(v), end, NULL, load, &r))
            break;
    }
    return r;
}

void svm_vcpu_kick(struct vcpu *v)
{
    v->kick = true;
}


void svm_get_paging(struct vcpu *v, struct guest_paging *pg)
{
    const struct vmcb_save *s = &svm_of(v)->vmcb->save;
    pg->cr0 = s->cr0;
    pg->cr3 = s->cr3;
    pg->cr4 = s->cr4;
    pg->efer = s->efer & ~EFER_SVME;
    pg->cs_base = s->cs.base;
    pg->cs_long = (s->efer & EFER_LMA) && (s->cs.attrib & (1u << 9));
    pg->cs_32 = s->cs.attrib & (1u << 10);
    pg->cpl = s->cpl;
}

/* ---- NPT changes ---------------------------------------------------------------------- */

/* The type is not applied: a write-back NPT entry defers to the host's MTRRs, which make a
 * framebuffer in the PCI hole uncacheable (WC would need a host PAT entry for it). */
bool svm_map_foreign(struct partition *p, uint64_t gpa, uint64_t hpa, bool writable,
                     enum virt_memtype type)
{
    (void)type;
    struct svm_partition *x = p->arch;
    if (!x)
        return false;
    uint64_t f = spin_lock_irqsave(&x->npt_lock);
    bool ok = npt_map_page(&x->npt, gpa, hpa, writable ? NPT_ALL : NPT_READ);
    spin_unlock_irqrestore(&x->npt_lock, f);
    return ok;
}

void svm_unmap_foreign(struct partition *p, uint64_t gpa)
{
    struct svm_partition *x = p->arch;
    if (!x)
        return;
    uint64_t f = spin_lock_irqsave(&x->npt_lock);
    npt_unmap_page(&x->npt, gpa);
    spin_unlock_irqrestore(&x->npt_lock, f);
}

bool svm_set_ram_writable(struct partition *p, uint64_t gpa, uint64_t len, bool writable)
{
    struct svm_partition *x = p->arch;
    if (!x || !guest_mem_contains(&p->mem, gpa, len))
        return false;
    uint64_t f = spin_lock_irqsave(&x->npt_lock);
    bool ok = npt_set_permissions(&x->npt, gpa, len, writable ? NPT_ALL : NPT_READ);
    spin_unlock_irqrestore(&x->npt_lock, f);
    return ok;
}

bool svm_set_ram_present(struct partition *p, uint64_t gpa, uint64_t len, bool present)
{
    struct svm_partition *x = p->arch;
    if (!x || !guest_mem_contains(&p->mem, gpa, len))
        return false;
    uint64_t f = spin_lock_irqsave(&x->npt_lock);
    bool ok = npt_set_permissions(&x->npt, gpa, len, present ? NPT_ALL : 0);
    spin_unlock_irqrestore(&x->npt_lock, f);
    return ok;
}

