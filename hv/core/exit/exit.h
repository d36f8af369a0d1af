/*
 * A VM exit, vendor-neutral.  The backend (hv/vmx, hv/svm) decodes what the hardware
 * reports into struct exit_info, the core decides (exit_decide) and answers with struct
 * exit_effects: the verdict and the register and control-register state to load, as data.
 * exit_apply (exit_apply.h) loads them through the backend's accessors; the backend owns
 * nothing of the meaning: which MSR, CR or XCR0 value is legal, what an I/O port or MMIO
 * address reaches, when HLT sleeps.
 *
 * exit_decide is portable and host-tested: what it needs of the partition comes through
 * struct exit_env.  exit_handle (exit_vcpu.c, kernel only) supplies that for a running
 * vCPU, counts the exit and carries out the partition-level effects (halting, ending the
 * partition with the handler's line).
 */
#ifndef ATOLL_HV_CORE_EXIT_H
#define ATOLL_HV_CORE_EXIT_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/core/exit/cpuid_policy.h"
#include "hv/core/exit/exit_cr.h"
#include "hv/core/exit/mmio.h"
#include "hv/core/vcpu.h"

/* What exited; the backend keeps exits that mean nothing outside it (host interrupts and
 * NMIs, a failed entry, window and timer exits).  A backend for another vendor decodes its
 * own exit codes into these same kinds (AMD: IOIO with its REP and address-size bits,
 * VMMCALL, SHUTDOWN, the exception intercepts, NPF). */
enum exit_info_kind {
    EXIT_IS_CPUID,
    EXIT_IS_MSR_READ,
    EXIT_IS_MSR_WRITE,
    EXIT_IS_CR,             /* MOV to or from a CR, CLTS, LMSW */
    EXIT_IS_XSETBV,
    EXIT_IS_HLT,
    EXIT_IS_IO,
    EXIT_IS_MMIO,           /* a guest-physical access the second-level tables do not allow */
    EXIT_IS_VMCALL,         /* a hypercall (VT-x VMCALL, AMD VMMCALL) */
    EXIT_IS_SHUTDOWN,       /* a triple fault: the processor would shut down */
    EXIT_IS_EXCEPTION,      /* an exception of the guest's that the backend intercepts */
    EXIT_IS_INIT,           /* an INIT signal reached the physical CPU */
    EXIT_IS_SIPI,           /* a start-up IPI reached a CPU waiting for one */
    EXIT_IS_INSTRUCTION,    /* an instruction that always exits (enum exit_instruction) */
    EXIT_IS_TABLES_BROKEN,  /* the second-level tables are malformed (VT-x: EPT misconfig) */
    EXIT_IS_KIND_COUNT,
};

enum cr_access { CR_MOV_TO, CR_MOV_FROM, CR_CLTS, CR_LMSW };

/* Instructions that exit unconditionally (or by the backend's choice) and that the
 * partition either does not have or that do nothing in it. */
enum exit_instruction {
    INSTR_VIRTUALIZATION,   /* VMX or SVM instructions: no nested virtualization */
    INSTR_GETSEC,
    INSTR_MONITOR,
    INSTR_MWAIT,
    INSTR_RDPMC,            /* no performance counters are offered */
    INSTR_INVD,
    INSTR_WBINVD,           /* caches are the host's business */
    INSTR_COUNT,
};

#define HYPERCALL_ARGS 4

struct exit_info {
    enum exit_info_kind kind;
    unsigned vcpu;                  /* its index, for the lines that end a partition */
    uint64_t rip;                   /* of the exiting instruction */
    uint32_t instr_len;
    uint64_t raw;                   /* the backend's own word for it (VT-x: the qualification) */
    bool real_mode;                 /* CR0.PE clear: exceptions deliver no error code */
    bool event_queued;              /* an event waits for the next entry (re-queued or raised) */
    union {
        struct { uint32_t leaf, subleaf; } cpuid;
        struct {
            uint32_t index;
            uint64_t value;         /* EXIT_IS_MSR_WRITE: EDX:EAX */
            uint64_t efer;          /* the guest's EFER now */
            uint64_t cr0;           /* and its CR0 (EFER.LME is fixed while CR0.PG is set) */
        } msr;
        struct {
            unsigned number;        /* 0, 3, 4, 8 */
            enum cr_access access;
            unsigned gpr;           /* MOV: the general register (enum gpr) */
            uint64_t value;         /* MOV to: the register's value; LMSW: its source */
            struct guest_ctl now;   /* as the guest sees them */
            uint64_t cr4_offered;   /* CR4 bits the guest may set */
            bool cs_long;           /* in 64-bit mode (EFER.LMA and CS.L): PG stays set */
            uint64_t cr3;           /* CR4.PCIDE is set only while CR3[11:0] is 0 */
        } cr;
        struct {
            uint32_t xcr;           /* ECX */
            uint64_t value;         /* EDX:EAX */
            unsigned cpl;
            bool osxsave;           /* CR4.OSXSAVE */
            uint64_t offered;       /* XCR0 components the guest may enable */
        } xsetbv;
        struct {
            bool irqs_enabled;      /* RFLAGS.IF */
            bool single_step;       /* RFLAGS.TF: completing it queues a #DB trap */
        } hlt;
        struct {
            uint16_t port;
            uint8_t size;           /* 1, 2, 4 (anything else is not an I/O instruction) */
            bool in;
            bool string;            /* INS/OUTS: emulated */
            bool rep;               /* string: a REP prefix, count in RCX */
            uint8_t addr_size;      /* string: 2, 4 or 8 bytes of RCX/RSI/RDI; 0 unknown */
            uint64_t rax;
            uint64_t rcx;           /* string: the count, before the address size masks it */
        } io;
        struct {
            uint64_t gpa;
            bool write;             /* a data write */
            bool fetch;             /* an instruction fetch */
            bool table;             /* a page-table access of a guest-linear translation */
        } mmio;                     /* also EXIT_IS_TABLES_BROKEN: gpa */
        struct {
            uint64_t nr;            /* RAX */
            uint64_t arg[HYPERCALL_ARGS];   /* RDI, RSI, RDX, R10 (hypercall_abi.h) */
            unsigned cpl;           /* VMCALL exits at any CPL: only the kernel's count */
        } vmcall;
        struct {
            uint8_t vector;
            bool has_error;
            uint32_t error;
        } exception;
        struct {
            enum exit_instruction which;
        } instruction;
    };
};

