/* The block allocation table: geometry, entries, sector bitmaps and space allocation. */
#include "hv/storage/vhdx_internal.h"

#include <string.h>

void vhdx_geometry(struct vhdx *d)
{
    d->chunk_ratio = (uint32_t)(((uint64_t)VHDX_SECTORS_PER_CHUNK * d->lss) / d->block_size);
    d->payload_blocks = (uint32_t)((d->disk_size + d->block_size - 1) / d->block_size);
    d->bitmap_blocks = (d->payload_blocks + d->chunk_ratio - 1) / d->chunk_ratio;
    if (d->has_parent)
        d->bat_entries = d->bitmap_blocks * (d->chunk_ratio + 1);
    else if (d->payload_blocks)
        d->bat_entries = d->payload_blocks + (d->payload_blocks - 1) / d->chunk_ratio;
    else
        d->bat_entries = 0; /* an empty disk */
}

uint32_t vhdx_payload_index(const struct vhdx *d, uint32_t block)
{
    return block + block / d->chunk_ratio;
}

uint32_t vhdx_bitmap_index(const struct vhdx *d, uint32_t chunk)
{
    return chunk * (d->chunk_ratio + 1) + d->chunk_ratio;
}

uint64_t vhdx_bat_get(const struct vhdx *d, uint32_t index)
{
    return le64(d->bat + 8ull * index);
}

/* Changes the in-memory entry and adds its BAT sector to the transaction. */
void vhdx_bat_set(struct vhdx *d, uint32_t index, uint64_t entry, struct vhdx_txn *t)
{
    put_le64(d->bat + 8ull * index, entry);
    uint32_t sector = index * 8 / VHDX_LOG_SECTOR;
    vhdx_txn_add(t, d->bat_off + (uint64_t)sector * VHDX_LOG_SECTOR,
                 d->bat + (uint64_t)sector * VHDX_LOG_SECTOR);
}

bool vhdx_state_valid(const struct vhdx *d, unsigned state)
{
    switch (state) {
    case VHDX_PB_NOT_PRESENT: case VHDX_PB_UNDEFINED: case VHDX_PB_ZERO:
    case VHDX_PB_UNMAPPED: case VHDX_PB_UNMAPPED_V095: case VHDX_PB_FULLY_PRESENT:
        return true;
    case VHDX_PB_PARTIALLY_PRESENT:
        return d->has_parent;
    default:
        return false;
    }
}

static int check_entry(struct vhdx *d, uint32_t i, uint64_t file_size, struct vhdx_err *err)
{
    uint64_t e = vhdx_bat_get(d, i);
    bool bitmap = (i % (d->chunk_ratio + 1)) == d->chunk_ratio;
    unsigned st = VHDX_BAT_STATE(e);
    uint64_t len = bitmap ? VHDX_BITMAP_BLOCK : d->block_size;
    bool present = bitmap ? st == VHDX_SB_PRESENT
                          : (st == VHDX_PB_FULLY_PRESENT || st == VHDX_PB_PARTIALLY_PRESENT);
    if (bitmap ? (st != VHDX_SB_NOT_PRESENT && st != VHDX_SB_PRESENT) : !vhdx_state_valid(d, st))
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: BAT entry %u has invalid state %u", d->name,
                         i, st);
    if (bitmap && present && !d->has_parent)
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: BAT entry %u: sector bitmap in a disk "
                         "without parent", d->name, i);
    if (present && (VHDX_BAT_OFFSET(e) < VHDX_MIB || VHDX_BAT_OFFSET(e) > file_size ||
                    len > file_size - VHDX_BAT_OFFSET(e)))
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: BAT entry %u points at %llu, outside the "
                         "file", d->name, i, (unsigned long long)VHDX_BAT_OFFSET(e));
    /* A block on the log or a region would let data writes rewrite the image's metadata. */
    if (present && (vhdx_ranges_overlap(VHDX_BAT_OFFSET(e), len, d->hdr.log_off, d->hdr.log_len) ||
                    vhdx_ranges_overlap(VHDX_BAT_OFFSET(e), len, d->bat_off, d->bat_len) ||
                    vhdx_ranges_overlap(VHDX_BAT_OFFSET(e), len, d->meta_off, d->meta_len)))
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: BAT entry %u puts a block at %llu, on the "
                         "log, the BAT or the metadata region", d->name, i,
                         (unsigned long long)VHDX_BAT_OFFSET(e));
    return VHDX_OK;
}

