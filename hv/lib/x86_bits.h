/*
 * Architectural bits of RFLAGS, CR0, CR4 and IA32_EFER (Intel SDM Vol. 3, 2.3 to 2.5; AMD
 * APM Vol. 2, 3.1 and 3.2 for EFER.SVME), for the hypervisor and its portable modules.
 */
#ifndef ATOLL_HV_LIB_X86_BITS_H
#define ATOLL_HV_LIB_X86_BITS_H

#define RFLAGS_CF       (1ull << 0)
#define RFLAGS_FIXED1   (1ull << 1)
#define RFLAGS_PF       (1ull << 2)
#define RFLAGS_AF       (1ull << 4)
#define RFLAGS_ZF       (1ull << 6)
#define RFLAGS_SF       (1ull << 7)
#define RFLAGS_TF       (1ull << 8)
#define RFLAGS_IF       (1ull << 9)
#define RFLAGS_DF       (1ull << 10)
#define RFLAGS_OF       (1ull << 11)
#define RFLAGS_RF       (1ull << 16)
#define RFLAGS_VM       (1ull << 17)
#define RFLAGS_AC       (1ull << 18)
#define RFLAGS_RESERVED ((1ull << 3) | (1ull << 5) | (1ull << 15) | ~((1ull << 22) - 1))

#define CR0_PE          (1ull << 0)
#define CR0_TS          (1ull << 3)
#define CR0_ET          (1ull << 4)
#define CR0_NE          (1ull << 5)
#define CR0_WP          (1ull << 16)
#define CR0_NW          (1ull << 29)
#define CR0_CD          (1ull << 30)
#define CR0_PG          (1ull << 31)

#define CR4_PSE         (1ull << 4)
#define CR4_PAE         (1ull << 5)
#define CR4_OSFXSR      (1ull << 9)
#define CR4_OSXMMEXCPT  (1ull << 10)
#define CR4_LA57        (1ull << 12)
#define CR4_VMXE        (1ull << 13)
#define CR4_PCIDE       (1ull << 17)
#define CR4_OSXSAVE     (1ull << 18)
#define CR4_SMEP        (1ull << 20)
#define CR4_SMAP        (1ull << 21)
#define CR4_CET         (1ull << 23)

#define EFER_SCE        (1ull << 0)
#define EFER_LME        (1ull << 8)
#define EFER_LMA        (1ull << 10)
#define EFER_NXE        (1ull << 11)
#define EFER_SVME       (1ull << 12)

#endif
