/* A test-and-set lock for the few things vCPUs share (the console, counters). */
#ifndef ATOLL_GUEST_SPINLOCK_H
#define ATOLL_GUEST_SPINLOCK_H

#include "guest/lib/x86.h"

typedef struct {
    volatile int held;
} spinlock_t;

static inline void spin_lock(spinlock_t *l)
{
    while (__atomic_exchange_n(&l->held, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&l->held, __ATOMIC_RELAXED))
            pause();
}

static inline void spin_unlock(spinlock_t *l)
{
    __atomic_store_n(&l->held, 0, __ATOMIC_RELEASE);
}

#endif
