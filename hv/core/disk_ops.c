/* Live disk operations on attached disks (see disk_ops.h and hv/storage/disk_jobs.md). */
#include "hv/core/disk_ops.h"

#include <string.h>

#include "hv/arch/x86/console.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/migrate.h"
#include "hv/core/partition_disks.h"
#include "hv/core/partition_pause.h"
#include "hv/core/services.h"
#include "hv/core/storage_migrate.h"
#include "hv/lib/crc32c.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"
#include "hv/storage/block.h"
#include "hv/storage/pool.h"
#include "hv/storage/pool_clone.h"
#include "hv/storage/pool_write_observer.h"
#include "hv/storage/rate_limit.h"

#define MIB (1ull << 20)
/* A storage migration whose guest keeps more than 2 units dirty stops re-copying after
 * this many passes: the rest is staged with the partition paused (as live migration's
 * round limit). */
#define DISK_OPS_MIGRATE_PASSES 8u
#define TMP_SUFFIX ".tmp"
/* after/around: how long the live migration may take to come (wait=S) */
#define DISK_OPS_LIVE_WAIT_S 600u

struct disk_op {
    bool used;
    uint32_t id;
    struct disk_op_request req;
    enum disk_op_state state;
    struct partition *part;
    unsigned disk;
    uint64_t seq;                   /* start order: the newest is listed first */

    /* Under the pool's lock (the step runs there too). */
    struct disk_job *job;
    struct fat_file dst_file;
    struct vhdx_io dst_io;
    char tmp[DISK_OP_PATH_LEN + sizeof(TMP_SUFFIX)];
    int step_rc;                    /* the last step: a disk_job state or a vhdx status */
    char step_err[120];

    struct block_request br;        /* the step in the disk's BACKGROUND queue */
    bool inflight;                  /* atomic: br is queued or running */
    bool switch_wait;               /* the partition could not be paused: try again */
    struct rate_limit rl;
    bool limited;
    uint64_t start_ns, end_ns;
    struct disk_job_progress pr;    /* at the last step */
    char msg[160];

    /* migrate: the job's target is the storage migration's staging ring */
    bool migrate;
    bool committing;                /* the last units staged, COMMIT going out */
    uint64_t held_us;
    bool final_pause;               /* paused for the last dirty units */
    struct partition_pause at;
    uint64_t pause_ns;
    bool crc_set;
    uint32_t crc;                   /* the disk's CRC-32C at the final pause (verify) */
    /* after/around: the hand-over waits for the partition to leave by a live migration */
    bool waiting;                   /* after: no job; the op ends when the partition leaves */
    uint64_t ready_ns;              /* around: the copy first mirrored the disk */
};

static struct disk_op ops[DISK_OPS_MAX];
static uint32_t next_id = 1;
static uint64_t next_seq = 1;
static uint8_t step_token;          /* a step request's buffer: never read or written */

static const char *const state_names[] = {
    [DISK_OP_QUEUED] = "queued", [DISK_OP_RUNNING] = "running", [DISK_OP_PAUSED] = "paused",
    [DISK_OP_DONE] = "done", [DISK_OP_FAILED] = "failed", [DISK_OP_CANCELLED] = "cancelled",
};

