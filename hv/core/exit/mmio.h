/*
 * Emulating the instruction that touched an emulated device (Intel SDM Vol. 2 semantics,
 * flags as the CPU sets them, mmio_alu.h): at an MMIO exit's guest-physical address
 *  - a load or store: MOV, MOVZX, MOVSX, MOVSXD, MOVNTI, MOVBE (CPUID passes the host's
 *    MOVBE through, so a guest that runs it has it), SETcc;
 *  - a read-modify-write: ADD, ADC, SUB, SBB, OR, AND, XOR, INC, DEC, NOT, NEG, XCHG,
 *    XADD, CMPXCHG, CMPXCHG8B (one 8-byte access each way; the destination written back
 *    when the comparison fails, as the CPU does), BTS, BTR, BTC, and ROL, ROR, RCL, RCR,
 *    SHL/SAL, SHR, SAR by 1, CL or imm8 (a count that masks to 0 reads and stores nothing);
 *    CMP, TEST and BT only read.  BT* with a register offset address a bit string: the
 *    operand-sized unit offset DIV size away, reached through its guest-linear address;
 *  - or a string instruction (MOVS, STOS, LODS, INS, OUTS, with or without REP) from an
 *    MMIO or a string I/O exit.
 * LOCK where the SDM does not allow it, and a form that needs a memory operand given a
 * register (CMPXCHG8B, MOVBE), are #UD as on the CPU.  Refused (MMIO_UNSUPPORTED, with
 * `refused` saying why in the message that ends the partition): x87, MMX, SSE and AVX
 * accesses (a 64-bit device access from 32-bit code is one of these, or CMPXCHG8B),
 * CMPXCHG16B (16 bytes are no single device access), forms with no memory operand, and
 * anything else.
 *
 * Portable: the backend fills struct mmio_cpu from the vCPU (RSP included), supplies the
 * ways to reach instruction bytes, memory and ports in struct mmio_ops, and writes back
 * what changed.  The instruction is decoded by Zydis in the mode the guest runs in.
 *
 * A REP string instruction runs at most MMIO_REP_BUDGET iterations per call (one when the
 * guest single-steps, as the CPU traps after each iteration): with a count left the result
 * is MMIO_AGAIN, RIP stays on the instruction and RCX/RSI/RDI say how far it got, so the
 * guest re-executes it, interrupts are taken in between and a huge count holds no CPU.
 */
#ifndef ATOLL_HV_CORE_MMIO_H
#define ATOLL_HV_CORE_MMIO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MMIO_REP_BUDGET 256

/* How the guest's code segment decodes. */
enum mmio_cpu_mode {
    MMIO_MODE_REAL16,       /* real mode (and virtual-8086) */
    MMIO_MODE_PROT16,       /* protected mode, 16-bit code segment */
    MMIO_MODE_PROT32,
    MMIO_MODE_COMPAT16,     /* long mode, compatibility code segments */
    MMIO_MODE_COMPAT32,
    MMIO_MODE_LONG64,
};

enum mmio_seg { MMIO_SEG_ES, MMIO_SEG_CS, MMIO_SEG_SS, MMIO_SEG_DS, MMIO_SEG_FS, MMIO_SEG_GS };

struct mmio_cpu {
    uint64_t gpr[16];           /* by encoding number: RAX, RCX, RDX, RBX, RSP, ... R15 */
    uint64_t rip, rflags;
    uint64_t seg_base[6];       /* by enum mmio_seg */
    enum mmio_cpu_mode mode;
};

/* The mode from CR0.PE, EFER.LMA, RFLAGS.VM and the code segment's L and D bits. */
enum mmio_cpu_mode mmio_cpu_mode_of(bool pe, bool lma, bool vm86, bool cs_l, bool cs_d);

/* RIP after an instruction of len bytes: EIP wraps at 4 GiB in 32-bit code segments and IP
 * at 64 KiB in 16-bit ones (the upper bits cleared), as the CPU computes it. */
uint64_t mmio_next_rip(enum mmio_cpu_mode mode, uint64_t rip, unsigned len);

