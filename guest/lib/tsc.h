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

#endif
