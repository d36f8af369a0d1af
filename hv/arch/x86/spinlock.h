/* Ticket spinlocks.  The _irqsave forms also keep this CPU's interrupts off while held. */
#ifndef ATOLL_HV_ARCH_X86_SPINLOCK_H
#define ATOLL_HV_ARCH_X86_SPINLOCK_H

#include <stdint.h>
#include "hv/arch/x86/cpu.h"

typedef struct {
    volatile uint32_t next;
    volatile uint32_t serving;
} spinlock_t;

#define SPINLOCK_INIT { 0, 0 }

static inline void spin_lock(spinlock_t *l)
{
    uint32_t ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
    while (__atomic_load_n(&l->serving, __ATOMIC_ACQUIRE) != ticket)
        cpu_relax();
}

static inline void spin_unlock(spinlock_t *l)
{
    __atomic_store_n(&l->serving, l->serving + 1, __ATOMIC_RELEASE);
}

static inline uint64_t spin_lock_irqsave(spinlock_t *l)
{
    uint64_t flags = irq_save();
    spin_lock(l);
    return flags;
}

static inline void spin_unlock_irqrestore(spinlock_t *l, uint64_t flags)
{
    spin_unlock(l);
    irq_restore(flags);
}

#endif
