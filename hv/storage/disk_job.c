/* Meta-operations on an open VHDX as stepped background jobs (see disk_job.h and
 * disk_jobs.md). */
#include "hv/storage/disk_job.h"

#include <string.h>

#include "hv/storage/vhdx_internal.h"

#define ERR_OR_LOCAL(err) struct vhdx_err local_err_; if (!(err)) (err) = &local_err_

enum unit_class { UNIT_ABSENT, UNIT_ZERO_STATE, UNIT_ALLOCATED };

enum job_mode {
    MODE_FLAT,  /* a standalone image of the whole chain's view */
    MODE_LAYER, /* compact/defrag of a differencing disk: a new child of the same parent */
    MODE_BASE,  /* copy onto a base at the destination: a new child of base */
    MODE_MERGE,
};

struct disk_job {
    struct disk_job_params p;
    struct vhdx_env env;
    enum job_mode mode;
    uint64_t disk_size;
    uint32_t lss, units, cursor, dirty_scan, ready_dirty;
    uint8_t *dirty;        /* one bit per unit passed and written since */
    uint8_t *buf, *cmp;    /* DISK_JOB_UNIT bytes each */
    struct vhdx *out;      /* the new VHDX image while open */
    bool identity;         /* base's DataWriteGuid is the source's parent's */
    bool begun, paused, cancelled, finished;
    struct disk_job_progress pr;
};

const char *disk_job_op_name(enum disk_job_op op)
{
    switch (op) {
    case DISK_JOB_COPY: return "copy";
    case DISK_JOB_CONVERT: return "convert";
    case DISK_JOB_COMPACT: return "compact";
    case DISK_JOB_DEFRAG: return "defrag";
    case DISK_JOB_MERGE: return "merge";
    }
    return "?";
}

static bool is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* What the chain holds at the unit at off, from the BATs alone (no data read). */
static enum unit_class unit_class(const struct vhdx *d, uint64_t off)
{
    for (; d; d = d->parent) {
        uint32_t b = (uint32_t)(off / d->block_size);
        switch (VHDX_BAT_STATE(vhdx_bat_get(d, vhdx_payload_index(d, b)))) {
        case VHDX_PB_FULLY_PRESENT:
        case VHDX_PB_PARTIALLY_PRESENT:
            return UNIT_ALLOCATED;
        case VHDX_PB_ZERO:
            return UNIT_ZERO_STATE;
        default:
            break;
        }
        if (!d->has_parent)
            break;
    }
    return UNIT_ABSENT;
}

static int src_read(struct disk_job *j, uint64_t off, uint8_t *buf, size_t n,
                    struct vhdx_err *err)
{
    if (j->p.src)
        return vhdx_read(j->p.src, off, buf, n, err);
    if (j->p.src_raw->read(j->p.src_raw->ctx, off, buf, n) < 0)
        return vhdx_fail(err, VHDX_E_IO, "source: read of %zu bytes at %llu failed", n,
                         (unsigned long long)off);
    return VHDX_OK;
}

static int out_read(struct disk_job *j, uint64_t off, uint8_t *buf, size_t n,
                    struct vhdx_err *err)
{
    if (j->out)
        return vhdx_read(j->out, off, buf, n, err);
    if (j->p.dst->read(j->p.dst->ctx, off, buf, n) < 0)
        return vhdx_fail(err, VHDX_E_IO, "%s: read at %llu failed", j->p.dst_name,
                         (unsigned long long)off);
    return VHDX_OK;
}

static int out_write(struct disk_job *j, uint64_t off, const uint8_t *buf, size_t n,
                     struct vhdx_err *err)
{
    j->pr.bytes_written += n;
    if (j->out)
        return vhdx_write(j->out, off, buf, n, err);
    if (j->p.dst->write(j->p.dst->ctx, off, buf, n) < 0)
        return vhdx_fail(err, VHDX_E_IO, "%s: write at %llu failed", j->p.dst_name,
                         (unsigned long long)off);
    return VHDX_OK;
}

