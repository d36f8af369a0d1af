/*
 * Work shared with the partition's other vCPUs: each started AP sleeps (HLT) until the
 * BSP hands out a job with an IPI, runs its lane of it and sleeps again.  The job's shape
 * is guest/vsp's struct vsp_lanes: run(ctx, job, arg) calls job(arg, lane) for every lane,
 * lane 0 on the caller, and returns when all have returned.  The BSP alone hands out jobs.
 */
#ifndef ATOLL_GUEST_CPU_LANES_H
#define ATOLL_GUEST_CPU_LANES_H

#include <stdint.h>

#define CPU_LANES_VECTOR 0x52
#define CPU_LANES_MAX 16

/* Starts APs 1 .. want - 1 (fewer if the partition has fewer vCPUs or one does not start);
 * returns the lanes there are, the caller's included (1: it alone). */
unsigned cpu_lanes_start(unsigned want);
void cpu_lanes_run(void *ctx, void (*job)(void *arg, unsigned lane), void *arg);
/* How many jobs were handed out. */
uint64_t cpu_lanes_jobs(void);

#endif
