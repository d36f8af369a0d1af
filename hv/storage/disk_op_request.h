/*
 * A live disk operation as asked for (the [script]'s `disk` verb, the control protocol's
 * disk commands, `atollctl disk`): which disk of which partition, what to do, and the job's
 * throttle; and the progress arithmetic the kernel and atollctl share.  Portable, no
 * allocation; parsing bounds every field (the words come from the manifest or the wire).
 *
 *   PARTITION DISK copy DST [FORMAT] [mbps=N] [iops=N]    a copy; the disk stays
 *   PARTITION DISK move DST [FORMAT] [mbps=N] [iops=N]    a copy, then the disk is DST
 *   PARTITION DISK convert DST FORMAT [mbps=N] [iops=N]   a move that changes the format
 *   PARTITION DISK compact|defrag [mbps=N] [iops=N]       in place (a new file, renamed)
 *   PARTITION DISK merge [mbps=N] [iops=N]                the child into its parent
 *   PARTITION DISK migrate HOST[:PORT] [DST] [verify|after|around] [mbps=N] [iops=N]
 *                          [link-mbps=N] [wait=S] [idle=S]
 *                                    a copy to DST (default: DISK) in HOST's pool; the disk
 *                                    stays (hv/storage/storage_migration.md); `after`: no
 *                                    copy job, HOST pulls the units (its partition runs there);
 *                                    `around`: the copy runs until the partition moves, then
 *                                    HOST pulls the rest; `wait=S`: how long after/around
 *                                    wait for the live migration (default 600 s);
 *                                    `idle=S` (1..3600): nothing heard from the other host
 *                                    for S s, it counts as gone (default 30 s, both ends)
 *   PARTITION DISK pause|resume|cancel                    the disk's running job
 *   - DISK delete                                         a disk no partition has attached
 *
 * FORMAT: dynamic | fixed | raw; without one, DST's ending says (.vhdx: dynamic, else raw).
 */
#ifndef ATOLL_HV_STORAGE_DISK_OP_REQUEST_H
#define ATOLL_HV_STORAGE_DISK_OP_REQUEST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/storage/disk_job.h"

#define DISK_OP_NAME_LEN 32   /* a partition name and its NUL */
#define DISK_OP_PATH_LEN 112  /* a pool path and its NUL (the tmp name adds ".tmp") */
#define DISK_OP_HOST_LEN 24   /* "A.B.C.D:PORT" and its NUL */

enum disk_op_verb {
    DISK_VERB_COPY, DISK_VERB_MOVE, DISK_VERB_CONVERT, DISK_VERB_COMPACT, DISK_VERB_DEFRAG,
    DISK_VERB_MERGE, DISK_VERB_MIGRATE, DISK_VERB_PAUSE, DISK_VERB_RESUME, DISK_VERB_CANCEL, DISK_VERB_DELETE,
    DISK_VERBS
};

struct disk_op_request {
    char partition[DISK_OP_NAME_LEN];   /* "" for delete */
    char disk[DISK_OP_PATH_LEN];
    enum disk_op_verb verb;
    char dst[DISK_OP_PATH_LEN];         /* copy, move, convert; migrate: on the host */
    enum disk_job_format format;
    uint32_t mbps, iops;                /* 0: no limit */
    char host[DISK_OP_HOST_LEN];        /* migrate */
    uint32_t link_mbps;                 /* migrate: the link's limit; 0: none */
    bool verify;                        /* migrate: both ends' CRC-32C of the disk compared */
    bool after;                         /* migrate: the "after" mode (the target pulls) */
    bool around;                        /* migrate: the "around" mode (copy, then pull) */
    uint32_t wait_s;                    /* after/around: the live migration's wait; 0: 600 s */
    uint32_t idle_s;                    /* migrate: nothing heard for this long, the peer is
                                         * gone (1..3600; 0: 30 s) */
};

/* Parses "PARTITION DISK VERB ARGS..." into r: 0, or -1 with one line in err. */
int disk_op_parse(const char *words, struct disk_op_request *r, char *err, size_t err_size);
const char *disk_op_verb_name(enum disk_op_verb v);
/* Verbs that start a job (the others act on one or on a file). */
bool disk_op_verb_is_job(enum disk_op_verb v);
/* The job a verb runs. */
enum disk_job_op disk_op_job_op(enum disk_op_verb v);
/* Whether the disk switches to the job's result (move, convert, compact, defrag, merge). */
bool disk_op_verb_switches(enum disk_op_verb v);
/* Per mille of the work done (total grows with re-copies, so it can go back). */
uint32_t disk_op_permille(uint64_t done, uint64_t total);
/* Milliseconds left at the rate so far (done bytes in elapsed_ms); UINT64_MAX: unknown. */
uint64_t disk_op_eta_ms(uint64_t done, uint64_t total, uint64_t elapsed_ms);

#endif
