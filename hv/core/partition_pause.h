/*
 * Pausing a running partition and resuming it, from the boot CPU.  Paused, every vCPU is
 * out of guest mode and off its CPU and is not picked, the partition's device timers do
 * not fire, and its disks have finished the requests they took and take no new ones.
 * Guest time stops with it: resuming sets the partition's time base and moves every
 * vCPU's TSC offset so that the guest's clocks go on from where they stood at the pause.
 */
#ifndef ATOLL_HV_CORE_PARTITION_PAUSE_H
#define ATOLL_HV_CORE_PARTITION_PAUSE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/core/partition.h"

/* Where the guest's clocks stood when the last vCPU was out. */
struct partition_pause {
    uint64_t guest_ns;      /* the partition's guest time (its platform now_ns) */
    uint64_t host_tsc;      /* the host TSC at the same moment */
};

/* p running: true with p paused.  False with one line in err when p was not running, ended
 * meanwhile, or a vCPU never left its CPU (p is then ended, killed with that line). */
bool partition_pause(struct partition *p, struct partition_pause *at, char *err,
                     size_t err_size);
/* The guest time of p goes on from at->guest_ns (p->start_ns moves); returns the host TSC
 * ticks since at->host_tsc, by which every vCPU's TSC offset must move back. */
uint64_t partition_resume_clock(struct partition *p, const struct partition_pause *at);
/* Clocks go on from the pause, disks take requests, vCPUs run again.  Nothing when p
 * ended meanwhile. */
void partition_resume(struct partition *p, const struct partition_pause *at);

#endif
