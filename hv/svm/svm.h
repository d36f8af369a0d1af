/* AMD SVM backend internals shared by the files of hv/svm. */
#ifndef ATOLL_HV_SVM_SVM_H
#define ATOLL_HV_SVM_SVM_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/arch/x86/spinlock.h"
#include "hv/core/exit/exit_apply.h"
#include "hv/core/exit/mmio.h"
#include "hv/core/guest_walk.h"
#include "hv/core/guest_xstate.h"
#include "hv/core/vcpu.h"
#include "hv/core/virt.h"
#include "hv/svm/npt.h"
#include "hv/svm/svm_caps.h"
#include "hv/svm/svm_insn.h"
#include "hv/svm/vmcb.h"

struct svm_cpu {
    struct svm_caps caps;
    void *hsave;                    /* VM_HSAVE_PA: where VMRUN keeps the host's state */
    void *host_vmcb;                /* VMSAVE/VMLOAD of the host's FS, GS, TR, syscall MSRs */
    uint64_t hsave_phys, host_vmcb_phys;
    struct vcpu *loaded;            /* whose extended state and DR0-3 are in the registers */
    uint32_t next_asid;             /* the next ASID to hand out in this generation */
    uint64_t asid_generation;       /* a new one flushes every ASID's translations here */
    struct guest_xstate_cpu xs;     /* the extended state guests may have here */
};

struct svm_partition {
    struct npt npt;
    spinlock_t npt_lock;
    uint8_t *iopm;                  /* 3 pages, one bit per port */
    uint8_t *msrpm;                 /* 2 pages, a read and a write bit per MSR */
};

struct svm_vcpu {
    struct vmcb *vmcb;
    uint64_t vmcb_phys;
    uint32_t asid;                  /* on asid_cpu, valid in its asid_generation */
    unsigned asid_cpu;              /* 1 + the CPU that handed it out */
    uint64_t asid_generation;
    uint64_t event_inj;             /* the event for the next entry, 0 if none */
    bool virq;                      /* this entry offers virq_vector (taken) by V_IRQ */
    uint8_t virq_vector;
    bool nmi_blocked;               /* an NMI was injected and its IRET not yet completed */
    bool iret_seen;                 /* the IRET exited: blocking ends once RIP moves on */
    uint64_t iret_rip;
    uint8_t *xsave_area;
    uint32_t xsave_size;
    uint64_t xcr0;
    uint64_t dr[4];
    uint64_t tsc_aux;               /* IA32_TSC_AUX: neither VMRUN nor VMSAVE switches it */
    uint64_t tsc_deadline;
    uint64_t tsc_offset;            /* what the VMCB holds */
};

static inline struct svm_vcpu *svm_of(struct vcpu *v) { return v->arch; }
struct svm_cpu *svm_this_cpu(void);

/* svm_vcpu.c: v's extended state and DR0-DR3 are in memory, on no CPU's registers (v is
 * paused); false when the CPU holding them did not answer. */
bool svm_vcpu_put_aside(struct vcpu *v);

/* The CR4 bits a guest may set: those this CPU implements. */
uint64_t svm_cr4_offered(void);

/* svm_entry.S: VMLOAD, VMRUN, VMSAVE of the guest's VMCB with gpr[] in the registers
 * (RAX and RSP live in the VMCB). */
void svm_enter(uint64_t *gpr, uint64_t vmcb_phys);

/* svm_exit.c */
enum exit_action svm_handle_exit(struct vcpu *v);

/* svm_event.c */
void svm_queue_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error);
/* RIP moves len bytes past the instruction (wrapping as the code segment says), the
 * interrupt shadow ends, and a single-stepping guest gets its #DB trap. */
void svm_complete_instruction(struct vcpu *v, uint32_t len);
/* A fault of hv/core/guest_walk.h's (#PF with CR2 = linear, or #GP), with its error code. */
void svm_queue_fault(struct vcpu *v, uint8_t vector, uint32_t error, uint64_t linear);
/* After an exit: an event whose delivery the exit interrupted is delivered again; an
 * interrupt offered by V_IRQ and not taken goes back to its controller. */
void svm_requeue_interrupted(struct vcpu *v);
void svm_untake_requeued(struct vcpu *v);
void svm_inject_pending(struct vcpu *v);

/* svm_decode.c: the bytes at the guest's CS:RIP, read once (as the guest fetches them, its
 * access rights checked), up to the first it may not fetch or that is not in its RAM. */
struct svm_fetch {
    uint8_t bytes[SVM_INSN_MAX];
    unsigned got;
    enum mmio_cpu_mode mode;
    bool faulted;                   /* the guest's page tables refuse byte `got`: */
    uint64_t fault_linear;          /* there, */
    struct guest_fault fault;       /* with this fault */
};
void svm_fetch_instruction(struct vcpu *v, struct svm_fetch *f);
/* Bytes that are not the instruction the exit reports: where the guest's page tables stop
 * them, it takes the fault the CPU's fetch raises (#PF with CR2 and the fetch's error code);
 * where they are another instruction (rewritten, or remapped under a stale translation,
 * since the CPU ran them), #UD; where they run out of its RAM, the partition ends. */
void svm_refuse_instruction(struct vcpu *v, const struct svm_fetch *f, enum svm_decoded r);
/* The length of the instruction at CS:RIP, which the exit says is `want`: next RIP where the
 * CPU reports it, else from its bytes; 0 when they were refused (svm_refuse_instruction). */
unsigned svm_instruction_length(struct vcpu *v, enum svm_insn want);

/* svm_xstate.c */
void svm_xstate_probe(struct svm_cpu *c);
bool svm_xstate_init(struct svm_vcpu *x);
void svm_xstate_free(struct svm_vcpu *x);
bool svm_xstate_save(struct svm_vcpu *x);
bool svm_xstate_restore(struct svm_vcpu *x);
bool svm_xstate_set_xcr0(struct svm_vcpu *x, uint64_t value);

/* hv/core/virt.h as this backend implements it (svm_backend.c). */
bool svm_cpu_probe(unsigned cpu);
bool svm_report(unsigned count);
bool svm_cpu_enable(void);
bool svm_partition_init(struct partition *p);
void svm_partition_destroy(struct partition *p);
bool svm_vcpu_init(struct vcpu *v, const struct vcpu_start *start);
void svm_vcpu_destroy(struct vcpu *v);
void svm_vcpu_sipi(struct vcpu *v, uint8_t vector);
enum run_result svm_vcpu_run(struct vcpu *v, uint64_t slice_ns);
void svm_get_paging(struct vcpu *v, struct guest_paging *pg);
bool svm_map_foreign(struct partition *p, uint64_t gpa, uint64_t hpa, bool writable,
                     enum virt_memtype type);
void svm_unmap_foreign(struct partition *p, uint64_t gpa);
bool svm_set_ram_writable(struct partition *p, uint64_t gpa, uint64_t len, bool writable);
bool svm_set_ram_present(struct partition *p, uint64_t gpa, uint64_t len, bool present);
bool svm_vcpu_save(struct vcpu *v, struct vcpu_state *s);
bool svm_vcpu_restore(struct vcpu *v, const struct vcpu_state *s, char *err, unsigned err_size);
bool svm_vcpu_scrub(struct vcpu *v);
void svm_vcpu_kick(struct vcpu *v);

#endif