/* What one access did. */
enum mmio_access_result {
    MMIO_ACCESS_OK,
    MMIO_ACCESS_UNMAPPED,       /* a guest-linear address its page tables do not map */
    MMIO_ACCESS_STOP,           /* the partition ended (a stray access it asked to be killed for) */
};

struct mmio_ops {
    void *ctx;
    /* Copies up to len instruction bytes at a guest-linear address; returns how many were
     * mapped (an instruction may end right before an unmapped page). */
    size_t (*fetch)(void *ctx, uint64_t linear, uint8_t *buf, size_t len);
    /* size (1, 2, 4, 8) bytes at a guest-linear address: RAM, a device or nothing. */
    enum mmio_access_result (*linear)(void *ctx, uint64_t linear, unsigned size, bool write,
                                      uint64_t *value);
    /* size bytes at a guest-physical address outside RAM: a device or nothing. */
    enum mmio_access_result (*phys)(void *ctx, uint64_t gpa, unsigned size, bool write,
                                    uint64_t *value);
    /* A port access (size 1, 2, 4); reads of nothing yield all-ones. */
    void (*io)(void *ctx, uint16_t port, unsigned size, bool write, uint32_t *value);
    /* Optional: whether the guest's page tables let it access size bytes at a linear
     * address, all in one page (MMIO_ACCESS_OK or MMIO_ACCESS_UNMAPPED, the fault noted),
     * touching nothing.
     * INS checks its destination so before it reads the port, as the CPU does: a page
     * fault on the destination loses no input. */
    enum mmio_access_result (*probe)(void *ctx, uint64_t linear, unsigned size, bool write);
};

/* Why the emulator was called. */
struct mmio_exit {
    bool string_io;             /* a string I/O exit (else an MMIO exit at gpa) */
    uint64_t gpa;
    /* string_io: what the exit reported (io_size 0: not checked).  An instruction at RIP
     * that is not that one (rewritten meanwhile by another vCPU) is MMIO_INVALID, #UD. */
    bool io_in;
    uint8_t io_size;
};

enum mmio_result {
    MMIO_DONE,                  /* completed: RIP moves past its `length` bytes */
    MMIO_AGAIN,                 /* REP count left: RIP stays, registers show the progress */
    MMIO_STOP,                  /* the partition ended during an access */
    MMIO_UNMAPPED,              /* a string operand's guest-linear address is unmapped: the
                                 * guest takes a #PF there, its registers showing the progress;
                                 * or the instruction's own bytes run into an unmapped page */
    MMIO_UNSUPPORTED,           /* not an instruction form emulated here */
    MMIO_INVALID,               /* the bytes at RIP are no instruction in this mode (LOCK
                                 * where it is not allowed, a reserved opcode: `vector` #UD;
                                 * over 15 bytes: #GP(0)), or not the INS/OUTS a string I/O
                                 * exit reports (#UD): the guest takes that exception, and
                                 * nothing is accessed.  QEMU's TCG reaches the I/O intercept
                                 * of `lock outsd`, and of `4d 66 6f` (REX.W then 66: the CPU
                                 * ignores that REX and runs OUTSW) as OUTSD. */
};

struct mmio_outcome {
    unsigned length;            /* of the decoded instruction */
    uint64_t linear;            /* MMIO_UNMAPPED: the address */
    bool write;                 /* MMIO_UNMAPPED: and whether the access was a write */
    bool fetch;                 /* MMIO_UNMAPPED: or an instruction fetch */
    uint8_t vector;             /* MMIO_UNMAPPED, from vcpu_emulate: the fault to raise;
                                 * MMIO_INVALID: #UD or #GP */
    uint32_t error;             /* and its error code (hv/core/guest_walk.h; 0 for #GP) */
    const char *insn;           /* the decoded instruction's mnemonic (NULL: none decoded) */
    const char *refused;        /* MMIO_UNSUPPORTED: why, for the message that ends the
                                 * partition */
};

enum mmio_result mmio_emulate(struct mmio_cpu *c, const struct mmio_ops *ops,
                              const struct mmio_exit *e, struct mmio_outcome *out);

#endif
