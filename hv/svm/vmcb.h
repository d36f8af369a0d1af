/* The virtual machine control block (AMD APM Vol. 2, Appendix B): control area, then the
 * guest's state save area at offset 0x400. */
#ifndef ATOLL_HV_SVM_VMCB_H
#define ATOLL_HV_SVM_VMCB_H
#include <stdint.h>

struct vmcb_seg {
    uint16_t sel;
    uint16_t attrib;            /* access byte in 7:0, AVL L D/B G in 11:8 */
    uint32_t limit;
    uint64_t base;
} __attribute__((packed));

struct vmcb_control {
    uint32_t intercept_cr;      /* reads 15:0, writes 31:16 */
    uint32_t intercept_dr;
    uint32_t intercept_exceptions;
    uint32_t intercept_misc1;
    uint32_t intercept_misc2;
    uint32_t intercept_misc3;
    uint8_t reserved0[0x3c - 0x18];
    uint16_t pause_filter_threshold;
    uint16_t pause_filter_count;
    uint64_t iopm_base_pa;
    uint64_t msrpm_base_pa;
    uint64_t tsc_offset;
    uint32_t asid;
    uint8_t tlb_control;
    uint8_t reserved1[3];
    uint64_t int_ctl;           /* V_TPR, V_IRQ, V_INTR_PRIO, V_IGN_TPR, V_INTR_MASKING */
    uint64_t int_shadow;        /* bit 0: interrupt shadow (STI, MOV SS) */
    uint64_t exit_code;
    uint64_t exit_info1;
    uint64_t exit_info2;
    uint64_t exit_int_info;
    uint64_t np_enable;
    uint8_t reserved2[0xa8 - 0x98];
    uint64_t event_inj;
    uint64_t n_cr3;
    uint64_t lbr_virt;
    uint32_t clean;
    uint32_t reserved3;
    uint64_t next_rip;
    uint8_t insn_len;
    uint8_t insn_bytes[15];
    uint8_t reserved4[0x400 - 0xe0];
} __attribute__((packed));

struct vmcb_save {
    struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr;
    uint8_t reserved0[0xcb - 0xa0];
    uint8_t cpl;
    uint32_t reserved1;
    uint64_t efer;
    uint8_t reserved2[0x148 - 0xd8];
    uint64_t cr4, cr3, cr0, dr7, dr6, rflags, rip;
    uint8_t reserved3[0x1d8 - 0x180];
    uint64_t rsp;
    uint8_t reserved4[0x1f8 - 0x1e0];
    uint64_t rax;
    uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t cr2;
    uint8_t reserved5[0x268 - 0x248];
    uint64_t g_pat;
    uint64_t dbgctl;
} __attribute__((packed));

struct vmcb {
    struct vmcb_control ctl;
    struct vmcb_save save;
} __attribute__((packed));

_Static_assert(__builtin_offsetof(struct vmcb_control, iopm_base_pa) == 0x40, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb_control, int_ctl) == 0x60, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb_control, event_inj) == 0xa8, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb_control, next_rip) == 0xc8, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb, save) == 0x400, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb_save, efer) == 0xd0, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb_save, cr4) == 0x148, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb_save, rip) == 0x178, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb_save, rsp) == 0x1d8, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb_save, rax) == 0x1f8, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb_save, cr2) == 0x240, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb_save, g_pat) == 0x268, "vmcb");

/* intercept_misc1 */
#define INTERCEPT_INTR          (1u << 0)
#define INTERCEPT_NMI           (1u << 1)
#define INTERCEPT_INIT          (1u << 3)
#define INTERCEPT_VINTR         (1u << 4)
#define INTERCEPT_RDPMC         (1u << 15)
#define INTERCEPT_CPUID         (1u << 18)
#define INTERCEPT_IRET          (1u << 20)
#define INTERCEPT_INVD          (1u << 22)
#define INTERCEPT_HLT           (1u << 24)
#define INTERCEPT_INVLPGA       (1u << 26)
#define INTERCEPT_IOIO          (1u << 27)
#define INTERCEPT_MSR           (1u << 28)
#define INTERCEPT_SHUTDOWN      (1u << 31)
/* intercept_misc2 */
#define INTERCEPT_VMRUN         (1u << 0)
#define INTERCEPT_VMMCALL       (1u << 1)
#define INTERCEPT_VMLOAD        (1u << 2)
#define INTERCEPT_VMSAVE        (1u << 3)
#define INTERCEPT_STGI          (1u << 4)
#define INTERCEPT_CLGI          (1u << 5)
#define INTERCEPT_SKINIT        (1u << 6)
#define INTERCEPT_WBINVD        (1u << 9)
#define INTERCEPT_MONITOR       (1u << 10)
#define INTERCEPT_MWAIT         (1u << 11)
#define INTERCEPT_XSETBV        (1u << 13)

/* int_ctl */
#define V_TPR_MASK              0xffull
#define V_IRQ                   (1ull << 8)
#define V_INTR_PRIO_SHIFT       16
#define V_IGN_TPR               (1ull << 20)
#define V_INTR_MASKING          (1ull << 24)
#define V_INTR_VECTOR_SHIFT     32

/* event_inj and exit_int_info */
#define EVENT_VALID             (1ull << 31)
#define EVENT_ERROR_VALID       (1ull << 11)
#define EVENT_TYPE_MASK         (7ull << 8)
#define EVENT_TYPE_INTR         (0ull << 8)
#define EVENT_TYPE_NMI          (2ull << 8)
#define EVENT_TYPE_EXCEPTION    (3ull << 8)
#define EVENT_TYPE_SOFT_INT     (4ull << 8)

/* TLB control */
#define TLB_CONTROL_NOTHING     0
#define TLB_CONTROL_FLUSH_ALL   1
#define TLB_CONTROL_FLUSH_ASID  3

/* exit codes */
#define SVM_EXIT_CR_READ        0x00
#define SVM_EXIT_CR_WRITE       0x10
#define SVM_EXIT_EXCEPTION      0x40
#define SVM_EXIT_INTR           0x60
#define SVM_EXIT_NMI            0x61
#define SVM_EXIT_SMI            0x62
#define SVM_EXIT_INIT           0x63
#define SVM_EXIT_VINTR          0x64
#define SVM_EXIT_RDPMC          0x6f
#define SVM_EXIT_CPUID          0x72
#define SVM_EXIT_IRET           0x74
#define SVM_EXIT_INVD           0x76
#define SVM_EXIT_HLT            0x78
#define SVM_EXIT_INVLPGA        0x7a
#define SVM_EXIT_IOIO           0x7b
#define SVM_EXIT_MSR            0x7c
#define SVM_EXIT_SHUTDOWN       0x7f
#define SVM_EXIT_VMRUN          0x80
#define SVM_EXIT_VMMCALL        0x81
#define SVM_EXIT_VMLOAD         0x82
#define SVM_EXIT_VMSAVE         0x83
#define SVM_EXIT_STGI           0x84
#define SVM_EXIT_CLGI           0x85
#define SVM_EXIT_SKINIT         0x86
#define SVM_EXIT_WBINVD         0x89
#define SVM_EXIT_MONITOR        0x8a
#define SVM_EXIT_MWAIT          0x8b
#define SVM_EXIT_XSETBV         0x8d
#define SVM_EXIT_NPF            0x400
#define SVM_EXIT_INVALID        (~0ull)

#endif