enum exit_verdict {
    VERDICT_RESUME,
    VERDICT_HALT,                   /* HLT with nothing pending: sleep until something is */
    VERDICT_STOP,                   /* the partition ended (kill_line says why) */
    VERDICT_EMULATE,                /* the instruction at RIP is emulated (vcpu_emulate) */
    VERDICT_UNHANDLED,              /* nothing the core knows: the backend ends the partition */
};

struct exit_exception {
    bool valid;
    uint8_t vector;
    bool has_error;
    uint32_t error;
};

#define EXIT_KILL_LINE 160

struct exit_effects {
    enum exit_verdict verdict;
    enum exit_kind count;           /* the counter this exit adds to */
    bool complete;                  /* the instruction completed: RIP moves past it */
    struct exit_exception exception;    /* raised instead of completing */
    uint16_t gpr_written;           /* bit per enum gpr: gpr[] holds its new value */
    uint64_t gpr[16];
    unsigned ctl_written;           /* GUEST_CTL_*: these of ctl are to be loaded */
    struct guest_ctl ctl;           /* guest-visible values */
    bool xcr0_written;
    uint64_t xcr0;
    bool halted_irqs_off;           /* EXIT_IS_HLT: halted with RFLAGS.IF clear */
    struct mmio_exit emulate;       /* VERDICT_EMULATE: what the emulator is to find at RIP */
    char kill_line[EXIT_KILL_LINE]; /* VERDICT_STOP */
};

/* The partition as the handlers reach it. */
struct exit_env {
    void *ctx;
    void (*cpuid)(void *ctx, uint32_t leaf, uint32_t subleaf, struct cpuid_result *out);
    /* False: the guest gets #GP. */
    bool (*msr_read)(void *ctx, uint32_t msr, uint64_t *value);
    bool (*msr_write)(void *ctx, uint32_t msr, uint64_t value);
    void (*io)(void *ctx, uint16_t port, unsigned size, bool write, uint32_t *value);
    void (*set_tpr)(void *ctx, uint64_t cr8);
    uint64_t (*get_tpr)(void *ctx);
    bool (*interrupt_pending)(void *ctx);       /* a vector waits in its controllers */
    bool (*nmi_pending)(void *ctx);
    bool (*in_ram)(void *ctx, uint64_t gpa);
    /* A write to a page dirty tracking made read-only: true when handled. */
    bool (*write_fault)(void *ctx, uint64_t gpa);
    /* The call's result, for RAX; the arguments are the guest's, unchecked. */
    int64_t (*hypercall)(void *ctx, uint64_t nr, const uint64_t arg[HYPERCALL_ARGS]);
};

/* Fills fx (zeroed first) with what the exit does; always a valid verdict. */
void exit_decide(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx);

/* The handlers, one per kind (exit_decide dispatches). */
void exit_cpuid(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx);
void exit_msr(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx);
void exit_cr(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx);
void exit_xsetbv(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx);
void exit_hlt(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx);
void exit_io(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx);
void exit_mmio(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx);
void exit_vmcall(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx);
void exit_exception(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx);
/* SHUTDOWN, INIT, SIPI and TABLES_BROKEN: the vCPU's or the partition's life */
void exit_lifecycle(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx);
void exit_instruction(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx);

/* Effect helpers for the handlers. */
void exit_set_gpr(struct exit_effects *fx, enum gpr reg, uint64_t value);
void exit_raise(struct exit_effects *fx, uint8_t vector, bool has_error, uint32_t error);
void exit_kill(struct exit_effects *fx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define VECTOR_DB 1
#define VECTOR_UD 6
#define VECTOR_GP 13
#define VECTOR_AC 17
#define VECTOR_MC 18

#ifdef ATOLL_KERNEL
/* exit_decide for a running vCPU, then what falls to the partition: HLT's sleep (or the
 * end of a partition whose every vCPU halted with interrupts off), a kill line carried
 * out, the exit counted; a partition that ended meanwhile turns RESUME into STOP. */
void exit_handle(struct vcpu *v, const struct exit_info *e, struct exit_effects *fx);
#endif

#endif
