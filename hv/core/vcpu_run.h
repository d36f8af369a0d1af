/*
 * The vendor-neutral steps of a backend's run loop (virt_vcpu_run): whether the vCPU may
 * enter its guest, and what follows an exit its handler has dealt with.
 */
#ifndef ATOLL_HV_CORE_VCPU_RUN_H
#define ATOLL_HV_CORE_VCPU_RUN_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/core/exit/exit_apply.h"
#include "hv/core/virt.h"

struct vcpu;

/* The backend's own: makes v's extended state live on this CPU (again); false when the CPU
 * refused it, and then v's partition has ended, saying why. */
typedef bool (*vcpu_load_fn)(struct vcpu *v);

/* Before every entry: false with *r when v waits for a SIPI, or it or its partition ended. */
bool vcpu_run_may_enter(const struct vcpu *v, enum run_result *r);

/* After a handled exit: true to enter the guest again, false with *r for the scheduler.
 * Every Nth exit (the debug state round trip) v is first put aside (put_aside: NULL where
 * the backend's save does that itself), and load makes it current again after. */
bool vcpu_run_after_exit(struct vcpu *v, enum exit_action a, uint64_t end_ns,
                         void (*put_aside)(void), vcpu_load_fn load, enum run_result *r);

#endif
