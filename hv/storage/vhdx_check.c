/* Consistency check: every structure inside the file, valid states, no two overlapping. */
#include "hv/storage/vhdx_internal.h"

#include <string.h>

#include "hv/lib/format.h"

#define ERR_OR_LOCAL(err) struct vhdx_err local_err_; if (!(err)) (err) = &local_err_

struct extent {
    uint64_t off, len;
    uint32_t what; /* BAT index, or UINT32_MAX for a fixed region */
};

static void problem(struct vhdx_check_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(struct vhdx_check_report *r, const char *fmt, ...)
{
    if (r->errors++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        fmt_vsnprintf(r->first_error, sizeof(r->first_error), fmt, ap);
        va_end(ap);
    }
}

/* Heap sort by offset: no libc in the hypervisor, and the list can be long. */
static void sift(struct extent *x, size_t i, size_t n)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && x[c + 1].off > x[c].off)
            c++;
        if (x[i].off >= x[c].off)
            return;
        struct extent t = x[i];
        x[i] = x[c];
        x[c] = t;
        i = c;
    }
}

static void sort_extents(struct extent *x, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift(x, i, n);
    for (size_t end = n; end-- > 1;) {
        struct extent t = x[0];
        x[0] = x[end];
        x[end] = t;
        sift(x, 0, end);
    }
}

static size_t collect(struct vhdx *d, struct extent *x, struct vhdx_check_report *r)
{
    size_t n = 0;
    x[n++] = (struct extent){ 0, VHDX_MIB, UINT32_MAX };
    x[n++] = (struct extent){ d->hdr.log_off, d->hdr.log_len, UINT32_MAX };
    x[n++] = (struct extent){ d->meta_off, d->meta_len, UINT32_MAX };
    x[n++] = (struct extent){ d->bat_off, d->bat_len, UINT32_MAX };
    for (uint32_t i = 0; i < d->bat_entries; i++) {
        uint64_t e = vhdx_bat_get(d, i);
        unsigned st = VHDX_BAT_STATE(e);
        bool bitmap = i % (d->chunk_ratio + 1) == d->chunk_ratio;
        if (bitmap && st == VHDX_SB_PRESENT) {
            x[n++] = (struct extent){ VHDX_BAT_OFFSET(e), VHDX_BITMAP_BLOCK, i };
        } else if (!bitmap && (st == VHDX_PB_FULLY_PRESENT || st == VHDX_PB_PARTIALLY_PRESENT)) {
            x[n++] = (struct extent){ VHDX_BAT_OFFSET(e), d->block_size, i };
            r->blocks_checked++;
        }
    }
    return n;
}

static void check_partial_bitmaps(struct vhdx *d, struct vhdx_check_report *r)
{
    for (uint32_t b = 0; b < d->payload_blocks; b++) {
        unsigned st = VHDX_BAT_STATE(vhdx_bat_get(d, vhdx_payload_index(d, b)));
        if (!vhdx_state_valid(d, st))
            problem(r, "%s: block %u has state %u", d->name, b, st);
        uint32_t sb = vhdx_bitmap_index(d, b / d->chunk_ratio);
        if (st == VHDX_PB_PARTIALLY_PRESENT &&
            VHDX_BAT_STATE(vhdx_bat_get(d, sb)) != VHDX_SB_PRESENT)
            problem(r, "%s: block %u is partially present but its sector bitmap is absent",
                    d->name, b);
    }
}

static void check_overlaps(struct vhdx *d, struct extent *x, size_t n,
                           struct vhdx_check_report *r)
{
    uint64_t size = d->io.size(d->io.ctx), used = 0, end = 0;
    sort_extents(x, n);
    for (size_t i = 0; i < n; i++) {
        if (x[i].off + x[i].len > size)
            problem(r, "%s: structure at %llu (BAT entry %d) runs past the end of the file",
                    d->name, (unsigned long long)x[i].off, (int)x[i].what);
        if (x[i].off < end)
            problem(r, "%s: structures overlap at offset %llu (BAT entry %d)", d->name,
                    (unsigned long long)x[i].off, (int)x[i].what);
        used += x[i].len;
        if (x[i].off + x[i].len > end)
            end = x[i].off + x[i].len;
    }
    r->leaked_bytes = size > used ? size - used : 0;
}

int vhdx_check(struct vhdx *d, struct vhdx_check_report *r, struct vhdx_err *err)
{
    ERR_OR_LOCAL(err);
    memset(r, 0, sizeof(*r));
    struct extent *x = vhdx_alloc(&d->env, sizeof(*x) * ((size_t)d->bat_entries + 4));
    if (!x)
        return vhdx_fail(err, VHDX_E_NOMEM, "%s: out of memory", d->name);
    size_t n = collect(d, x, r);
    check_overlaps(d, x, n, r);
    check_partial_bitmaps(d, r);
    if (!guid_is_zero(&d->hdr.log_guid) && !d->file_guid_new && !d->read_only)
        problem(r, "%s: log GUID still set after replay", d->name);
    vhdx_free(&d->env, x);
    return VHDX_OK;
}