const char *disk_op_state_name(enum disk_op_state s)
{
    return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

static bool active(const struct disk_op *o)
{
    return o->used && (o->state == DISK_OP_QUEUED || o->state == DISK_OP_RUNNING ||
                       o->state == DISK_OP_PAUSED);
}

static struct partition *find_partition(const char *name)
{
    for (unsigned i = 0; i < partition_count; i++)
        if (partitions[i] && partitions[i]->state != PART_DEAD &&
            !strcmp(partitions[i]->name, name))
            return partitions[i];
    return NULL;
}

/* The disk's job that is not over (running, paused or queued), oldest first. */
static struct disk_op *disk_job_of(struct partition *p, unsigned disk, bool queued_too)
{
    struct disk_op *best = NULL;
    for (unsigned i = 0; i < DISK_OPS_MAX; i++) {
        struct disk_op *o = &ops[i];
        if (active(o) && o->part == p && o->disk == disk &&
            (queued_too || o->state != DISK_OP_QUEUED) && (!best || o->seq < best->seq))
            best = o;
    }
    return best;
}

static bool file_exists(const char *path)
{
    struct fat_stat st;
    return fat_stat(pool_volume(), path, &st) == 0;
}

static uint64_t elapsed_ms(const struct disk_op *o)
{
    uint64_t end = o->end_ns ? o->end_ns : time_ns();
    return o->start_ns && end > o->start_ns ? (end - o->start_ns) / 1000000 : 0;
}

/* Says how a job ended, in one line. */
static void end_op(struct disk_op *o, enum disk_op_state st, const char *fmt, const char *why)
{
    char line[360];
    o->state = st;
    o->end_ns = time_ns();
    fmt_snprintf(line, sizeof(line), fmt, why);
    strlcpy(o->msg, line, sizeof(o->msg));
    kprintf("disk: %s %s %s #%u: %s\n", o->req.partition, o->req.disk,
            disk_op_verb_name(o->req.verb), o->id, line);
}

/* The pool's lock held: the job and its temporary file go (cancel, failure, an end). */
static void discard_job(struct disk_op *o)
{
    if (o->migrate && o->state != DISK_OP_QUEUED) {
        storage_migrate_close("the source's job ended (cancelled or failed)");
        o->committing = false;
        o->final_pause = false;     /* (only a dead partition's: see control_job) */
    }
    if (o->job) {
        if (o->state != DISK_OP_QUEUED && o->part->state != PART_DEAD)
            partition_disk_set_job(o->part, o->disk, NULL);
        disk_job_free(o->job);
        o->job = NULL;
    }
    if (o->dst_file.v)
        fat_close(&o->dst_file);
    if (o->tmp[0] && file_exists(o->tmp))
        fat_unlink(pool_volume(), o->tmp);
    fat_sync(pool_volume());
}

/* The pool's lock held: connects to the target host and starts a raw copy into the
 * storage migration's staging ring. */
static bool begin_migrate(struct disk_op *o, struct vhdx *src, char *err, size_t err_size)
{
    struct vhdx_info info;
    vhdx_get_info(src, &info);
    struct storage_migrate_params mp = {
        .host = o->req.host, .name = o->req.dst, .disk_size = info.disk_size,
        .sector_size = info.logical_sector_size, .block_size = info.block_size,
        .verify = o->req.verify, .link_mbps = o->req.link_mbps,
        .after = o->req.after, .path = o->req.disk, .disk = src,
        .around = o->req.around, .read_mbps = o->req.mbps,
        .idle_s = o->req.idle_s,
    };
    if (!storage_migrate_open(&mp, err, err_size))
        return false;
    o->migrate = true;
    if (o->req.after) {
        /* No job here: the op waits for the partition to leave (cancel, wait=); the storage
         * migration serves the target's READs on its own once it has left this host
         * (storage_migrate_source.c). */
        o->waiting = true;
        o->state = DISK_OP_RUNNING;
        o->start_ns = time_ns();
        return true;
    }
    struct disk_job_params jp = {
        .op = DISK_JOB_COPY, .src = src, .dst = storage_migrate_io(), .dst_name = o->req.host,
        .format = DISK_FORMAT_RAW, .ready_dirty_units = 2,
        .parents_at_dst = info.has_parent,  /* sent first, or held there */
    };
    struct vhdx_err verr;
    if (disk_job_start(&jp, &o->job, &verr) != 0) {
        fmt_snprintf(err, err_size, "%s", verr.msg);
        storage_migrate_close(verr.msg);
        o->migrate = false;
        return false;
    }
    partition_disk_set_job(o->part, o->disk, o->job);
    storage_migrate_set_job(o->job);
    o->state = DISK_OP_RUNNING;
    o->start_ns = time_ns();
    disk_job_get_progress(o->job, &o->pr);
    return true;
}

/* The pool's lock held: opens the temporary file and starts the job on disk o->disk. */
static bool begin_job(struct disk_op *o, char *err, size_t err_size)
{
    struct fat_vol *v = pool_volume();
    struct vhdx *src = partition_disk_vhdx(o->part, o->disk);
    if (!src) {
        fmt_snprintf(err, err_size, "%s is not an open VHDX", o->req.disk);
        return false;
    }
    if (o->req.verb == DISK_VERB_MIGRATE)
        return begin_migrate(o, src, err, err_size);
    const char *base = o->req.verb == DISK_VERB_COMPACT || o->req.verb == DISK_VERB_DEFRAG
                       ? o->req.disk : o->req.dst;
    fmt_snprintf(o->tmp, sizeof(o->tmp), "%s" TMP_SUFFIX, base);
    if (file_exists(o->tmp))
        fat_unlink(v, o->tmp);      /* a cut job's leftover: the disk it was for is whole */
    if (fat_open(v, o->tmp, FAT_O_CREATE | FAT_O_TRUNC, &o->dst_file) != 0) {
        fmt_snprintf(err, err_size, "cannot create %s: %s", o->tmp, v->err[0] ? v->err : "?");
        o->tmp[0] = '\0';
        return false;
    }
    pool_vhdx_io(&o->dst_file, &o->dst_io);
    struct disk_job_params jp = {
        .op = disk_op_job_op(o->req.verb), .src = src, .dst = &o->dst_io, .dst_name = o->tmp,
        .format = disk_op_verb_is_job(o->req.verb) && o->req.dst[0] ? o->req.format
                                                                     : DISK_FORMAT_VHDX,
        .ready_dirty_units = 2,
    };
    struct vhdx_err verr;
    if (disk_job_start(&jp, &o->job, &verr) != 0) {
        fmt_snprintf(err, err_size, "%s", verr.msg);
        discard_job(o);
        return false;
    }
    partition_disk_set_job(o->part, o->disk, o->job);
    o->state = DISK_OP_RUNNING;
    o->start_ns = time_ns();
    disk_job_get_progress(o->job, &o->pr);
    return true;
}

/*
 * The pool's lock held, the partition paused (its disks quiesced): the attached child is
 * reopened with its parent writable and the merge job starts on it.  The child's content
 * does not change; the parent it will become is remembered as the job's destination.
 */
static bool begin_merge_paused(struct disk_op *o, char *err, size_t err_size)
{
    struct vhdx *c = partition_disk_vhdx(o->part, o->disk);
    if (!c) {
        fmt_snprintf(err, err_size, "%s is not an open VHDX", o->req.disk);
        return false;
    }
    static struct vhdx_info info;   /* the pool's lock */
    vhdx_get_info(c, &info);
    if (!info.has_parent || !vhdx_parent(c)) {
        fmt_snprintf(err, err_size, "%s is not a differencing disk: nothing to merge",
                     o->req.disk);
        return false;
    }
    strlcpy(o->req.dst, info.parent_name, sizeof(o->req.dst));
    if (!partition_disk_switch_file(o->part, o->disk, o->req.disk, VHDX_OPEN_PARENT_RW, err,
                                    err_size)) {
        char again[120];
        if (!partition_disk_switch_file(o->part, o->disk, o->req.disk, 0, again, sizeof(again)))
            partition_disk_fail(o->part, o->disk);
        return false;
    }
    struct disk_job_params jp = {
        .op = DISK_JOB_MERGE, .src = partition_disk_vhdx(o->part, o->disk),
        .ready_dirty_units = 2,
    };
    struct vhdx_err verr;
    if (disk_job_start(&jp, &o->job, &verr) != 0) {
        fmt_snprintf(err, err_size, "%s", verr.msg);
        return false;               /* the disk stays open with its parent writable */
    }
    partition_disk_set_job(o->part, o->disk, o->job);
    o->state = DISK_OP_RUNNING;
    o->start_ns = time_ns();
    disk_job_get_progress(o->job, &o->pr);
    return true;
}

/* Boot CPU, no lock: starts job o (a merge pauses the partition to reopen its disk). */
static bool begin_any(struct disk_op *o, char *err, size_t err_size)
{
    struct partition_pause at;
    bool merge = o->req.verb == DISK_VERB_MERGE;
    if (merge && !partition_pause(o->part, &at, err, err_size))
        return false;
    partition_pool_lock();
    bool ok = merge ? begin_merge_paused(o, err, err_size) : begin_job(o, err, err_size);
    partition_pool_unlock();
    if (merge)
        partition_resume(o->part, &at);
    return ok;
}

void disk_ops_start(const struct manifest_hypervisor *hv, const struct boot_info *bi)
{
    (void)hv;
    (void)bi;
}

/* ---- requests ------------------------------------------------------------------------ */

static struct disk_op *new_op(void)
{
    struct disk_op *o = NULL;
    for (unsigned i = 0; i < DISK_OPS_MAX; i++) {
        if (!ops[i].used)
            return &ops[i];
        if (!active(&ops[i]) && (!o || ops[i].seq < o->seq))
            o = &ops[i];        /* the oldest ended one makes room */
    }
    return o;
}

static bool refuse(char *msg, size_t msg_size, const struct disk_op_request *r, const char *fmt,
                   const char *arg)
{
    char why[240];
    fmt_snprintf(why, sizeof(why), fmt, arg);
    fmt_snprintf(msg, msg_size, "disk: %s %s %s: refused: %s", r->partition[0] ? r->partition
                 : "-", r->disk, disk_op_verb_name(r->verb), why);
    kprintf("%s\n", msg);
    return false;
}

static bool attached_anywhere(const char *path)
{
    for (unsigned i = 0; i < partition_count; i++)
        if (partitions[i] && partitions[i]->state != PART_DEAD &&
            partition_disk_find(partitions[i], path) >= 0)
            return true;
    return false;
}

static bool delete_file(const struct disk_op_request *r, char *msg, size_t msg_size)
{
    if (!pool_volume())
        return refuse(msg, msg_size, r, "%s", "no storage pool is mounted");
    if (attached_anywhere(r->disk))
        return refuse(msg, msg_size, r, "%s", "a partition has it attached");
    /* an image's parent stays; a clone's base goes with its last child */
    char what[240];
    partition_pool_lock();
    int rc = pool_clone_delete(pool_volume(), pool_vhdx_env(), r->disk, attached_anywhere, what,
                               sizeof what);
    partition_pool_unlock();
    if (rc == POOL_CLONE_DECLINED)
        return refuse(msg, msg_size, r, "%s", what);
    if (rc)
        return refuse(msg, msg_size, r, "the pool refused to remove it: %s", what);
    fmt_snprintf(msg, msg_size, "disk: - %s delete: %s", r->disk, what);
    kprintf("%s\n", msg);
    return true;
}

static bool control_job(struct disk_op *o, enum disk_op_verb verb, char *msg, size_t msg_size)
{
    if (verb == DISK_VERB_CANCEL && (o->waiting || o->req.around) && migrate_sending(o->part)) {
        /* The target may run the partition on its copy any moment now. */
        fmt_snprintf(msg, msg_size, "disk: %s %s cancel #%u: refused: a live migration of %s "
                     "is under way (cancel that first)", o->req.partition, o->req.disk, o->id,
                     o->req.partition);
        kprintf("%s\n", msg);
        return false;
    }
    partition_pool_lock();
    if (verb == DISK_VERB_CANCEL) {
        if (o->state != DISK_OP_QUEUED && o->job)
            disk_job_cancel(o->job);    /* the step in flight, if any, sees it */
        /* In a migration's final pause the poll resumes the partition first. */
        if (!__atomic_load_n(&o->inflight, __ATOMIC_ACQUIRE) && !o->final_pause) {
            discard_job(o);
            end_op(o, DISK_OP_CANCELLED, "%s", "cancelled; the disk is unchanged");
        }
    } else if (verb == DISK_VERB_PAUSE && o->state == DISK_OP_RUNNING && o->job) {
        disk_job_pause(o->job);
        o->state = DISK_OP_PAUSED;
    } else if (verb == DISK_VERB_RESUME && o->state == DISK_OP_PAUSED && o->job) {
        disk_job_resume(o->job);
        o->state = DISK_OP_RUNNING;
    }
    partition_pool_unlock();
    fmt_snprintf(msg, msg_size, "disk: %s %s %s #%u: %s", o->req.partition, o->req.disk,
                 disk_op_verb_name(verb), o->id,
                 verb == DISK_VERB_CANCEL && active(o) ? "cancelling" : disk_op_state_name(o->state));
    kprintf("%s\n", msg);
    return true;
}

bool disk_ops_request(const struct disk_op_request *r, uint32_t *id, char *msg,
                      size_t msg_size)
{
    if (id)
        *id = 0;
    if (r->verb == DISK_VERB_DELETE)
        return delete_file(r, msg, msg_size);
    struct partition *p = find_partition(r->partition);
    if (!p)
        return refuse(msg, msg_size, r, "no running partition is named '%s'", r->partition);
    int disk = partition_disk_find(p, r->disk);
    if (disk < 0)
        return refuse(msg, msg_size, r, "%s", "the partition has no such disk");
    struct disk_op *cur = disk_job_of(p, (unsigned)disk, true);
    if (!disk_op_verb_is_job(r->verb)) {
        if (!cur)
            return refuse(msg, msg_size, r, "%s", "no job runs on that disk");
        return control_job(cur, r->verb, msg, msg_size);
    }
    if (r->dst[0] && r->verb != DISK_VERB_MIGRATE &&
        (attached_anywhere(r->dst) || file_exists(r->dst)))
        return refuse(msg, msg_size, r, "%s already exists in the pool", r->dst);
    struct disk_op *o = new_op();
    if (!o)
        return refuse(msg, msg_size, r, "%s", "too many jobs running");
    memset(o, 0, sizeof(*o));
    o->used = true;
    o->id = next_id++;
    o->seq = next_seq++;
    o->req = *r;
    o->part = p;
    o->disk = (unsigned)disk;
    o->state = DISK_OP_QUEUED;
    o->limited = r->mbps || r->iops;
    rate_limit_init(&o->rl, r->iops, (uint64_t)r->mbps * MIB, time_ns());
    if (cur) {
        fmt_snprintf(o->msg, sizeof(o->msg), "queued behind #%u", cur->id);
    } else {
        char err[120];
        bool ok = begin_any(o, err, sizeof(err));
        if (!ok) {
            o->used = false;
            return refuse(msg, msg_size, r, "%s", err);
        }
        fmt_snprintf(o->msg, sizeof(o->msg), "%s", r->after ? "started (after: the target "
                     "pulls the units; served here once the partition has left)" : r->around ?
                     "started (around: copied until the partition leaves, then the target "
                     "pulls the rest)" : "started");
    }
    if (id)
        *id = o->id;
    char to[DISK_OP_HOST_LEN + 4];
    fmt_snprintf(to, sizeof(to), "%s%s", r->host, r->host[0] ? " " : "");
    fmt_snprintf(msg, msg_size, "disk: %s %s %s%s%s%s #%u: %s%s", r->partition, r->disk,
                 disk_op_verb_name(r->verb), r->dst[0] ? " " : "", to, r->dst, o->id, o->msg,
                 o->limited || r->link_mbps ? " (throttled)" : "");
    kprintf("%s\n", msg);
    return true;
}

/* ---- steps: the disk's worker item ---------------------------------------------------- */

/* The pool's lock held: a merge step or finish is about to change the parent's contents
 * (the pool's write observers hear it first, as for a guest write). */
static void note_merge_writes(const struct disk_op *o)
{
    if (o->job && o->req.verb == DISK_VERB_MERGE)
        pool_write_note(POOL_WRITE_DISK, o->req.dst, 0, POOL_WRITE_ALL);
}

int disk_ops_run_step(struct block_request *r)
{
    struct disk_op *o = r->ctx;
    struct vhdx_err err;
    err.msg[0] = '\0';
    note_merge_writes(o);
    int rc = o->job ? disk_job_step(o->job, DISK_JOB_UNIT, &err) : DISK_JOB_CANCELLED;
    o->step_rc = rc;
    if (rc < 0)
        fmt_snprintf(o->step_err, sizeof(o->step_err), "%s", err.msg);
    if (o->job)
        disk_job_get_progress(o->job, &o->pr);
    return BLOCK_OK;
}

/* block_complete's callback, under the disk's lock: the boot CPU's poll takes it on. */
static void step_done(struct block_request *r, int status)
{
    struct disk_op *o = r->ctx;
    if (status != BLOCK_OK && o->step_rc >= 0)
        o->step_rc = -1000;
    __atomic_store_n(&o->inflight, false, __ATOMIC_RELEASE);
}

/* The pool's lock held: queues the job's next step when its bucket allows; the wait. */
static uint64_t next_step(struct disk_op *o)
{
    uint64_t now = time_ns();
    if (o->migrate) {
        /* A step stages at most two units (a short last unit and one more). */
        if (storage_migrate_state(o->step_err, sizeof(o->step_err)) == SMIG_SRC_FAILED) {
            o->step_rc = -1000;
            return 0;
        }
        if (storage_migrate_room() < 2)
            return 1000000;
    }
    if (o->limited && !rate_limit_take(&o->rl, DISK_JOB_UNIT, now)) {
        uint64_t w = rate_limit_wait_ns(&o->rl, DISK_JOB_UNIT, now);
        return w ? w : 1000;
    }
    struct vhdx *src = partition_disk_vhdx(o->part, o->disk);
    struct vhdx_info info = { .logical_sector_size = 512, .disk_size = DISK_JOB_UNIT };
    if (src)
        vhdx_get_info(src, &info);
    uint64_t bytes = info.disk_size < DISK_JOB_UNIT ? info.disk_size : DISK_JOB_UNIT;
    o->br = (struct block_request){      /* its size is the class's cost: one unit */
        .op = BLOCK_READ, .cls = BLOCK_CLASS_BACKGROUND, .lba = 0,
        .count = (uint32_t)(bytes / info.logical_sector_size), .buf = &step_token,
        .done = step_done, .ctx = o,
    };
    __atomic_store_n(&o->inflight, true, __ATOMIC_RELEASE);
    int rc = partition_disk_submit_background(o->part, o->disk, &o->br);
    if (rc == BLOCK_E_BUSY) {
        __atomic_store_n(&o->inflight, false, __ATOMIC_RELEASE);
        return 1000000;
    }
    if (rc != BLOCK_OK) {
        __atomic_store_n(&o->inflight, false, __ATOMIC_RELEASE);
        o->step_rc = -1000;
        fmt_snprintf(o->step_err, sizeof(o->step_err), "the disk refused the step (%d)", rc);
    }
    return 0;
}

/* ---- the switch --------------------------------------------------------------------- */

static const char *switch_files(struct disk_op *o, char *err, size_t err_size)
{
    struct fat_vol *v = pool_volume();
    struct partition *p = o->part;
    enum disk_op_verb verb = o->req.verb;
    if (verb == DISK_VERB_MERGE) {
        /* The parent now reads as the chain did; the child is closed with it, the parent
         * opened in its place, then the child removed (it would read as the parent only
         * until the parent is written). */
        partition_disk_set_job(p, o->disk, NULL);
        if (!partition_disk_switch_file(p, o->disk, o->req.dst, 0, err, err_size)) {
            char again[120];
            if (!partition_disk_switch_file(p, o->disk, o->req.disk, 0, again, sizeof(again)))
                partition_disk_fail(p, o->disk);
            return "opening the merged parent";
        }
        if (fat_unlink(v, o->req.disk))
            return "removing the merged child (the partition uses its parent)";
        return NULL;
    }
    if (verb == DISK_VERB_COPY) {
        if (fat_rename(v, o->tmp, o->req.dst))
            return "renaming the copy";
        o->tmp[0] = '\0';
        return NULL;
    }
    bool in_place = verb == DISK_VERB_COMPACT || verb == DISK_VERB_DEFRAG;
    const char *to = in_place ? o->req.disk : o->req.dst;
    partition_disk_set_job(p, o->disk, NULL);
    partition_disk_switch_file(p, o->disk, NULL, 0, err, err_size);     /* closes */
    if (in_place) {
        /* The new image is whole under TMP before the old goes: a cut between the unlink
         * and the rename leaves only DISK.tmp, which `vhdx check` accepts and a rename
         * restores (disk_jobs.md). */
        if (fat_unlink(v, o->req.disk) || fat_rename(v, o->tmp, o->req.disk))
            return "replacing the disk by its new image";
    } else if (fat_rename(v, o->tmp, o->req.dst)) {
        partition_disk_switch_file(p, o->disk, o->req.disk, 0, err, err_size);
        return "renaming the new image";
    }
    o->tmp[0] = '\0';
    fat_sync(v);
    if (!partition_disk_switch_file(p, o->disk, to, 0, err, err_size)) {
        if (in_place || !partition_disk_switch_file(p, o->disk, o->req.disk, 0, err, err_size))
            partition_disk_fail(p, o->disk);
        return "opening the new image";
    }
    if (!in_place && fat_unlink(v, o->req.disk))
        return "removing the old disk (the partition uses the new one)";
    return NULL;
}

/* Boot CPU: the partition paused (its disks quiesced), the rest of the dirt copied, the
 * result made durable, the disk switched. */
static void finish_op(struct disk_op *o)
{
    struct partition_pause at;
    char err[160];
    if (!partition_pause(o->part, &at, err, sizeof(err))) {
        o->switch_wait = true;      /* paused by someone else, or ending: later */
        return;
    }
    o->switch_wait = false;
    uint64_t t0 = time_ns();
    partition_pool_lock();
    struct vhdx_err verr;
    verr.msg[0] = '\0';
    note_merge_writes(o);
    int rc = o->job ? disk_job_finish(o->job, &verr) : -1;
    if (o->job)
        disk_job_get_progress(o->job, &o->pr);
    const char *failed = NULL;
    err[0] = '\0';
    if (rc != DISK_JOB_DONE) {
        failed = "finishing";
        fmt_snprintf(err, sizeof(err), "%s", verr.msg);
    } else {
        if (o->dst_file.v)
            fat_close(&o->dst_file);
        failed = switch_files(o, err, sizeof(err));
    }
    if (failed) {
        discard_job(o);
        char why[200];
        fmt_snprintf(why, sizeof(why), "%s: %s", failed, err[0] ? err : "the pool refused");
        end_op(o, DISK_OP_FAILED, "failed %s", why);
    } else {
        partition_disk_set_job(o->part, o->disk, NULL);
        disk_job_free(o->job);
        o->job = NULL;
        fat_sync(pool_volume());
    }
    partition_pool_unlock();
    uint64_t held_us = (time_ns() - t0) / 1000;
    partition_resume(o->part, &at);
    if (failed)
        return;
    char done[160];
    fmt_snprintf(done, sizeof(done), "done: %lu MiB in %lu ms, %u passes, re-copied %u dirty "
                 "units, guest I/O held %lu us%s%s", (unsigned long)(o->pr.done / MIB),
                 (unsigned long)elapsed_ms(o), o->pr.passes, o->pr.dirty_marked,
                 (unsigned long)held_us,
                 !disk_op_verb_switches(o->req.verb) ? ""
                 : o->req.dst[0] ? "; the disk is now " : "; the disk is now its new image",
                 o->req.dst[0] && disk_op_verb_switches(o->req.verb) ? o->req.dst : "");
    end_op(o, DISK_OP_DONE, "%s", done);
}

/* ---- storage migration's end ---------------------------------------------------------- */

/* The pool's lock held, the partition paused: the disk's CRC-32C, unit by unit. */
static bool disk_crc(struct vhdx *d, uint32_t *crc, struct vhdx_err *err)
{
    uint8_t *buf = kmem_alloc_pages(DISK_JOB_UNIT / 4096);
    if (!buf) {
        fmt_snprintf(err->msg, sizeof(err->msg), "out of memory for the disk's CRC");
        return false;
    }
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    *crc = 0;
    bool ok = true;
    for (uint64_t off = 0; ok && off < info.disk_size; off += DISK_JOB_UNIT) {
        size_t n = info.disk_size - off < DISK_JOB_UNIT ? (size_t)(info.disk_size - off)
                                                         : DISK_JOB_UNIT;
        ok = vhdx_read(d, off, buf, n, err) == 0;
        if (ok)
            *crc = crc32c(*crc, buf, n);
    }
    kmem_free_pages(buf, DISK_JOB_UNIT / 4096);
    return ok;
}

/*
 * Boot CPU, every staged unit sent: the partition is paused (its disks quiesced) and stays
 * paused across polls while the last dirty units are staged as the ring empties (the
 * disk's worker is idle: the steps run here, under the pool's lock); then the disk's
 * CRC-32C (verify), the partition resumed, COMMIT after the last unit.  The disk stays.
 */
static void finish_migrate(struct disk_op *o)
{
    if (!o->final_pause) {
        char err[160];
        if (!partition_pause(o->part, &o->at, err, sizeof(err))) {
            o->switch_wait = true;
            return;
        }
        o->switch_wait = false;
        o->final_pause = true;
        o->pause_ns = time_ns();
    }
    partition_pool_lock();
    struct vhdx_err verr;
    verr.msg[0] = '\0';
    int rc = DISK_JOB_RUNNING;
    disk_job_get_progress(o->job, &o->pr);
    while (o->pr.dirty_units && storage_migrate_room() >= 2 &&
           (rc == DISK_JOB_RUNNING || rc == DISK_JOB_READY)) {
        rc = disk_job_step(o->job, DISK_JOB_UNIT, &verr);
        disk_job_get_progress(o->job, &o->pr);
    }
    char link[160];
    if (storage_migrate_state(link, sizeof(link)) == SMIG_SRC_FAILED) {
        rc = -1;
        strlcpy(verr.msg, link, sizeof(verr.msg));
    }
    if ((rc == DISK_JOB_RUNNING || rc == DISK_JOB_READY) && !o->pr.dirty_units)
        rc = disk_job_finish(o->job, &verr);
    if (rc == DISK_JOB_DONE && o->req.verify)
        o->crc_set = disk_crc(partition_disk_vhdx(o->part, o->disk), &o->crc, &verr);
    if (rc == DISK_JOB_DONE && o->req.verify && !o->crc_set)
        rc = -1;
    if (rc == DISK_JOB_DONE || rc < 0) {
        disk_job_get_progress(o->job, &o->pr);
        partition_disk_set_job(o->part, o->disk, NULL);
    }
    partition_pool_unlock();
    if (rc == DISK_JOB_RUNNING || rc == DISK_JOB_READY)
        return;                     /* more units than the ring holds now: next poll */
    o->final_pause = false;
    o->held_us = (time_ns() - o->pause_ns) / 1000;
    partition_resume(o->part, &o->at);
    if (rc == DISK_JOB_PAUSED || rc == DISK_JOB_CANCELLED) {
        o->step_rc = rc;            /* the poll goes on as for any step */
        return;
    }
    partition_pool_lock();
    if (rc != DISK_JOB_DONE) {
        discard_job(o);
        end_op(o, DISK_OP_FAILED, "failed finishing: %s", verr.msg[0] ? verr.msg : "?");
    } else {
        disk_job_free(o->job);
        o->job = NULL;
        storage_migrate_commit(o->crc_set, o->crc);
        o->committing = true;
    }
    partition_pool_unlock();
    if (o->committing)
        kprintf("disk: %s %s migrate #%u: the last units staged after %u passes (guest I/O "
                "held %lu us); committing on %s\n", o->req.partition, o->req.disk, o->id,
                o->pr.passes, (unsigned long)o->held_us, o->req.host);
}

/* The pool's lock held: waits for the target's DONE; how long the poll may wait. */
static uint64_t migrate_committing(struct disk_op *o)
{
    char m[160];
    enum storage_migrate_state st = storage_migrate_state(m, sizeof(m));
    if (st == SMIG_SRC_FAILED) {
        discard_job(o);
        end_op(o, DISK_OP_FAILED, "failed: %s", m);
        return SERVICES_NONE;
    }
    if (st != SMIG_SRC_DONE)
        return 1000000;
    struct storage_migrate_stats ms;
    storage_migrate_get_stats(&ms);
    storage_migrate_close("");
    o->committing = false;
    char crc[80] = "";
    if (o->crc_set)
        fmt_snprintf(crc, sizeof(crc), ", crc32c 0x%08x (%s)", ms.target_crc,
                     ms.target_crc == o->crc ? "equal on both hosts" : "DIFFERENT on the target");
    char done[300];
    fmt_snprintf(done, sizeof(done), "done: %lu MiB in %lu ms, %u passes, re-copied %u dirty "
                 "units, guest I/O held %lu us; %s holds %s: sent %lu MiB of data and %lu MiB "
                 "as zero, wire %lu bytes, link throttled %lu times%s",
                 (unsigned long)(o->pr.done / MIB), (unsigned long)elapsed_ms(o), o->pr.passes,
                 o->pr.dirty_marked, (unsigned long)o->held_us, o->req.host, o->req.dst,
                 (unsigned long)(ms.data_bytes / MIB), (unsigned long)(ms.zero_bytes / MIB),
                 (unsigned long)ms.wire_bytes, (unsigned long)ms.link_throttled, crc);
    end_op(o, o->crc_set && ms.target_crc != o->crc ? DISK_OP_FAILED : DISK_OP_DONE, "%s", done);
    if (ms.parent_bytes || ms.parent_held_bytes)
        kprintf("disk: %s %s migrate #%u: parents: %lu bytes sent whole, %lu bytes held there "
                "(not sent); %lu KiB of the disk read through them (not sent)\n",
                o->req.partition, o->req.disk, o->id, (unsigned long)ms.parent_bytes,
                (unsigned long)ms.parent_held_bytes, (unsigned long)(o->pr.bytes_dedup >> 10));
    return SERVICES_NONE;
}

/* ---- after and around a live migration ------------------------------------------------- */

/* The pool's lock held: the wait for the live migration (wait=S, since `since`) is over and
 * none of the partition is under way: the hand-over is called off (ABORT: the target
 * discards NAME.tmp) and the disk stays here, as it is. */
static bool live_wait_over(struct disk_op *o, uint64_t since)
{
    uint32_t s = o->req.wait_s ? o->req.wait_s : DISK_OPS_LIVE_WAIT_S;
    if (time_ns() - since < (uint64_t)s * 1000000000ull || migrate_sending(o->part))
        return false;
    char why[240];
    fmt_snprintf(why, sizeof(why), "no live migration of %s came in %u s: called off; the disk "
                 "stays here, %s discards %s.tmp", o->req.partition, s, o->req.host, o->req.dst);
    storage_migrate_close(why);
    o->migrate = false;
    discard_job(o);
    end_op(o, DISK_OP_FAILED, "%s", why);
    return true;
}

/* The pool's lock held: an after-mode hand-over waits for its partition to leave. */
static uint64_t after_turn(struct disk_op *o)
{
    char m[160];
    enum storage_migrate_state st = storage_migrate_state(m, sizeof(m));
    if (st == SMIG_SRC_IDLE || st == SMIG_SRC_FAILED) {     /* it failed (and ended) */
        o->migrate = false;
        end_op(o, DISK_OP_FAILED, "failed: %s", m);
        return SERVICES_NONE;
    }
    return live_wait_over(o, o->start_ns) ? SERVICES_NONE : 100000000;
}

/* The pool's lock held: an around-mode copy has passed the whole disk; it keeps re-sending
 * what the guest rewrites until the partition leaves (or the wait is over). */
static uint64_t around_turn(struct disk_op *o)
{
    if (!o->ready_ns) {
        o->ready_ns = time_ns();
        kprintf("disk: %s %s migrate #%u: the copy has passed the disk (%u passes); re-sending "
                "what the guest writes until the partition leaves (at most %u s)\n",
                o->req.partition, o->req.disk, o->id, o->pr.passes,
                o->req.wait_s ? o->req.wait_s : DISK_OPS_LIVE_WAIT_S);
    }
    if (live_wait_over(o, o->ready_ns))
        return SERVICES_NONE;
    if (o->job)
        disk_job_get_progress(o->job, &o->pr);
    return o->pr.dirty_units ? next_step(o) : 10000000;
}

/* The pool's lock held, the partition gone by a live migration: an after op ends; an
 * around copy hands over (the units the target holds current, the rest served from here).
 * False: not handed over (the op fails as for any partition's end). */
static bool hand_over(struct disk_op *o)
{
    if (o->waiting) {
        enum storage_migrate_state st = storage_migrate_state(NULL, 0);
        if (st != SMIG_SRC_SERVE)
            return false;           /* it failed meanwhile: the op fails as for any end */
        o->migrate = false;         /* the storage migration serves on its own */
        end_op(o, DISK_OP_DONE, "%s", "the partition left by a live migration; its disk is "
               "served from here as the target asks");
        return true;
    }
    struct vhdx *d = partition_disk_vhdx(o->part, o->disk);
    if (!o->job || !d || o->final_pause || o->committing)
        return false;
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    uint32_t units = (uint32_t)((info.disk_size + DISK_JOB_UNIT - 1) / DISK_JOB_UNIT);
    size_t pages = ((size_t)units / 8 + 1 + 4095) / 4096;
    uint8_t *bm = kmem_alloc_pages(pages);
    if (!bm)
        return false;
    uint32_t cur = disk_job_current_units(o->job, bm);
    bool ok = storage_migrate_handover(bm, units);
    kmem_free_pages(bm, pages);
    if (!ok)
        return false;
    disk_job_get_progress(o->job, &o->pr);
    partition_disk_set_job(o->part, o->disk, NULL);
    disk_job_free(o->job);
    o->job = NULL;
    o->migrate = false;
    char done[240];
    fmt_snprintf(done, sizeof(done), "handed over with the partition: %u of %u units current on "
                 "%s (%u passes, re-copied %u dirty units); the rest is served from here",
                 cur, units, o->req.host, o->pr.passes, o->pr.dirty_marked);
    end_op(o, DISK_OP_DONE, "%s", done);
    return true;
}

/* ---- the poll --------------------------------------------------------------------------- */

static void start_queued(struct partition *p, unsigned disk)
{
    struct disk_op *o = disk_job_of(p, disk, true);
    if (!o || o->state != DISK_OP_QUEUED)
        return;
    char err[120];
    uint8_t guid[16];
    /* The disk may have moved under an earlier job: this one acts on its file now. */
    partition_disk_identity(p, disk, o->req.disk, sizeof(o->req.disk), guid);
    bool ok = o->req.dst[0] && (file_exists(o->req.dst) || attached_anywhere(o->req.dst))
              ? (fmt_snprintf(err, sizeof(err), "%s already exists", o->req.dst), false)
              : begin_any(o, err, sizeof(err));
    if (ok)
        kprintf("disk: %s %s %s #%u: started\n", o->req.partition, o->req.disk,
                disk_op_verb_name(o->req.verb), o->id);
    else
        end_op(o, DISK_OP_FAILED, "refused: %s", err);
}

uint64_t disk_ops_poll(void)
{
    uint64_t wait = SERVICES_NONE;
    for (unsigned i = 0; i < DISK_OPS_MAX; i++) {
        struct disk_op *o = &ops[i];
        if (!active(o) || o->state == DISK_OP_QUEUED ||
            __atomic_load_n(&o->inflight, __ATOMIC_ACQUIRE))
            continue;
        partition_pool_lock();
        uint64_t w = SERVICES_NONE;
        bool finish = false;
        if (!active(o)) {
            /* ended meanwhile (the partition went) */
        } else if (o->waiting) {
            w = after_turn(o);
        } else if (o->committing) {
            w = migrate_committing(o);
        } else if (o->migrate && !o->final_pause &&
                   storage_migrate_state(NULL, 0) == SMIG_SRC_FAILED) {
            char link[160];
            storage_migrate_state(link, sizeof(link));
            discard_job(o);
            end_op(o, DISK_OP_FAILED, "failed: %s", link);
        } else if (o->step_rc < 0) {
            char link[160];
            if (o->migrate && storage_migrate_state(link, sizeof(link)) == SMIG_SRC_FAILED)
                strlcpy(o->step_err, link, sizeof(o->step_err));   /* the cause, not the job's
                                                                     * refused write */
            discard_job(o);
            end_op(o, DISK_OP_FAILED, "failed: %s", o->step_err[0] ? o->step_err : "I/O error");
        } else if (o->step_rc == DISK_JOB_CANCELLED) {
            discard_job(o);
            end_op(o, DISK_OP_CANCELLED, "%s", "cancelled; the disk is unchanged");
        } else if (o->state == DISK_OP_PAUSED) {
            w = 50000000;
        } else if (o->final_pause) {
            finish = true;
        } else if (o->req.around && (o->step_rc == DISK_JOB_READY || o->pr.passes > 1)) {
            w = around_turn(o);
        } else if ((o->step_rc == DISK_JOB_READY || (o->migrate &&
                    o->step_rc == DISK_JOB_RUNNING && o->pr.passes > DISK_OPS_MIGRATE_PASSES))
                   && o->migrate && storage_migrate_room() < STORAGE_MIGRATE_SLOTS) {
            w = 1000000;                /* the staged units go out before the pause */
        } else if (o->step_rc == DISK_JOB_READY || (o->migrate &&
                   o->step_rc == DISK_JOB_RUNNING && o->pr.passes > DISK_OPS_MIGRATE_PASSES)) {
            finish = true;
        } else {
            w = next_step(o);
        }
        partition_pool_unlock();
        if (finish && o->migrate) {
            finish_migrate(o);
            w = o->switch_wait ? 1000000 : 0;
        } else if (finish) {
            finish_op(o);
            w = o->switch_wait ? 1000000 : 0;
        }
        if (!active(o) && o->part->state != PART_DEAD)
            start_queued(o->part, o->disk);
        wait = w < wait ? w : wait;
    }
    return wait;
}

/* ---- the partition's end, and listing ------------------------------------------------- */

void disk_ops_partition_gone(struct partition *p)
{
    /* (live migration's source stops it so once the target runs it) */
    bool moved = p->ended == PART_END_STOPPED && !strncmp(p->end_reason, "migrated to ", 12);
    partition_pool_lock();
    for (unsigned i = 0; i < DISK_OPS_MAX; i++) {
        struct disk_op *o = &ops[i];
        if (!active(o) || o->part != p)
            continue;
        if (moved && o->migrate && (o->waiting || o->req.around) &&
            o->state != DISK_OP_QUEUED && hand_over(o)) {
            __atomic_store_n(&o->inflight, false, __ATOMIC_RELEASE);
            continue;
        }
        if (o->job)
            disk_job_cancel(o->job);
        partition_disk_set_job(p, o->disk, NULL);
        discard_job(o);
        __atomic_store_n(&o->inflight, false, __ATOMIC_RELEASE);
        end_op(o, DISK_OP_FAILED, "%s", "the partition ended; the disk is unchanged");
    }
    partition_pool_unlock();
}

unsigned disk_ops_list(uint32_t id, struct disk_op_status *out, unsigned max)
{
    unsigned n = 0;
    uint64_t after = UINT64_MAX;
    partition_pool_lock();
    while (n < max) {
        struct disk_op *best = NULL;
        for (unsigned i = 0; i < DISK_OPS_MAX; i++)
            if (ops[i].used && ops[i].seq < after && (!id || ops[i].id == id) &&
                (!best || ops[i].seq > best->seq))
                best = &ops[i];
        if (!best)
            break;
        after = best->seq;
        struct disk_op_status *s = &out[n++];
        s->id = best->id;
        s->req = best->req;
        s->state = best->state;
        s->pr = best->pr;
        s->elapsed_ms = elapsed_ms(best);
        s->eta_ms = best->state == DISK_OP_DONE ? 0
                    : disk_op_eta_ms(best->pr.done, best->pr.total, s->elapsed_ms);
        s->throttled = best->rl.throttled;
        memcpy(s->msg, best->msg, sizeof(s->msg));
    }
    partition_pool_unlock();
    return n;
}
