/* Time: the TSC, calibrated once against the PIT. */
#ifndef ATOLL_HV_ARCH_X86_TSC_H
#define ATOLL_HV_ARCH_X86_TSC_H
#include <stdint.h>

void tsc_calibrate(void);
uint64_t tsc_hz(void);
uint64_t time_ns(void);                 /* since tsc_calibrate() */
void udelay(uint64_t us);
/* Busy-wait on PIT channel 2 for ms milliseconds; returns TSC ticks that elapsed. */
uint64_t pit_wait_ms(unsigned ms);

#endif
