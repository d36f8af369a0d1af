/* VHDX ranges as file spans: the BAT only, no I/O (but marking the image changing). */
#include "hv/storage/vhdx_map.h"
#include "hv/storage/vhdx_internal.h"

static int no_map(struct vhdx_err *err, const struct vhdx *d)
{
    return vhdx_fail(err, VHDX_E_UNSUPPORTED, "%s: range needs the image's own I/O", d->name);
}

int vhdx_map(struct vhdx *d, uint64_t off, uint64_t len, bool write, struct vhdx_span *out,
             unsigned max, unsigned *count, struct vhdx_err *err)
{
    struct vhdx_err local;
    if (!err)
        err = &local;
    *count = 0;
    if (!len || off % d->lss || len % d->lss || off > d->disk_size || len > d->disk_size - off)
        return vhdx_fail(err, VHDX_E_INVALID, "%s: range is not whole sectors of the disk",
                         d->name);
    if (write) {
        int rc = vhdx_begin_change(d, true, err);
        if (rc)
            return rc;
    }
    unsigned n = 0;
    while (len) {
        uint32_t b = (uint32_t)(off / d->block_size), inoff = (uint32_t)(off % d->block_size);
        uint64_t run = d->block_size - inoff < len ? d->block_size - inoff : len;
        uint64_t e = vhdx_bat_get(d, vhdx_payload_index(d, b));
        unsigned st = VHDX_BAT_STATE(e);
        bool zero;
        if (st == VHDX_PB_FULLY_PRESENT)
            zero = false;
        else if (!write && (st == VHDX_PB_ZERO || (!d->has_parent && st != VHDX_PB_PARTIALLY_PRESENT)))
            zero = true;
        else
            return no_map(err, d);
        uint64_t file_off = zero ? 0 : VHDX_BAT_OFFSET(e) + inoff;
        struct vhdx_span *last = n ? &out[n - 1] : NULL;
        if (last && last->zero == zero && (zero || last->file_off + last->len == file_off) &&
            last->len <= UINT32_MAX - run) {
            last->len += (uint32_t)run;
        } else {
            if (n == max)
                return no_map(err, d);
            out[n++] = (struct vhdx_span){ file_off, (uint32_t)run, zero };
        }
        off += run;
        len -= run;
    }
    *count = n;
    return VHDX_OK;
}