/* Makes [off, off+n) of the new image read as zeros. */
static int out_zero(struct disk_job *j, uint64_t off, size_t n, struct vhdx_err *err)
{
    if (j->out)
        return vhdx_trim(j->out, off, n, err);
    memset(j->cmp, 0, n);
    return out_write(j, off, j->cmp, n, err);
}

static int out_flush(struct disk_job *j, struct vhdx_err *err)
{
    if (j->mode == MODE_MERGE)
        return vhdx_flush(vhdx_parent(j->p.src), err);
    if (j->out)
        return vhdx_flush(j->out, err);
    return j->p.dst->flush(j->p.dst->ctx) < 0
               ? vhdx_fail(err, VHDX_E_IO, "%s: flush failed", j->p.dst_name) : VHDX_OK;
}

/* ---- one unit ----------------------------------------------------------------------- */

static bool layer_holds_any(struct disk_job *j, uint64_t off, uint64_t n, struct vhdx_err *err,
                            int *rc)
{
    while (n) {
        bool present;
        uint64_t run;
        *rc = vhdx_layer_extent(j->p.src, off, n, &present, &run, err);
        if (*rc || present)
            return true;
        off += run, n -= run;
    }
    return false;
}

/* The sectors the source's own layer holds, into the new child of the same parent. */
static int unit_layer(struct disk_job *j, uint64_t off, uint64_t n, struct vhdx_err *err)
{
    struct vhdx *s = j->p.src;
    while (n) {
        bool present;
        uint64_t run;
        int rc = vhdx_layer_extent(s, off, n, &present, &run, err);
        if (!rc && present) {
            rc = vhdx_read(s, off, j->buf, run, err);
            j->pr.bytes_read += run;
            unsigned st = VHDX_BAT_STATE(vhdx_bat_get(s, vhdx_payload_index(
                s, (uint32_t)(off / s->block_size))));
            bool keep = j->p.op == DISK_JOB_DEFRAG && st != VHDX_PB_ZERO;
            if (!rc && !keep && is_zero(j->buf, run)) {
                j->pr.bytes_zero += run;
                rc = out_zero(j, off, run, err);
            } else if (!rc) {
                rc = out_write(j, off, j->buf, run, err);
            }
        }
        if (rc)
            return rc;
        off += run, n -= run;
    }
    return VHDX_OK;
}

/* Whether base already holds buf (the source's content) at off. */
static int base_holds(struct disk_job *j, uint64_t off, size_t n, bool *holds,
                      struct vhdx_err *err)
{
    if (is_zero(j->buf, n)) {
        *holds = unit_class(j->p.base, off) != UNIT_ALLOCATED;
        if (!*holds) { /* allocated but maybe zero: read it */
            int rc = vhdx_read(j->p.base, off, j->cmp, n, err);
            *holds = !rc && is_zero(j->cmp, n);
            return rc;
        }
        return VHDX_OK;
    }
    if (j->p.dedup) {
        uint8_t h[DEDUP_HASH_LEN];
        dedup_hash(j->p.dedup, j->buf, n, h);
        *holds = dedup_holds(j->p.dedup, h, j->p.base_obj, (uint32_t)(off / DEDUP_UNIT));
        return VHDX_OK;
    }
    int rc = vhdx_read(j->p.base, off, j->cmp, n, err);
    *holds = !rc && memcmp(j->buf, j->cmp, n) == 0;
    return rc;
}

static int unit_base(struct disk_job *j, uint64_t off, size_t n, bool again,
                     struct vhdx_err *err)
{
    int rc = VHDX_OK;
    if (j->identity && !again && !layer_holds_any(j, off, n, err, &rc)) {
        j->pr.bytes_dedup += n; /* the parent the destination holds has it */
        return VHDX_OK;
    }
    if (rc)
        return rc;
    rc = src_read(j, off, j->buf, n, err);
    j->pr.bytes_read += n;
    bool holds = false;
    /* Once written, a unit cannot fall back to base: a re-copy writes. */
    if (!rc && !again)
        rc = base_holds(j, off, n, &holds, err);
    if (rc)
        return rc;
    if (holds) {
        j->pr.bytes_dedup += n;
        return VHDX_OK;
    }
    return is_zero(j->buf, n) ? out_zero(j, off, n, err) : out_write(j, off, j->buf, n, err);
}

