/* VT-x backend internals shared by the files of hv/vmx. */
#ifndef ATOLL_HV_VMX_VMX_H
#define ATOLL_HV_VMX_VMX_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/arch/x86/spinlock.h"
#include "hv/core/exit/exit_apply.h"
#include "hv/core/exit/exit_cr.h"
#include "hv/core/guest_xstate.h"
#include "hv/core/vcpu.h"
#include "hv/core/virt.h"
#include "hv/vmx/ept.h"
#include "hv/vmx/vmx_caps.h"

/* A VMCS is active on at most one CPU, and there only while it is that CPU's current one
 * (`loaded`): a vCPU that gives up its CPU has its VMCS cleared (VMCLEAR), so no CPU
 * holds cached VMCS data for a vCPU it is not running. */
struct vmx_cpu {
    struct vmx_caps caps;
    void *vmxon_region;
    struct vcpu *loaded;            /* whose VMCS is current (and active) on this CPU */
    struct guest_xstate_cpu xs;     /* the extended state guests may have here */
};

struct vmx_partition {
    struct ept ept;
    spinlock_t ept_lock;            /* changes to the EPT from several CPUs at once */
    uint8_t *io_bitmaps;            /* 2 pages: ports 0-0x7fff, 0x8000-0xffff */
    uint8_t *msr_bitmap;            /* 1 page */
};

struct vmx_vcpu {
    void *vmcs;
    uint64_t vmcs_phys;
    bool launched;
    uint16_t vpid;
    uint32_t entry_intr_info;       /* event to inject at the next entry, 0 if none */
    uint32_t entry_intr_error;
    uint32_t entry_instr_len;
    uint32_t proc_controls;         /* what VMCS32_PROC_CONTROLS holds */
    uint64_t cr0_shadow, cr4_shadow;
    uint8_t *xsave_area;            /* its extended state while another vCPU runs here */
    uint32_t xsave_size;
    uint64_t msr_star, msr_lstar, msr_cstar, msr_fmask, msr_kernel_gs, msr_tsc_aux;
    uint64_t cr2, dr[4], dr6;       /* no VMCS field holds them: switched with the vCPU */
    uint64_t xcr0;
    uint64_t tsc_deadline;
    uint64_t tsc_offset;            /* what VMCS64_TSC_OFFSET holds */
    unsigned host_cpu;              /* 1 + index of the CPU whose host state is in the VMCS */
    volatile unsigned active_cpu;   /* 1 + index of the CPU where the VMCS is active, or 0 */
};

static inline struct vmx_vcpu *vmx_of(struct vcpu *v) { return v->arch; }
struct vmx_cpu *vmx_this_cpu(void);

/* vmx_entry.S: enters the guest with gpr[]; returns 0 after a VM exit, 1 if the entry
 * instruction itself failed (VM-instruction error in the VMCS). */
int vmx_enter(uint64_t *gpr, int launched);
extern char vmx_exit_point[];

/* vmx_exit.c */
enum exit_action vmx_handle_exit(struct vcpu *v);

/* vmx_event.c */
/* Queues a hardware exception for the next entry; a fault-class one sets RFLAGS.RF, as the
 * CPU does in the RFLAGS a fault pushes. */
void vmx_queue_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error);
/* The one way an emulated instruction completes: RIP moves len bytes (wrapping at the code
 * segment's size outside 64-bit mode), STI and MOV SS blocking end, RFLAGS.RF clears, and
 * a guest that single-steps (RFLAGS.TF) gets its #DB trap after it.  len 0: a REP string
 * instruction stopped between iterations (RF kept). */
void vmx_complete_instruction(struct vcpu *v, uint32_t len);
/* A #PF for a guest-linear address its page tables do not map (error code: not present,
 * the access's direction, user mode when CPL is 3), CR2 loaded with the address. */
