/* The TSC as the guest's clock: its rate is measured once against the PIT (channel 0). */
#ifndef ATOLL_GUEST_TSC_H
#define ATOLL_GUEST_TSC_H

#include <stdbool.h>
#include <stdint.h>

/* TSC ticks per second; measured on first use.  Falls back to 2 GHz if the PIT is silent. */
uint64_t tsc_hz(void);
bool tsc_calibrated(void);

void udelay(uint64_t us);
uint64_t tsc_to_us(uint64_t ticks);

/* A counter read (a PIT, PM timer or HPET) paired with the TSC at the moment of the read:
 * the TSC just before and just after it, the middle.  A read that took over a millisecond
 * (its vCPU lost the CPU meanwhile) is done again, up to 16 times. */
uint64_t tsc_paired_read(uint64_t (*read)(void *ctx), void *ctx, uint64_t *tsc);

#endif
