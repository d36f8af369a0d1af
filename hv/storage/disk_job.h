/*
 * Meta-operations on an open VHDX as background jobs run in bounded steps: copy, convert
 * (dynamic <-> fixed, VHDX <-> raw), compact, defragment, merge.  A worker calls
 * disk_job_step() between guest requests (holding the disk's lock for the step only); the
 * disk path calls disk_job_note_write() for every guest write or trim, so a unit the job
 * has already passed is copied again; disk_job_finish(), under the disk's lock with guest
 * I/O held, copies what is still dirty and makes the result durable.  Copy-like jobs write
 * a new image on `dst` (a file under a temporary name); the caller switches to it (rename)
 * after finish: a cut before the switch leaves the old disk, after it the new one.  A merge
 * works in place through the VHDX log (see vhdx_merge.c).  Portable; design in
 * hv/storage/disk_jobs.md.
 */
#ifndef ATOLL_HV_STORAGE_DISK_JOB_H
#define ATOLL_HV_STORAGE_DISK_JOB_H
#include <stdbool.h>
#include <stdint.h>

#include "hv/storage/dedup_index.h"
#include "hv/storage/vhdx.h"

#define DISK_JOB_UNIT (1024u * 1024u) /* the job copies and tracks dirt in 1 MiB units */

enum disk_job_op {
    DISK_JOB_COPY,    /* the disk's content into a new image (format below) */
    DISK_JOB_CONVERT, /* the same; the tool's name when the format changes */
    DISK_JOB_COMPACT, /* a new dynamic image without unused or all-zero blocks */
    DISK_JOB_DEFRAG,  /* a new dynamic image, its payload blocks in BAT order */
    DISK_JOB_MERGE,   /* a differencing disk into its parent, in place */
};

enum disk_job_format {
    DISK_FORMAT_VHDX,       /* dynamic: all-zero units not allocated */
    DISK_FORMAT_VHDX_FIXED, /* every block allocated, in order; leave_allocated set */
    DISK_FORMAT_RAW,
};

enum disk_job_state {
    DISK_JOB_RUNNING = 1,   /* more steps to run */
    DISK_JOB_PAUSED = 2,
    DISK_JOB_READY = 3,     /* the first pass is done, little is dirty: call disk_job_finish */
    DISK_JOB_DONE = 4,      /* finished: the result is durable */
    DISK_JOB_CANCELLED = 5, /* dst is to be deleted; a cancelled merge leaves the chain whole */
};

struct disk_job_params {
    enum disk_job_op op;
    /* The disk: an open VHDX (for a merge, the child opened writable with its parent
     * writable), or for copy/convert a raw source through src_raw of src_raw_size bytes. */
    struct vhdx *src;
    const struct vhdx_io *src_raw;
    uint64_t src_raw_size;
    uint32_t raw_sector_size;   /* a raw source's logical sector size; 0: 512 */
    /* Copy-like jobs: the new image's storage (empty unless resume) and its name. */
    const struct vhdx_io *dst;
    const char *dst_name;
    const struct vhdx_env *env; /* needed without src (raw source); else src's is used */
    enum disk_job_format format;
    uint32_t block_size;        /* of a new VHDX; 0: the source's (32 MiB for raw) */
    /* Resume an earlier cut copy: dst holds its partial result; units that already match
     * are read, not written.  Standalone targets only. */
    bool resume;
    /*
     * Copy onto a base the destination already holds: dst becomes a differencing disk of
     * base (open, read-only) with these locator paths; a unit whose content base already
     * has is not written.  When base's DataWriteGuid equals the source's parent's, units
     * the source's own layer lacks are skipped unread (the identity seed); others are
     * compared through `dedup` (base indexed as base_obj) or, without one, by reading base.
     */
    struct vhdx *base;
    const char *base_rel, *base_abs;
    struct dedup_index *dedup;
    uint32_t base_obj;
    uint32_t ready_dirty_units; /* READY once at most this many units are dirty; 0: 16 */
    /* A copy of a differencing disk whose destination holds its parents (a storage
     * migration that sent or found them there): on the first pass a unit the source's own
     * layer does not touch is skipped unread (bytes_dedup); the rest is written whole,
     * zeros included (the destination's parent may hold other bytes there). */
    bool parents_at_dst;
};

struct disk_job_progress {
    enum disk_job_state state;
    uint64_t done, total;      /* bytes of virtual disk; total grows with re-copies */
    uint64_t bytes_read, bytes_written;
    uint64_t bytes_zero;       /* units not written because they read as zero */
    uint64_t bytes_dedup;      /* units not written because the destination holds them */
    uint32_t dirty_units;      /* passed units written since: copied again */
    uint32_t dirty_marked;     /* every such mark since the start: the units re-copied */
    uint32_t passes;           /* 1 + re-copy passes started */
};

struct disk_job;

int disk_job_start(const struct disk_job_params *p, struct disk_job **out,
                   struct vhdx_err *err);
/*
 * Runs up to about `budget` bytes of the job (at least one unit); returns the state
 * (DISK_JOB_RUNNING, _PAUSED, _READY, _DONE, _CANCELLED) or a negative vhdx_status.  Each
 * step ends with the target flushed.
 */
int disk_job_step(struct disk_job *j, uint64_t budget, struct vhdx_err *err);
/* A guest write or trim of [off, off+len) on the source, under the disk's lock. */
void disk_job_note_write(struct disk_job *j, uint64_t off, uint64_t len);
/*
 * Under the disk's lock, guest I/O held: copies every unit left (or dirty), flushes and, for
 * copy-like jobs, closes the new image (VHDX log emptied).  Afterwards the caller switches
 * the disk to the result and may release the lock.  Returns DISK_JOB_DONE or an error.
 */
int disk_job_finish(struct disk_job *j, struct vhdx_err *err);
void disk_job_pause(struct disk_job *j);
void disk_job_resume(struct disk_job *j);
void disk_job_cancel(struct disk_job *j);
void disk_job_get_progress(const struct disk_job *j, struct disk_job_progress *out);
/* Frees the job; a new image still open (cancel, error) is closed as it is. */
void disk_job_free(struct disk_job *j);

const char *disk_job_op_name(enum disk_job_op op);

#endif
