/*
 * The architectural state of one vCPU that a guest can observe, vendor-neutral: what a
 * checkpoint, a RAM snapshot or a live migration carries for each vCPU
 * (virt_vcpu_save / virt_vcpu_restore in hv/core/virt.h).  The local APIC, its timer
 * (IA32_TSC_DEADLINE included: it is the LAPIC model's, hv/vdev/lapic.c) and the other
 * device models carry their own state.  What the hypervisor itself recomputes before
 * every entry (the VMX-preemption timer, interrupt- and NMI-window exiting, host state)
 * is not guest state and is not carried.  Portable.
 */
#ifndef ATOLL_HV_CORE_VCPU_STATE_H
#define ATOLL_HV_CORE_VCPU_STATE_H
#include <stdbool.h>
#include <stdint.h>

#define VCPU_STATE_XSAVE_MAX 12288      /* bytes of XSAVE area carried (AMX fits) */

#define VSEG_ATTR_TYPE      0xfu
#define VSEG_ATTR_S         (1u << 4)
#define VSEG_ATTR_DPL       (3u << 5)
#define VSEG_ATTR_P         (1u << 7)
#define VSEG_ATTR_AVL       (1u << 12)
#define VSEG_ATTR_L         (1u << 13)
#define VSEG_ATTR_DB        (1u << 14)
#define VSEG_ATTR_G         (1u << 15)
#define VSEG_ATTR_UNUSABLE  (1u << 16)
#define VSEG_ATTR_USABLE_BITS 0xf0ffu   /* of a usable segment; anything else is refused */

struct vcpu_segment {
    uint16_t selector;
    uint32_t limit;
    /* Access rights as in a descriptor, at the bit positions of VMX's access-rights field:
     * type (0-3), S (4), DPL (5-6), P (7), AVL (12), L (13), D/B (14), G (15), and bit 16
     * set for an unusable segment (a null selector loaded), which keeps only its DPL. */
    uint32_t attributes;
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
    uint32_t error;         /* bits 15:0 only */
    uint32_t instr_len;     /* for software interrupts and exceptions (types 4-6): 1-15 */
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
    uint64_t xcr0;
    /* bytes used in xsave[]: a standard-format XSAVE image of every component the
     * hypervisor offers (XSTATE_BV may name components outside xcr0, PKRU for one), or
     * a 512-byte FXSAVE image on a CPU without XSAVE */
    uint32_t xsave_size;
    uint8_t xsave[VCPU_STATE_XSAVE_MAX] __attribute__((aligned(64)));
    struct vcpu_event event;
    uint32_t interruptibility;          /* bit 0 STI, 1 MOV SS, 3 NMI blocked */
    /* single-step and breakpoint conditions pending: B0-B3 (bits 0-3), enabled breakpoint
     * (12), BS (14), RTM (16), as in DR6 */
    uint64_t pending_debug;
    enum vcpu_run_state run_state;
    bool halted_irqs_off;               /* halted by HLT with RFLAGS.IF clear */
    bool sipi_pending;                  /* a SIPI arrived: the vCPU starts at sipi_vector << 12 */
    uint8_t sipi_vector;
    /* The MSRs the hypervisor's MSR policy keeps (struct vcpu_msrs, msr_policy.c), each as
     * RDMSR of it reads; a restore sets each as the guest's own WRMSR would, so a value the
     * partition's CPUID view does not allow is refused.  Since version 2. */
    uint64_t misc_enable;               /* the writable bits only (the others follow CPUID) */
    uint64_t spec_ctrl;
    uint64_t mtrr_def_type;
    uint64_t mtrr_fixed[11];            /* 0x250, 0x258, 0x259, 0x268-0x26f */
    uint64_t tsc_adjust;                /* IA32_TSC_ADJUST; tsc_offset already includes it */
    /* PAE paging (CR0.PG, CR4.PAE, not long mode): the four PDPTEs the CPU loaded at the
     * last MOV to CR3, which a guest sees until it reloads CR3; zero in other modes.
     * Since version 2. */
    uint64_t pdpte[4];
};

#endif