/* parents_at_dst: the destination reads through to the same parents. */
static int unit_over_parents(struct disk_job *j, uint64_t off, size_t n, bool again,
                             struct vhdx_err *err)
{
    int rc = VHDX_OK;
    if (!again && !layer_holds_any(j, off, n, err, &rc)) {
        j->pr.bytes_dedup += n;
        return VHDX_OK;
    }
    if (!rc)
        rc = src_read(j, off, j->buf, n, err);
    j->pr.bytes_read += n;
    if (rc)
        return rc;
    return is_zero(j->buf, n) ? out_zero(j, off, n, err) : out_write(j, off, j->buf, n, err);
}

static int unit_flat(struct disk_job *j, uint64_t off, size_t n, bool again,
                     struct vhdx_err *err)
{
    if (j->p.parents_at_dst && j->p.src && j->p.src->has_parent)
        return unit_over_parents(j, off, n, again, err);
    enum unit_class cls = j->p.src ? unit_class(j->p.src, off) : UNIT_ALLOCATED;
    int rc = VHDX_OK;
    if (cls == UNIT_ALLOCATED) {
        rc = src_read(j, off, j->buf, n, err);
        j->pr.bytes_read += n;
    } else {
        memset(j->buf, 0, n);
    }
    if (rc)
        return rc;
    bool zero = is_zero(j->buf, n);
    bool keep = j->p.format == DISK_FORMAT_VHDX_FIXED ||
                (j->p.op == DISK_JOB_DEFRAG && cls == UNIT_ALLOCATED);
    if (j->p.resume && !again) {
        rc = out_read(j, off, j->cmp, n, err);
        if (!rc && memcmp(j->buf, j->cmp, n) == 0) {
            j->pr.bytes_dedup += n;
            return VHDX_OK;
        }
        if (rc)
            return rc;
        again = true; /* it holds something else: overwrite */
    }
    if (zero && !keep) {
        j->pr.bytes_zero += n;
        return again ? out_zero(j, off, n, err) : VHDX_OK;
    }
    return out_write(j, off, j->buf, n, err);
}

static int do_unit(struct disk_job *j, uint32_t u, bool again, struct vhdx_err *err)
{
    uint64_t off = (uint64_t)u * DISK_JOB_UNIT;
    size_t n = j->disk_size - off < DISK_JOB_UNIT ? (size_t)(j->disk_size - off) : DISK_JOB_UNIT;
    int rc;
    switch (j->mode) {
    case MODE_MERGE: {
        uint64_t copied = 0;
        rc = vhdx_merge_range(j->p.src, off, n, j->buf, &copied, err);
        j->pr.bytes_read += copied, j->pr.bytes_written += copied;
        break;
    }
    case MODE_LAYER:
        rc = again ? src_read(j, off, j->buf, n, err) : unit_layer(j, off, n, err);
        if (again && !rc)
            rc = out_write(j, off, j->buf, n, err);
        break;
    case MODE_BASE:
        rc = unit_base(j, off, n, again, err);
        break;
    default:
        rc = unit_flat(j, off, n, again, err);
        break;
    }
    j->pr.done += n;
    return rc;
}

/* ---- dirty units -------------------------------------------------------------------- */

static bool dirty_get(const struct disk_job *j, uint32_t u)
{
    return (j->dirty[u >> 3] >> (u & 7)) & 1;
}

void disk_job_note_write(struct disk_job *j, uint64_t off, uint64_t len)
{
    if (!j || !len || j->finished || j->cancelled || off >= j->disk_size)
        return;
    uint64_t last = (off + len - 1) / DISK_JOB_UNIT;
    if (last >= j->units)
        last = j->units - 1;
    for (uint64_t u = off / DISK_JOB_UNIT; u <= last && u < j->cursor; u++)
        if (!dirty_get(j, (uint32_t)u)) {
            j->dirty[u >> 3] |= (uint8_t)(1u << (u & 7));
            j->pr.dirty_units++;
            j->pr.dirty_marked++;
            uint64_t uoff = u * DISK_JOB_UNIT;
            j->pr.total += j->disk_size - uoff < DISK_JOB_UNIT ? j->disk_size - uoff
                                                                : DISK_JOB_UNIT;
        }
}

