/* TEMPORARY (checkpoint_pending.c): what asyncdisk adds to partition_disks.h. */
#ifndef ATOLL_HV_CORE_CHECKPOINT_PENDING_H
#define ATOLL_HV_CORE_CHECKPOINT_PENDING_H
struct partition;
void partition_disks_quiesce(struct partition *p);
void partition_disks_resume(struct partition *p);
#endif
