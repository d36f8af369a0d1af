/* Reading, writing and trimming virtual-disk data, one payload block at a time. */
#include "hv/storage/vhdx_internal.h"

#include <string.h>

#define ERR_OR_LOCAL(err) struct vhdx_err local_err_; if (!(err)) (err) = &local_err_

static bool bit_get(const uint8_t *bm, uint32_t s)
{
    return (bm[s >> 3] >> (s & 7)) & 1;
}

/* Number of sectors from s (at most max) whose bit equals that of s. */
static uint32_t bit_run(const uint8_t *bm, uint32_t s, uint32_t max)
{
    bool v = bit_get(bm, s);
    uint32_t n = 0;
    while (n < max) {
        uint32_t at = s + n;
        if ((at & 7) == 0 && max - n >= 8 && bm[at >> 3] == (v ? 0xff : 0)) {
            n += 8;
            continue;
        }
        if (bit_get(bm, at) != v)
            break;
        n++;
    }
    return n;
}

/* Sector number, within its chunk's bitmap, of byte `inoff` of payload block b. */
static uint32_t chunk_sector(const struct vhdx *d, uint32_t b, uint32_t inoff)
{
    return (uint32_t)(((uint64_t)(b % d->chunk_ratio) * d->block_size + inoff) / d->lss);
}

static int read_below(struct vhdx *d, uint64_t voff, uint8_t *buf, size_t n,
                      struct vhdx_err *err)
{
    if (d->parent)
        return vhdx_read(d->parent, voff, buf, n, err);
    memset(buf, 0, n);
    return VHDX_OK;
}

static int read_partial(struct vhdx *d, uint32_t b, uint64_t boff, uint32_t inoff,
                        uint8_t *buf, uint32_t n, struct vhdx_err *err)
{
    uint8_t *bm;
    int rc = vhdx_bitmap_get(d, b / d->chunk_ratio, &bm, err);
    while (!rc && n) {
        uint32_t s = chunk_sector(d, b, inoff);
        uint32_t run = bit_run(bm, s, n / d->lss) * d->lss;
        if (bit_get(bm, s))
            rc = vhdx_pread(d, boff + inoff, buf, run, err);
        else
            rc = read_below(d, (uint64_t)b * d->block_size + inoff, buf, run, err);
        buf += run, inoff += run, n -= run;
    }
    return rc;
}

static int read_block(struct vhdx *d, uint32_t b, uint32_t inoff, uint8_t *buf, uint32_t n,
                      struct vhdx_err *err)
{
    uint64_t e = vhdx_bat_get(d, vhdx_payload_index(d, b));
    switch (VHDX_BAT_STATE(e)) {
    case VHDX_PB_FULLY_PRESENT:
        return vhdx_pread(d, VHDX_BAT_OFFSET(e) + inoff, buf, n, err);
    case VHDX_PB_PARTIALLY_PRESENT:
        return read_partial(d, b, VHDX_BAT_OFFSET(e), inoff, buf, n, err);
    case VHDX_PB_ZERO:
        memset(buf, 0, n);
        return VHDX_OK;
    default:
        return read_below(d, (uint64_t)b * d->block_size + inoff, buf, n, err);
    }
}

static int check_range(struct vhdx *d, uint64_t off, uint64_t len, struct vhdx_err *err)
{
    if (off % d->lss || len % d->lss || off > d->disk_size || len > d->disk_size - off)
        return vhdx_fail(err, VHDX_E_INVALID, "%s: range %llu+%llu is not whole %u-byte sectors "
                         "inside the %llu-byte disk", d->name, (unsigned long long)off,
                         (unsigned long long)len, d->lss, (unsigned long long)d->disk_size);
    return VHDX_OK;
}

/* Calls fn for each piece of [off, off+len) that lies in one payload block. */
typedef int (*block_fn)(struct vhdx *d, uint32_t b, uint32_t inoff, uint8_t *buf, uint32_t n,
                        struct vhdx_err *err);

static int for_each_block(struct vhdx *d, uint64_t off, uint8_t *buf, uint64_t len,
                          bool advance_buf, block_fn fn, struct vhdx_err *err)
{
    while (len) {
        uint32_t b = (uint32_t)(off / d->block_size), inoff = (uint32_t)(off % d->block_size);
        uint32_t n = d->block_size - inoff;
        if (n > len)
            n = (uint32_t)len;
        int rc = fn(d, b, inoff, buf, n, err);
        if (rc)
            return rc;
        off += n, len -= n;
        if (advance_buf)
            buf += n;
    }
    return VHDX_OK;
}

int vhdx_read(struct vhdx *d, uint64_t off, void *buf, size_t len, struct vhdx_err *err)
{
    ERR_OR_LOCAL(err);
    int rc = check_range(d, off, len, err);
    return rc ? rc : for_each_block(d, off, buf, len, true, read_block, err);
}