uint32_t disk_job_current_units(const struct disk_job *j, uint8_t *bitmap)
{
    uint32_t n = 0;
    memset(bitmap, 0, (j->units + 7) / 8);
    for (uint32_t u = 0; u < j->cursor && u < j->units; u++)
        if (!dirty_get(j, u)) {
            bitmap[u >> 3] |= (uint8_t)(1u << (u & 7));
            n++;
        }
    return n;
}

/* The next unit to copy: the first pass in order, then dirty units round-robin. */
static bool next_unit(struct disk_job *j, uint32_t *u, bool *again)
{
    if (j->cursor < j->units) {
        *u = j->cursor++;
        *again = false;
        return true;
    }
    if (!j->pr.dirty_units)
        return false;
    for (;;) {
        if (j->dirty_scan >= j->units) {
            j->dirty_scan = 0;
            j->pr.passes++;
        }
        uint32_t i = j->dirty_scan++;
        if (dirty_get(j, i)) {
            j->dirty[i >> 3] &= (uint8_t)~(1u << (i & 7));
            j->pr.dirty_units--;
            *u = i;
            *again = true;
            return true;
        }
    }
}

/* ---- starting ----------------------------------------------------------------------- */

static int check_params(const struct disk_job_params *p, struct vhdx_err *err)
{
    bool copy_like = p->op != DISK_JOB_MERGE;
    if (!p->src && !(p->src_raw && p->src_raw_size && copy_like))
        return vhdx_fail(err, VHDX_E_INVALID, "disk job: no source disk");
    if (copy_like && !p->dst)
        return vhdx_fail(err, VHDX_E_INVALID, "disk job: no destination");
    if (p->op == DISK_JOB_MERGE && (!p->src || !vhdx_parent(p->src)))
        return vhdx_fail(err, VHDX_E_INVALID, "merge: the disk has no parent opened");
    if ((p->op == DISK_JOB_COMPACT || p->op == DISK_JOB_DEFRAG) &&
        (!p->src || p->format != DISK_FORMAT_VHDX))
        return vhdx_fail(err, VHDX_E_INVALID, "%s: needs a VHDX source and makes a dynamic "
                         "VHDX", disk_job_op_name(p->op));
    if (p->base && (p->format != DISK_FORMAT_VHDX || p->resume || !p->src))
        return vhdx_fail(err, VHDX_E_INVALID, "copy onto a base: a VHDX source, a dynamic "
                         "VHDX target, no resume");
    if (p->src && p->src->has_parent && !vhdx_parent(p->src))
        return vhdx_fail(err, VHDX_E_INVALID, "%s: a differencing disk needs its parent "
                         "opened", p->src->name);
    return VHDX_OK;
}

/* A fixed image: the file parameters of the image vhdx_create just laid out gain
 * leave_allocated (trims then write zeros, blocks never move). */
static int mark_fixed(const struct vhdx_io *io, struct vhdx_err *err)
{
    const uint64_t meta = 2ull * VHDX_MIB; /* after the 1 MiB header section and 1 MiB log */
    uint8_t e[32], fp[8];
    if (io->read(io->ctx, meta + 32, e, 32) < 0 ||
        !guid_eq((const struct guid *)e, &vhdx_guid_file_parameters) ||
        io->read(io->ctx, meta + le32(e + 16), fp, 8) < 0)
        return vhdx_fail(err, VHDX_E_IO, "fixed image: file parameters not where expected");
    put_le32(fp + 4, le32(fp + 4) | VHDX_FP_LEAVE_ALLOCATED);
    if (io->write(io->ctx, meta + le32(e + 16), fp, 8) < 0 || io->flush(io->ctx) < 0)
        return vhdx_fail(err, VHDX_E_IO, "fixed image: cannot write file parameters");
    return VHDX_OK;
}

