/* A virtual CPU, vendor-neutral.  hv/vmx or hv/svm keeps its own state
 * behind `arch`. */
#ifndef ATOLL_HV_CORE_VCPU_H
#define ATOLL_HV_CORE_VCPU_H
#include <stdbool.h>
#include <stdint.h>

struct partition;
struct vcpu_roundtrip;

/* General registers by x86 encoding number; [4] (RSP) lives in the VMCS between exits. */
enum gpr { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

enum vcpu_sched_state {
    VCPU_WAIT_SIPI,         /* an AP before its partition's BSP starts it */
    VCPU_RUNNABLE,
    VCPU_HALTED,            /* HLT: sleeps until an interrupt is pending */
    VCPU_STOPPED,           /* its partition ended */
    VCPU_PARKED,            /* waits for the hypervisor (a lazily restored block of RAM):
                             * picked by no CPU until whoever parked it makes it runnable */
};

/* Vendor-neutral exit kinds, counted per vCPU. */
enum exit_kind {
    EXIT_CPUID, EXIT_IO, EXIT_MSR, EXIT_EPT, EXIT_MMIO, EXIT_HLT, EXIT_HYPERCALL, EXIT_CR,
    EXIT_XSETBV, EXIT_EXTINT, EXIT_INTR_WINDOW, EXIT_PREEMPT, EXIT_EXCEPTION, EXIT_INIT_SIPI,
    EXIT_TRIPLE_FAULT, EXIT_OTHER, EXIT_KIND_COUNT,
};

/* MSR values a guest sets and reads back (msr_policy.c); all zero until its first MSR exit. */
struct vcpu_msrs {
    bool reset_done;
    uint64_t misc_enable, spec_ctrl, mtrr_def_type, mtrr_fixed[11];
    /* The guest's TSC is the host's plus tsc_offset (the VMCS TSC offset); a write to
     * IA32_TSC or IA32_TSC_ADJUST moves both by the same amount (SDM 18.17.3). */
    uint64_t tsc_offset, tsc_adjust;
};

struct vcpu {
    struct partition *part;
    unsigned index;                 /* within the partition; also its APIC id */
    unsigned pcpu;                  /* physical CPU it runs on */
    uint64_t gpr[16];
    volatile enum vcpu_sched_state state;
    uint8_t sipi_vector;
    volatile bool sipi_pending;     /* enter real mode at sipi_vector << 12 */
    volatile bool kick;             /* something changed: re-evaluate before entry */
    volatile bool flush_ept;        /* drop cached guest-physical translations before entry */
    volatile bool in_guest;         /* between the flush check and the VM exit */
    bool halted_irqs_off;           /* HLT with RFLAGS.IF clear: only NMI or INIT wakes it */
    void *arch;                     /* the backend's own state for this vCPU */
    uint64_t exits[EXIT_KIND_COUNT];
    uint64_t exits_total;
    uint64_t slice_ns;
    struct vcpu_msrs msrs;
    unsigned exits_since_roundtrip; /* manifest vcpu-state-roundtrip (vcpu_state_roundtrip.c) */
    uint64_t roundtrips;
    struct vcpu_roundtrip *roundtrip;   /* its buffers, from the first one on */
};

static inline void vcpu_count_exit(struct vcpu *v, enum exit_kind k)
{
    v->exits[k]++;
    v->exits_total++;
}

const char *exit_kind_name(enum exit_kind k);

#endif