/* ---- writing -------------------------------------------------------------------- */

/* Sets bits for [inoff, inoff+n) of block b; adds changed bitmap sectors to t. */
static void mark_present(struct vhdx *d, uint8_t *bm, uint64_t bm_off, uint32_t b,
                         uint32_t inoff, uint32_t n, struct vhdx_txn *t)
{
    uint32_t s = chunk_sector(d, b, inoff), count = n / d->lss;
    for (uint32_t i = s; i < s + count; i++) {
        if (bit_get(bm, i))
            continue;
        bm[i >> 3] |= (uint8_t)(1u << (i & 7));
        uint32_t sector = (i >> 3) / VHDX_LOG_SECTOR;
        vhdx_txn_add(t, bm_off + (uint64_t)sector * VHDX_LOG_SECTOR,
                     bm + (uint64_t)sector * VHDX_LOG_SECTOR);
    }
}

/* Clears the bits of the whole block b and adds their bitmap sectors to t. */
static void clear_block_bits(struct vhdx *d, uint8_t *bm, uint64_t bm_off, uint32_t b,
                             struct vhdx_txn *t)
{
    uint32_t first = chunk_sector(d, b, 0), count = d->block_size / d->lss;
    memset(bm + first / 8, 0, count / 8);
    for (uint32_t byte = first / 8; byte < (first + count) / 8; byte += VHDX_LOG_SECTOR) {
        uint32_t sector = byte / VHDX_LOG_SECTOR;
        vhdx_txn_add(t, bm_off + (uint64_t)sector * VHDX_LOG_SECTOR,
                     bm + (uint64_t)sector * VHDX_LOG_SECTOR);
    }
}

/* The chunk's sector bitmap, allocating its block (through t) when absent. */
static int bitmap_for_write(struct vhdx *d, uint32_t chunk, uint8_t **bm, uint64_t *bm_off,
                            struct vhdx_txn *t, struct vhdx_err *err)
{
    int rc = vhdx_bitmap_get(d, chunk, bm, err);
    if (rc)
        return rc;
    uint32_t idx = vhdx_bitmap_index(d, chunk);
    uint64_t e = vhdx_bat_get(d, idx);
    if (VHDX_BAT_STATE(e) == VHDX_SB_PRESENT) {
        *bm_off = VHDX_BAT_OFFSET(e);
        return VHDX_OK;
    }
    rc = vhdx_alloc_space(d, VHDX_BITMAP_BLOCK, bm_off, err);
    if (!rc)
        vhdx_bat_set(d, idx, VHDX_BAT_MAKE(VHDX_SB_PRESENT, *bm_off), t);
    return rc;
}

static uint32_t block_bytes(const struct vhdx *d, uint32_t b)
{
    uint64_t start = (uint64_t)b * d->block_size, left = d->disk_size - start;
    return left < d->block_size ? (uint32_t)left : d->block_size;
}

static int write_partial(struct vhdx *d, uint32_t b, uint64_t boff, uint32_t inoff,
                         const uint8_t *buf, uint32_t n, struct vhdx_err *err)
{
    struct vhdx_txn t = { 0 };
    uint8_t *bm;
    uint64_t bm_off;
    int rc = vhdx_pwrite(d, boff + inoff, buf, n, err);
    if (!rc)
        rc = bitmap_for_write(d, b / d->chunk_ratio, &bm, &bm_off, &t, err);
    if (rc)
        return rc;
    mark_present(d, bm, bm_off, b, inoff, n, &t);
    return t.n ? vhdx_log_commit(d, &t, err) : VHDX_OK;
}

static int write_new_block(struct vhdx *d, uint32_t b, unsigned state, uint32_t inoff,
                           const uint8_t *buf, uint32_t n, struct vhdx_err *err)
{
    struct vhdx_txn t = { 0 };
    bool whole = inoff == 0 && n == block_bytes(d, b);
    bool partial = d->has_parent && !whole && state != VHDX_PB_ZERO;
    uint8_t *bm = NULL;
    uint64_t bm_off = 0, off;
    int rc = partial ? bitmap_for_write(d, b / d->chunk_ratio, &bm, &bm_off, &t, err) : 0;
    if (!rc)
        rc = vhdx_alloc_space(d, d->block_size, &off, err);
    if (!rc)
        rc = vhdx_pwrite(d, off + inoff, buf, n, err);
    if (rc)
        return rc;
    if (partial) {
        clear_block_bits(d, bm, bm_off, b, &t);
        mark_present(d, bm, bm_off, b, inoff, n, &t);
    }
    vhdx_bat_set(d, vhdx_payload_index(d, b),
                 VHDX_BAT_MAKE(partial ? VHDX_PB_PARTIALLY_PRESENT : VHDX_PB_FULLY_PRESENT, off),
                 &t);
    return vhdx_log_commit(d, &t, err);
}

