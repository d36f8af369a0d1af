/*
 * The instruction an SVM intercept reports, from one copy of its bytes.  Without NRIPS (QEMU's
 * TCG) the backend needs the instruction's length to step past it, and without decode
 * assists a MOV CR's register.  The bytes are read once, after the exit: another vCPU may
 * have rewritten them since the CPU ran them, or the guest's page tables may now map other
 * ones (the CPU ran them through a stale translation).  So what they decode to is checked
 * against what the exit says, and bytes that disagree are not trusted.
 *
 * Portable and host-tested (tests/unit/test_svm_insn.c); hv/svm/svm_decode.c reads the bytes.
 */
#ifndef ATOLL_HV_SVM_SVM_INSN_H
#define ATOLL_HV_SVM_SVM_INSN_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/core/exit/mmio.h"

#define SVM_INSN_MAX 15

/* The instructions whose intercepts the backend completes (or answers by their length). */
enum svm_insn {
    SVM_INSN_CPUID,
    SVM_INSN_HLT,
    SVM_INSN_RDMSR,
    SVM_INSN_WRMSR,
    SVM_INSN_XSETBV,
    SVM_INSN_VMMCALL,
    SVM_INSN_INVD,
    SVM_INSN_WBINVD,            /* WBNOINVD too: the same intercept */
    SVM_INSN_RDPMC,
    SVM_INSN_MONITOR,           /* MONITORX too */
    SVM_INSN_MWAIT,             /* MWAITX too */
    SVM_INSN_COUNT,
};

enum svm_decoded {
    SVM_DECODED,                /* the instruction the exit reports */
    SVM_DECODE_SHORT,           /* the bytes end before the instruction does (got < 15) */
    SVM_DECODE_OTHER,           /* another instruction, or none */
};

/* The length of the instruction in b[0..got) (the mode the guest runs in), when it is `want`. */
enum svm_decoded svm_insn_decode(enum mmio_cpu_mode mode, const uint8_t *b, unsigned got,
                                 enum svm_insn want, unsigned *length);

/* The instructions a CR intercept stands for (AMD: CLTS and LMSW are CR0 writes, SMSW a CR0
 * read). */
enum svm_cr_form { SVM_CR_MOV_TO, SVM_CR_MOV_FROM, SVM_CR_CLTS, SVM_CR_LMSW, SVM_CR_SMSW };

struct svm_cr_insn {
    enum svm_cr_form form;
    unsigned cr;                /* MOV: 0-15 (REX.R, or AMD's LOCK prefix, adds 8); else 0 */
    unsigned gpr;               /* the general register (MOV; LMSW and SMSW with one) */
    bool memory;                /* LMSW or SMSW with a memory operand: length unknown (0) */
    bool wide;                  /* MOV in 64-bit mode: all 64 bits (else the low 32) */
    unsigned length;
};

/*
 * [legacy prefixes (not F2, F3)] [REX, 64-bit mode, right before the opcode] then
 * 0f 22 /r (MOV to CRn), 0f 20 /r (MOV from CRn), 0f 06 (CLTS), 0f 01 /6 (LMSW),
 * 0f 01 /4 (SMSW); MOV's ModRM.mod is ignored, as the CPU ignores it.
 */
enum svm_decoded svm_cr_decode(enum mmio_cpu_mode mode, const uint8_t *b, unsigned got,
                               struct svm_cr_insn *out);

/* Whether d is what an intercept of CR `number`, written or read, stands for. */
bool svm_cr_agrees(const struct svm_cr_insn *d, unsigned number, bool write);

/* LMSW's memory operand (svm_cr_decode said `memory`), from the same bytes. */
#define SVM_BASE_RIP 16
struct svm_mem_operand {
    enum mmio_seg seg;
    int base, index;            /* general registers (0-15), -1 for none; SVM_BASE_RIP */
    unsigned scale;
    int64_t disp;
    uint64_t addr_mask;         /* the address size: 0xffff, 0xffffffff or ~0 */
    unsigned length;            /* of the whole instruction */
};
bool svm_lmsw_operand(enum mmio_cpu_mode mode, const uint8_t *b, unsigned got,
                      struct svm_mem_operand *m);
/* Its guest-linear address (in 64-bit mode only FS and GS have a base; elsewhere it wraps
 * at 4 GiB); RIP-relative from the instruction's end. */
uint64_t svm_mem_linear(const struct svm_mem_operand *m, enum mmio_cpu_mode mode,
                        const uint64_t gpr[16], uint64_t rip, const uint64_t seg_base[6]);

#endif