int vhdx_bat_load(struct vhdx *d, struct vhdx_err *err)
{
    vhdx_geometry(d);
    uint64_t bytes = ((uint64_t)d->bat_entries * 8 + VHDX_LOG_SECTOR - 1) / VHDX_LOG_SECTOR *
                     VHDX_LOG_SECTOR;
    if (bytes > VHDX_BAT_MAX)
        return vhdx_fail(err, VHDX_E_UNSUPPORTED, "%s: its BAT of %llu MiB (%u entries) is "
                         "larger than the %u MiB this module holds in memory (a larger block "
                         "size makes it smaller)", d->name, (unsigned long long)(bytes >> 20),
                         d->bat_entries, VHDX_BAT_MAX >> 20);
    if (bytes > d->bat_len)
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: BAT region of %u bytes cannot hold %u "
                         "entries", d->name, d->bat_len, d->bat_entries);
    d->bat_bytes = (uint32_t)bytes;
    d->bat = vhdx_alloc(&d->env, d->bat_bytes);
    d->bitmaps = vhdx_alloc(&d->env, sizeof(uint8_t *) * d->bitmap_blocks);
    if (!d->bat || !d->bitmaps)
        return vhdx_fail(err, VHDX_E_NOMEM, "%s: out of memory for the BAT", d->name);
    int rc = vhdx_pread(d, d->bat_off, d->bat, d->bat_bytes, err);
    uint64_t size = vhdx_file_size(d);
    for (uint32_t i = 0; !rc && i < d->bat_entries; i++)
        rc = check_entry(d, i, size, err);
    d->file_end = (size + VHDX_MIB - 1) / VHDX_MIB * VHDX_MIB;
    return rc;
}

int vhdx_bitmap_get(struct vhdx *d, uint32_t chunk, uint8_t **out, struct vhdx_err *err)
{
    if (!d->bitmaps[chunk]) {
        uint8_t *bm = vhdx_alloc(&d->env, VHDX_BITMAP_BLOCK);
        if (!bm)
            return vhdx_fail(err, VHDX_E_NOMEM, "%s: out of memory for a sector bitmap",
                             d->name);
        uint64_t e = vhdx_bat_get(d, vhdx_bitmap_index(d, chunk));
        if (VHDX_BAT_STATE(e) == VHDX_SB_PRESENT &&
            vhdx_pread(d, VHDX_BAT_OFFSET(e), bm, VHDX_BITMAP_BLOCK, err)) {
            vhdx_free(&d->env, bm);
            return err->code;
        }
        d->bitmaps[chunk] = bm;
    }
    *out = d->bitmaps[chunk];
    return VHDX_OK;
}

/* Space at the end of the file, 1 MiB aligned, zero-filled. */
int vhdx_alloc_space(struct vhdx *d, uint64_t size, uint64_t *off, struct vhdx_err *err)
{
    uint64_t cur = d->io.size(d->io.ctx);
    if (cur > d->file_end)
        d->file_end = (cur + VHDX_MIB - 1) / VHDX_MIB * VHDX_MIB;
    if (d->io.resize(d->io.ctx, d->file_end + size) < 0)
        return vhdx_fail(err, VHDX_E_IO, "%s: cannot grow the file to %llu bytes", d->name,
                         (unsigned long long)(d->file_end + size));
    *off = d->file_end;
    d->file_end += size;
    return VHDX_OK;
}
