/*
 * Carrying out what the core decided for an exit, the same for every backend: the backend
 * decodes its exit into struct exit_info and calls exit_apply, which runs exit_handle and
 * loads the effects through the backend's struct exit_target: registers, control
 * registers, XCR0, then the exception or the instruction's completion; an emulation
 * verdict runs the instruction emulator on the vCPU's state.
 */
#ifndef ATOLL_HV_CORE_EXIT_APPLY_H
#define ATOLL_HV_CORE_EXIT_APPLY_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/core/exit/exit.h"
#include "hv/core/virt.h"

/* What a backend's exit handling tells its run loop. */
enum exit_action { EXIT_RESUME, EXIT_TO_SCHEDULER, EXIT_HALT, EXIT_STOP };

/* The guest state a backend keeps where only it can reach (VMCS, VMCB). */
struct exit_target {
    /* The vCPU as the instruction emulator sees it (RSP and RFLAGS from the hardware's
     * copy), and back. */
    void (*emulation_load)(struct vcpu *v, struct mmio_cpu *c, struct guest_paging *pg);
    void (*emulation_store)(struct vcpu *v, const struct mmio_cpu *c);
    void (*write_rsp)(struct vcpu *v, uint64_t value);
    /* CR0, CR4 and EFER as the rules made them; false: the hardware refused (#GP). */
    bool (*load_ctl)(struct vcpu *v, unsigned which, const struct guest_ctl *ctl);
    bool (*set_xcr0)(struct vcpu *v, uint64_t xcr0);
    void (*queue_exception)(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error);
    /* #PF with CR2 = linear, or #GP, as hv/core/guest_walk.h reports them. */
    void (*queue_fault)(struct vcpu *v, uint8_t vector, uint32_t error, uint64_t linear);
    /* RIP past len bytes, the interrupt shadow over, a single-stepping guest's #DB. */
    void (*complete_instruction)(struct vcpu *v, uint32_t len);
    /* VERDICT_UNHANDLED: ends the partition naming the exit as the hardware reported it. */
    enum exit_action (*unhandled)(struct vcpu *v, const struct exit_info *e);
};

/* An MMIO access or string I/O, emulated; a REP string instruction with a count left stays
 * on its RIP and runs again. */
enum exit_action exit_emulate(const struct exit_target *t, struct vcpu *v, const struct mmio_exit *e);
/* exit_handle, then its effects loaded. */
enum exit_action exit_apply(const struct exit_target *t, struct vcpu *v, struct exit_info *e);

#endif
