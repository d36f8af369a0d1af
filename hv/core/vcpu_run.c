#include "hv/core/vcpu_run.h"

#include "hv/arch/x86/tsc.h"
#include "hv/core/partition.h"
#include "hv/core/sched.h"
#include "hv/core/vcpu_state_roundtrip.h"

bool vcpu_run_may_enter(const struct vcpu *v, enum run_result *r)
{
    if (v->state == VCPU_WAIT_SIPI)         /* INIT from another vCPU */
        *r = RUN_HALTED;
    else if (v->part->state == PART_DEAD || v->state == VCPU_STOPPED)
        *r = RUN_STOPPED;
    else
        return true;
    return false;
}

bool vcpu_run_after_exit(struct vcpu *v, enum exit_action a, uint64_t end_ns,
                         void (*put_aside)(void), vcpu_load_fn load, enum run_result *r)
{
    switch (a) {
    case EXIT_RESUME:
        if (vcpu_state_roundtrip_due(v)) {
            if (put_aside)
                put_aside();
            if (!vcpu_state_roundtrip(v) || !load(v)) {
                *r = RUN_STOPPED;
                return false;
            }
        }
        break;
    case EXIT_TO_SCHEDULER:
        *r = RUN_YIELD;
        return false;
    case EXIT_HALT:
        *r = RUN_HALTED;
        return false;
    case EXIT_STOP:
        *r = RUN_STOPPED;
        return false;
    }
    *r = RUN_YIELD;
    return !sched_should_yield() && time_ns() < end_ns;
}