static int open_target(struct disk_job *j, struct vhdx_err *err)
{
    const struct disk_job_params *p = &j->p;
    const char *name = p->dst_name ? p->dst_name : "target";
    if (p->format == DISK_FORMAT_RAW) {
        if (!p->resume && p->dst->resize(p->dst->ctx, 0) < 0)
            return vhdx_fail(err, VHDX_E_IO, "%s: cannot truncate", name);
        if (p->dst->resize(p->dst->ctx, j->disk_size) < 0)
            return vhdx_fail(err, VHDX_E_IO, "%s: cannot size to %llu bytes", name,
                             (unsigned long long)j->disk_size);
        return VHDX_OK;
    }
    if (!p->resume) {
        struct vhdx_create_params cp = { 0 };
        cp.disk_size = j->disk_size;
        cp.logical_sector_size = j->lss;
        cp.physical_sector_size = p->src ? p->src->pss : 4096;
        cp.block_size = p->block_size ? p->block_size
                                      : p->src ? p->src->block_size : 32 * VHDX_MIB;
        if (j->mode == MODE_LAYER) {
            cp.parent = p->src->parent;
            cp.parent_relative_path = p->src->parent_rel;
            cp.parent_absolute_path = p->src->parent_abs;
        } else if (j->mode == MODE_BASE) {
            cp.parent = p->base;
            cp.parent_relative_path = p->base_rel;
            cp.parent_absolute_path = p->base_abs;
        }
        int rc = vhdx_create(&j->env, p->dst, &cp, err);
        if (!rc && p->format == DISK_FORMAT_VHDX_FIXED)
            rc = mark_fixed(p->dst, err);
        if (rc)
            return rc;
    }
    unsigned flags = j->mode == MODE_FLAT ? 0 : VHDX_OPEN_NO_PARENT;
    int rc = vhdx_open(&j->env, p->dst, name, flags, &j->out, err);
    if (!rc && (j->out->disk_size != j->disk_size || j->out->has_parent != (j->mode != MODE_FLAT)))
        rc = vhdx_fail(err, VHDX_E_INVALID, "%s: not a partial copy of this disk", name);
    return rc;
}

int disk_job_start(const struct disk_job_params *p, struct disk_job **out,
                   struct vhdx_err *err)
{
    ERR_OR_LOCAL(err);
    *out = NULL;
    int rc = check_params(p, err);
    if (rc)
        return rc;
    const struct vhdx_env *env = p->src ? &p->src->env : p->env;
    if (!env)
        return vhdx_fail(err, VHDX_E_INVALID, "disk job: no environment");
    struct disk_job *j = vhdx_alloc(env, sizeof(*j));
    if (!j)
        return vhdx_fail(err, VHDX_E_NOMEM, "disk job: out of memory");
    j->p = *p;
    j->env = *env;
    j->disk_size = p->src ? p->src->disk_size : p->src_raw_size;
    j->lss = p->src ? p->src->lss : p->raw_sector_size ? p->raw_sector_size : 512;
    j->units = (uint32_t)((j->disk_size + DISK_JOB_UNIT - 1) / DISK_JOB_UNIT);
    j->ready_dirty = p->ready_dirty_units ? p->ready_dirty_units : 16;
    if (p->op == DISK_JOB_MERGE)
        j->mode = MODE_MERGE;
    else if (p->base)
        j->mode = MODE_BASE;
    else if ((p->op == DISK_JOB_COMPACT || p->op == DISK_JOB_DEFRAG) && p->src->has_parent)
        j->mode = MODE_LAYER;
    else
        j->mode = MODE_FLAT;
    if (j->mode == MODE_BASE && p->src->parent)
        j->identity = guid_eq(&p->base->hdr.data_write, &p->src->parent->hdr.data_write);
    j->pr.total = j->disk_size;
    j->pr.passes = 1;
    j->dirty_scan = j->units; /* the first re-copy pass starts by wrapping: passes 2 */
    j->pr.state = DISK_JOB_RUNNING;
    j->dirty = vhdx_alloc(env, j->units / 8 + 1);
    j->buf = vhdx_alloc(env, DISK_JOB_UNIT);
    j->cmp = vhdx_alloc(env, DISK_JOB_UNIT);
    if (!j->dirty || !j->buf || !j->cmp)
        rc = vhdx_fail(err, VHDX_E_NOMEM, "disk job: out of memory");
    if (!rc && j->disk_size % j->lss)
        rc = vhdx_fail(err, VHDX_E_INVALID, "source size %llu is not whole %u-byte sectors",
                       (unsigned long long)j->disk_size, j->lss);
    if (!rc && j->mode != MODE_MERGE)
        rc = open_target(j, err);
    if (rc) {
        disk_job_free(j);
        return rc;
    }
    *out = j;
    return VHDX_OK;
}

