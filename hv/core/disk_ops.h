/*
 * Live disk operations: copy, move, convert, compact, defrag and merge (a differencing
 * disk into its parent) of a disk a running partition has attached, as jobs
 * (hv/storage/disk_job.h) whose steps are BACKGROUND-class block requests on the disk's
 * queue, run by the disk's worker item between the guest's pieces; the guest keeps
 * reading and writing, and every write it makes to a unit a job has passed marks the unit
 * dirty, to be copied again.  Once a job has little dirt left
 * the boot CPU pauses the partition (its disks quiesced), finishes the job (the rest of
 * the dirt), switches the disk to the result (ordered write-then-rename) and resumes it.
 * Each job has a token bucket (mbps=, iops=) and can be paused, resumed and cancelled;
 * delete removes a pool file no partition has attached (not an image's parent; a clone's
 * base goes with its last child: hv/storage/pool_clone.h).  Design: hv/storage/disk_jobs.md.
 * `migrate HOST` is a copy whose target is another host's pool (hv/core/storage_migrate.h,
 * hv/storage/storage_migration.md): the disk stays, the last units go in a pause.  With
 * `after` or `around` the op waits for the partition to leave by a live migration (cancel,
 * wait=S) and hands the disk over when it does (disk_ops_partition_gone).
 */
#ifndef ATOLL_HV_CORE_DISK_OPS_H
#define ATOLL_HV_CORE_DISK_OPS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/core/partition.h"
#include "hv/storage/disk_op_request.h"

#define DISK_OPS_MAX 8      /* jobs remembered (running, queued or ended) */

enum disk_op_state {
    DISK_OP_QUEUED,     /* waits for an earlier job on the same disk */
    DISK_OP_RUNNING,
    DISK_OP_PAUSED,
    DISK_OP_DONE,
    DISK_OP_FAILED,
    DISK_OP_CANCELLED,
};

struct disk_op_status {
    uint32_t id;
    struct disk_op_request req;
    enum disk_op_state state;
    struct disk_job_progress pr;
    uint64_t elapsed_ms, eta_ms;    /* eta UINT64_MAX: unknown */
    uint64_t throttled;             /* steps the job's token bucket held back */
    char msg[160];                  /* the last thing it said (an error, "done ...") */
};

struct block_request;

/*
 * Boot CPU (the script, the control server): starts a job, queues it behind the disk's
 * running one, acts on the disk's job (pause, resume, cancel) or deletes a detached disk.
 * True with one line in msg (also printed) and, for a job, its id in *id.
 */
bool disk_ops_request(const struct disk_op_request *r, uint32_t *id, char *msg,
                      size_t msg_size);
/* The services' table entry: nothing to set up. */
struct manifest_hypervisor;
struct boot_info;
void disk_ops_start(const struct manifest_hypervisor *hv, const struct boot_info *bi);
/* The services' poll (boot CPU): next steps, switches, ends; how long it may wait. */
uint64_t disk_ops_poll(void);
/* A job's step: the disk's worker item, the pool's lock held.  A block status. */
int disk_ops_run_step(struct block_request *r);
/* Partition p's disks are going away (detach, their items stopped): its jobs fail. */
void disk_ops_partition_gone(struct partition *p);
/* The jobs, newest first, into out (at most max); how many.  id 0: all, else that one. */
unsigned disk_ops_list(uint32_t id, struct disk_op_status *out, unsigned max);
const char *disk_op_state_name(enum disk_op_state s);

#endif
