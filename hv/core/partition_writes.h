/*
 * Write tracking of a partition's RAM (hv/core/write_track.h) through the vendor's page
 * tables: arming protects all of it, a write fault opens the group it hit, writes the
 * hypervisor makes for the guest (device models) and pages a channel peer maps are noted,
 * and a pass hands over the written groups, protects them again and flushes every vCPU's
 * translations.  The
 * manifest's `track-writes` arms it when the partition is created; a pass then runs every
 * PARTITION_WRITES_PASS_MS and the partition's end prints what the passes saw.
 */
#ifndef ATOLL_HV_CORE_PARTITION_WRITES_H
#define ATOLL_HV_CORE_PARTITION_WRITES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/core/partition.h"

#define PARTITION_WRITES_PASS_MS 100

/* Before the partition first runs, or while it runs (a live snapshot arms it then).  False
 * with one line in err. */
bool partition_writes_arm(struct partition *p, uint32_t group_pages, char *err, size_t err_size);
/* One pass: the written groups into out (when not NULL; as many words as
 * write_track_words says), protected again and certain to fault on their next write when
 * this returns.  Returns how many groups were written since the last pass. */
uint64_t partition_writes_pass(struct partition *p, uint64_t *out);
/* The hypervisor wrote [gpa, gpa+len) of p's RAM on the guest's behalf. */
void partition_writes_note(struct partition *p, uint64_t gpa, uint64_t len);
/* Pages per group; 0 when p's writes are not tracked. */
uint32_t partition_writes_group_pages(const struct partition *p);
/* A write fault in 2 MiB region `region` that continues a run opens up to `pages` pages
 * (a power of two from the group size to 512; write_track_fault says which): a live
 * migration's group size per region.  False when p is not tracked or the size is not one
 * of those. */
bool partition_writes_set_region_pages(struct partition *p, uint64_t region, uint32_t pages);
/* One collector at a time takes the passes (a live snapshot, a live migration or the vGPU's
 * damage queries harvest the written groups themselves and must each see every write since
 * their last pass), and no periodic pass runs meanwhile.  `who` names it in a line ("a
 * migration") and is compared by address.  False with one line in err when another holds
 * them or p's writes are not tracked. */
bool partition_writes_claim(struct partition *p, const char *who, char *err, size_t err_size);
/* The periodic passes go on, if `who` was the collector (anyone else's claim stays). */
void partition_writes_unclaim(struct partition *p, const char *who);
/* Whether the group holding gpa was written since the last pass (a snapshot of one bit,
 * without the lock: a write racing with it may be missed, never invented, and only a pass
 * clears it).  False when p is not tracked. */
bool partition_writes_written(struct partition *p, uint64_t gpa);
/* Boot CPU, from the scheduler loop: the passes that are due (none while claimed). */
void partition_writes_poll(void);
/* A copy of the tracker's counters (zero when p is not tracked). */
struct write_track;
void partition_writes_stats(struct partition *p, struct write_track *out);
/* When the partition is released, before its page tables go: no pass runs after this;
 * prints what the passes saw.  The tracking's memory stays (a few KiB per GiB of RAM). */
void partition_writes_end(struct partition *p);

#endif