/* ---- running ------------------------------------------------------------------------ */

static int fail_job(struct disk_job *j, int rc)
{
    j->cancelled = true; /* no further steps: the caller frees it */
    return rc;
}

static int run_units(struct disk_job *j, uint64_t budget, struct vhdx_err *err)
{
    if (!j->begun && j->mode == MODE_MERGE) {
        int rc = vhdx_merge_begin(j->p.src, err);
        if (rc)
            return rc;
    }
    j->begun = true;
    uint64_t ran = 0;
    uint32_t u;
    bool again;
    do {
        if (!next_unit(j, &u, &again))
            break;
        uint64_t before = j->pr.done;
        int rc = do_unit(j, u, again, err);
        if (rc)
            return rc;
        ran += j->pr.done - before;
    } while (ran < budget);
    return out_flush(j, err);
}

int disk_job_step(struct disk_job *j, uint64_t budget, struct vhdx_err *err)
{
    ERR_OR_LOCAL(err);
    if (j->cancelled)
        return j->pr.state = DISK_JOB_CANCELLED;
    if (j->finished)
        return DISK_JOB_DONE;
    if (j->paused)
        return j->pr.state = DISK_JOB_PAUSED;
    if (!j->begun && j->mode == MODE_MERGE) {
        /* The merge's start (the child's metadata and the parent's header rewritten) is a
         * step of its own: the guest waits behind one long step, not a longer one. */
        int rc = vhdx_merge_begin(j->p.src, err);
        if (rc)
            return fail_job(j, rc);
        j->begun = true;
        return j->pr.state = DISK_JOB_RUNNING;
    }
    int rc = run_units(j, budget, err);
    if (rc)
        return fail_job(j, rc);
    bool ready = j->cursor == j->units && j->pr.dirty_units <= j->ready_dirty;
    return j->pr.state = ready ? DISK_JOB_READY : DISK_JOB_RUNNING;
}

int disk_job_finish(struct disk_job *j, struct vhdx_err *err)
{
    ERR_OR_LOCAL(err);
    if (j->cancelled)
        return vhdx_fail(err, VHDX_E_INVALID, "disk job: cancelled or failed");
    if (j->finished)
        return DISK_JOB_DONE;
    int rc = run_units(j, UINT64_MAX, err);
    if (!rc && j->out) {
        struct vhdx *o = j->out;
        j->out = NULL;
        rc = vhdx_close(o, err);
    }
    if (rc)
        return fail_job(j, rc);
    j->finished = true;
    return j->pr.state = DISK_JOB_DONE;
}

void disk_job_pause(struct disk_job *j)
{
    j->paused = true;
    if (j->pr.state == DISK_JOB_RUNNING || j->pr.state == DISK_JOB_READY)
        j->pr.state = DISK_JOB_PAUSED;
}

void disk_job_resume(struct disk_job *j)
{
    j->paused = false;
    if (j->pr.state == DISK_JOB_PAUSED)
        j->pr.state = DISK_JOB_RUNNING;
}

void disk_job_cancel(struct disk_job *j)
{
    if (!j->finished) {
        j->cancelled = true;
        j->pr.state = DISK_JOB_CANCELLED;
    }
}

void disk_job_get_progress(const struct disk_job *j, struct disk_job_progress *out)
{
    *out = j->pr;
}

void disk_job_free(struct disk_job *j)
{
    if (!j)
        return;
    const struct vhdx_env env = j->env;
    if (j->out)
        vhdx_close(j->out, NULL);
    vhdx_free(&env, j->dirty);
    vhdx_free(&env, j->buf);
    vhdx_free(&env, j->cmp);
    vhdx_free(&env, j);
}
