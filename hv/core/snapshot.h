/*
 * RAM snapshots of partitions into files in the storage pool (format:
 * hv/snapshot/SNAPSHOT.md), and restores from them.  From the boot CPU's loop (the
 * [script]'s `snapshot` and `restore`, the control server's commands): a restore
 * synchronously, a snapshot as a job (below).
 *
 * A snapshot pauses the partition (partition_pause.h), writes its RAM in 64 KiB blocks
 * that worker items compress (one item per block, each picking its level from the depth
 * of the snapshot's write queue: snap_policy.h), then its vCPUs and devices as a
 * checkpoint stream, its manifest section and the identity of its disks, under a
 * temporary name that is flushed and renamed only when complete; then the partition
 * resumes, or stops.  One line:
 *
 *   snapshot: NAME: FILE: RAM N MiB crc32c 0x..., zero pages P%, written B bytes (R% of RAM), levels {...}, paused T ms[, stopped]
 *
 * A live snapshot keeps the partition running while it writes RAM: the write tracking
 * (partition_writes.h) catches the pages written meanwhile, which are saved again in short
 * passes until snap_passes.h says pause; paused, the last written blocks are copied aside,
 * RAM's CRC-32C is taken and the vCPUs and devices are captured, and the partition runs
 * again while the rest is written.  Its line says, instead of "paused T ms":
 *
 *   live: K passes re-saved P pages, paused Q pages T TSC ticks (M ms)
 *
 * (P: pages saved again, the paused pass's included; Q: pages copied paused; T: the pause
 * in TSC ticks, which the guest's TSC does not see.)  The RAM CRC-32C is RAM's at the pause.
 *
 * Either kind is a job: snapshot_partition checks, begins (pauses a stopped one) and
 * returns SNAPSHOT_STARTED; snapshot_poll, from the boot CPU's loop, advances it a slice
 * at a time and prints its line when it ends.  One job at a time.
 *
 * A restore checks the whole file (header, every region's and every block's CRC-32C, the
 * RAM's CRC-32C) and every disk's DataWriteGuid against the one at the snapshot before it
 * creates anything; then a partition made from the stored manifest section (named as
 * asked, or as in the file) gets the RAM, the vCPUs and devices, and runs:
 *
 *   restore: NAME: FILE: RAM crc32c 0x... (equal to the snapshot's)
 *
 * A refusal is one line, "snapshot: NAME: FILE: refused: ..." or "restore: FILE: refused:
 * ...; nothing restored".
 */
#ifndef ATOLL_HV_CORE_SNAPSHOT_H
#define ATOLL_HV_CORE_SNAPSHOT_H
#include <stdbool.h>
#include <stddef.h>
#include "hv/core/partition.h"

enum snapshot_result {
    SNAPSHOT_STARTED,       /* a snapshot job began: snapshot_poll carries it on */
    SNAPSHOT_DONE,          /* written (and resumed, or stopped as asked) / restored, running */
    SNAPSHOT_NOT_RUNNING,   /* nothing done: not running / no such file */
    SNAPSHOT_REFUSED,       /* not written (p resumed) / nothing restored */
    SNAPSHOT_LOST,          /* p ended: it could not be paused / the new partition ended */
};

#define SNAPSHOT_SLICE_NS 1000000ull     /* the most one poll works on a job before it returns */

/* SNAPSHOT_STARTED with its job's id in *id and "snapshot: NAME: FILE: paused|live,
 * writing N MiB of RAM" in msg (nothing printed); otherwise the refusal, printed and in msg. */
enum snapshot_result snapshot_partition(struct partition *p, const char *file, bool stop,
                                        bool live, uint32_t *id, char *msg, size_t msg_size);
/* Boot CPU, from the scheduler loop: one slice of the job in progress, if any. */
void snapshot_poll(void);
/* A snapshot job is in progress (the [script] waits for it before its next action). */
bool snapshot_busy(void);
/* A snapshot of p is being written (p may have ended meanwhile). */
bool snapshot_saving(const struct partition *p);

enum snapshot_job_state { SNAPSHOT_RUNNING, SNAPSHOT_ENDED_DONE, SNAPSHOT_ENDED_FAILED };

struct snapshot_progress {
    uint32_t id;
    enum snapshot_job_state state;
    uint64_t done, total;       /* RAM bytes saved, copies included; RAM + re-saved bytes */
    uint64_t bytes_per_s;       /* done over the time since it began */
    uint32_t passes;            /* live re-save passes so far */
    bool paused;
    char levels[96];            /* "store 3, lz4 120": blocks with data at each level */
    enum snapshot_result result;    /* once ended */
    char line[320];                 /* once ended: its line */
};

/* The job in progress or the last one to end, by id: false for any other id. */
bool snapshot_progress(uint32_t id, struct snapshot_progress *out);
/* as_name NULL or "": the name in the file. */
enum snapshot_result snapshot_restore(const char *file, const char *as_name, char *msg,
                                      size_t msg_size);
/* The same, lazily (hv/core/snapshot_lazy.h): the blocks are not read before it runs, and
 * the RAM CRC-32C line comes once the last is loaded, with the timings:
 *   restore: NAME: FILE: lazy: running, RAM loading (N blocks)
 *   ...
 *   restore: NAME: FILE: RAM crc32c 0x... (equal to the snapshot's)
 *   atoll: restore NAME: lazy: vCPUs started after S us, first guest instruction after X us ...
 * A full restore prints "atoll: restore NAME: full: first guest instruction after X us ...". */
enum snapshot_result snapshot_restore_lazy(const char *file, const char *as_name, char *msg,
                                           size_t msg_size);

#endif
