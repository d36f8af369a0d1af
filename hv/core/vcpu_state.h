/*
 * The architectural state of one vCPU that a guest can observe, vendor-neutral: what a
 * checkpoint, a RAM snapshot or a live migration carries for each vCPU
 * (virt_vcpu_save / virt_vcpu_restore in hv/core/virt.h).  The local APIC, its timer and
 * the other device models carry their own state.  Portable.
 */
#ifndef ATOLL_HV_CORE_VCPU_STATE_H
#define ATOLL_HV_CORE_VCPU_STATE_H
#include <stdbool.h>
#include <stdint.h>

#define VCPU_STATE_XSAVE_MAX 12288      /* bytes of XSAVE area carried (AMX fits) */

struct vcpu_segment {
    uint16_t selector;
    uint32_t limit;
    uint32_t attributes;    /* access rights as in a descriptor: type, S, DPL, P, AVL, L, D/B, G, unusable (bit 16) */
    uint64_t base;
};

enum vcpu_seg { VSEG_ES, VSEG_CS, VSEG_SS, VSEG_DS, VSEG_FS, VSEG_GS, VSEG_LDTR, VSEG_TR,
                VSEG_COUNT };

/* An event the vCPU had accepted but not yet delivered (an injection in flight). */
struct vcpu_event {
    bool valid;
    uint8_t vector;
    uint8_t type;           /* 0 external interrupt, 2 NMI, 3 hardware exception, 4 software
                             * interrupt, 5 privileged software exception, 6 software exception */
    bool has_error;
    uint32_t error;
    uint32_t instr_len;     /* for software interrupts and exceptions */
};

enum vcpu_run_state { VCPU_RS_RUNNING, VCPU_RS_HALTED, VCPU_RS_WAIT_SIPI };

struct vcpu_state {
    uint64_t gpr[16];       /* by encoding number; [4] is RSP */
    uint64_t rip, rflags;
    struct vcpu_segment seg[VSEG_COUNT];
    uint64_t gdtr_base, idtr_base;
    uint32_t gdtr_limit, idtr_limit;
    uint64_t cr0, cr2, cr3, cr4;        /* as the guest sees them (CR0/CR4 shadows) */
    uint64_t dr[4], dr6, dr7;
    uint64_t efer, pat, debugctl;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t star, lstar, cstar, fmask, kernel_gs_base, tsc_aux;
    uint64_t tsc_offset;                /* guest TSC = host TSC + tsc_offset */
    uint64_t tsc_deadline;              /* IA32_TSC_DEADLINE, 0: disarmed */
    uint64_t xcr0;
    uint32_t xsave_size;                /* bytes used in xsave[] */
    uint8_t xsave[VCPU_STATE_XSAVE_MAX] __attribute__((aligned(64)));
    struct vcpu_event event;
    uint32_t interruptibility;          /* bit 0 STI, 1 MOV SS, 3 NMI blocked */
    uint64_t pending_debug;             /* single-step and breakpoint conditions pending */
    enum vcpu_run_state run_state;
    bool halted_irqs_off;
    bool sipi_pending;
    uint8_t sipi_vector;
};

#endif