static int write_block(struct vhdx *d, uint32_t b, uint32_t inoff, uint8_t *buf, uint32_t n,
                       struct vhdx_err *err)
{
    uint64_t e = vhdx_bat_get(d, vhdx_payload_index(d, b));
    switch (VHDX_BAT_STATE(e)) {
    case VHDX_PB_FULLY_PRESENT:
        return vhdx_pwrite(d, VHDX_BAT_OFFSET(e) + inoff, buf, n, err);
    case VHDX_PB_PARTIALLY_PRESENT:
        return write_partial(d, b, VHDX_BAT_OFFSET(e), inoff, buf, n, err);
    default:
        return write_new_block(d, b, VHDX_BAT_STATE(e), inoff, buf, n, err);
    }
}

int vhdx_write(struct vhdx *d, uint64_t off, const void *buf, size_t len, struct vhdx_err *err)
{
    ERR_OR_LOCAL(err);
    int rc = check_range(d, off, len, err);
    if (!rc && len)
        rc = vhdx_begin_change(d, true, err);
    return rc ? rc : for_each_block(d, off, (uint8_t *)buf, len, true, write_block, err);
}

/* ---- trim ------------------------------------------------------------------------- */

static int write_zeros(struct vhdx *d, uint32_t b, uint32_t inoff, uint32_t n,
                       struct vhdx_err *err)
{
    const uint32_t chunk = 64 * VHDX_KIB;
    uint8_t *z = vhdx_alloc(&d->env, chunk);
    if (!z)
        return vhdx_fail(err, VHDX_E_NOMEM, "%s: out of memory", d->name);
    int rc = VHDX_OK;
    while (!rc && n) {
        uint32_t k = n < chunk ? n : chunk;
        rc = write_block(d, b, inoff, z, k, err);
        inoff += k, n -= k;
    }
    vhdx_free(&d->env, z);
    return rc;
}

static int trim_block(struct vhdx *d, uint32_t b, uint32_t inoff, uint8_t *unused, uint32_t n,
                      struct vhdx_err *err)
{
    uint32_t idx = vhdx_payload_index(d, b);
    unsigned st = VHDX_BAT_STATE(vhdx_bat_get(d, idx));
    bool allocated = st == VHDX_PB_FULLY_PRESENT || st == VHDX_PB_PARTIALLY_PRESENT;
    bool reads_zero = st == VHDX_PB_ZERO || (!d->has_parent && !allocated);
    if (reads_zero)
        return VHDX_OK;
    if (inoff == 0 && n == block_bytes(d, b) && !d->leave_allocated) {
        struct vhdx_txn t = { 0 };
        vhdx_bat_set(d, idx, VHDX_BAT_MAKE(VHDX_PB_ZERO, 0), &t);
        return vhdx_log_commit(d, &t, err);
    }
    return write_zeros(d, b, inoff, n, err);
}

/* The trimmed range reads as zeros afterwards; whole blocks give their space up. */
int vhdx_trim(struct vhdx *d, uint64_t off, uint64_t len, struct vhdx_err *err)
{
    ERR_OR_LOCAL(err);
    int rc = check_range(d, off, len, err);
    if (!rc && len)
        rc = vhdx_begin_change(d, true, err);
    return rc ? rc : for_each_block(d, off, NULL, len, false, trim_block, err);
}

int vhdx_flush(struct vhdx *d, struct vhdx_err *err)
{
    ERR_OR_LOCAL(err);
    if (d->read_only)
        return VHDX_OK;
    return vhdx_sync(d, err);
}

/* ---- layer map -------------------------------------------------------------------- */

int vhdx_layer_extent(struct vhdx *d, uint64_t off, uint64_t len, bool *present, uint64_t *run,
                      struct vhdx_err *err)
{
    ERR_OR_LOCAL(err);
    int rc = check_range(d, off, len, err);
    if (rc || !len)
        return rc;
    uint32_t b = (uint32_t)(off / d->block_size), inoff = (uint32_t)(off % d->block_size);
    uint64_t n = d->block_size - inoff;
    if (n > len)
        n = len;
    unsigned st = VHDX_BAT_STATE(vhdx_bat_get(d, vhdx_payload_index(d, b)));
    *present = st == VHDX_PB_FULLY_PRESENT || st == VHDX_PB_ZERO;
    *run = n;
    if (st == VHDX_PB_PARTIALLY_PRESENT) {
        uint8_t *bm;
        rc = vhdx_bitmap_get(d, b / d->chunk_ratio, &bm, err);
        if (rc)
            return rc;
        uint32_t s = chunk_sector(d, b, inoff);
        *present = bit_get(bm, s);
        *run = (uint64_t)bit_run(bm, s, (uint32_t)(n / d->lss)) * d->lss;
    }
    return VHDX_OK;
}