/* A fault of hv/core/guest_walk.h's (#PF with CR2 = linear, or #GP), with its error code. */
void vmx_queue_fault(struct vcpu *v, uint8_t vector, uint32_t error, uint64_t linear);
/* vmx_complete_instruction for the exiting instruction (VM-exit instruction length). */
void vmx_skip_instruction(void);
void vmx_requeue_idt_vectoring(struct vcpu *v);
/* DR6 and DR7.GD as the delivery of the #DB that exited (exit qualification QUAL) sets them. */
void vmx_debug_exit_state(uint64_t qual);
/* v waits (parked) before its next entry: an external interrupt re-queued from its LAPIC
 * goes back there, pending, and is taken when v is entered again. */
void vmx_untake_requeued(struct vcpu *v);
void vmx_inject_pending(struct vcpu *v);

/* vmx_xstate.c: extended state and XCR0 (false: the CPU refused the guest's state) */
void vmx_xstate_probe(struct vmx_cpu *c);
bool vmx_xstate_init(struct vmx_vcpu *x);
void vmx_xstate_free(struct vmx_vcpu *x);
bool vmx_xstate_save(struct vmx_vcpu *x);
bool vmx_xstate_restore(struct vmx_vcpu *x);
bool vmx_xstate_set_xcr0(struct vmx_vcpu *x, uint64_t value);

/* vmx_vcpu.c: a paused vCPU's VMCS made current on this CPU, for state capture */
struct vmx_acquired {
    uint64_t irq_flags;
    struct vcpu *previous;          /* current here before, current again after */
};
bool vmx_vcpu_acquire(struct vcpu *v, struct vmx_acquired *a);
bool vmx_vcpu_release(struct vcpu *v, const struct vmx_acquired *a);


/* vmx_guest_state.c */
uint32_t vmx_adjust_controls(uint64_t cap_msr, uint32_t want);
/* Loads the GUEST_CTL_* parts of ctl, values the rules of hv/core/exit/exit_cr.h accepted. */
bool vmx_load_guest_ctl(struct vcpu *v, unsigned which, const struct guest_ctl *ctl);
/* The guest's CR0, CR4 and EFER as it reads them. */
struct guest_ctl vmx_guest_ctl(void);
/* The CR4 bits a guest may set: what VMX operation allows, less CR4.VMXE. */
uint64_t vmx_cr4_offered(void);
/* The rules, then vmx_load_guest_ctl (false: the rules refuse, or a VMWRITE failed). */
bool vmx_set_guest_cr0(struct vcpu *v, uint64_t value);
bool vmx_set_guest_cr4(struct vcpu *v, uint64_t value);

/* hv/core/virt.h as this backend implements it (vmx_backend.c lists them for hv/core/virt.c). */
bool vtx_cpu_probe(unsigned cpu);
bool vtx_report(unsigned count);
bool vtx_cpu_enable(void);
bool vtx_partition_init(struct partition *p);
void vtx_partition_destroy(struct partition *p);
bool vtx_vcpu_init(struct vcpu *v, const struct vcpu_start *start);
void vtx_vcpu_destroy(struct vcpu *v);
void vtx_vcpu_sipi(struct vcpu *v, uint8_t vector);
enum run_result vtx_vcpu_run(struct vcpu *v, uint64_t slice_ns);
void vtx_get_paging(struct vcpu *v, struct guest_paging *pg);
bool vtx_map_foreign(struct partition *p, uint64_t gpa, uint64_t hpa, bool writable,
                     enum virt_memtype type);
void vtx_unmap_foreign(struct partition *p, uint64_t gpa);
bool vtx_set_ram_writable(struct partition *p, uint64_t gpa, uint64_t len, bool writable);
bool vtx_set_ram_present(struct partition *p, uint64_t gpa, uint64_t len, bool present);
bool vtx_vcpu_save(struct vcpu *v, struct vcpu_state *s);
bool vtx_vcpu_restore(struct vcpu *v, const struct vcpu_state *s, char *err, unsigned err_size);
bool vtx_vcpu_scrub(struct vcpu *v);
void vtx_vcpu_kick(struct vcpu *v);

#endif
