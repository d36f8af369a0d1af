/*
 * The checks of every hypercall's arguments that need no partition state, in one place
 * and tested on the host: hypercall_dispatch refuses a call that fails them before
 * anything acts.  What needs state (which grant a handle names, whether a peer is alive)
 * is checked where that state lives (hv/core/channel_grants.c).  Argument registers a
 * call does not take are ignored.
 */
#ifndef ATOLL_HV_CORE_HYPERCALL_ARGS_H
#define ATOLL_HV_CORE_HYPERCALL_ARGS_H
#include <stdint.h>

#define HC_CONSOLE_WRITE_MAX 4096

/* 0, or -HC_E* (-HC_ENOSYS for a number that is no hypercall).  arg[] is RDI, RSI, RDX,
 * R10; the caller's RAM is guest-physical [0, ram_size). */
int64_t hypercall_check_args(uint64_t nr, const uint64_t arg[4], uint64_t ram_size);

#endif
