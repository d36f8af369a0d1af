#include "hv/snapshot/snap_file.h"

#include <stdarg.h>
#include <string.h>
#include "hv/lib/crc32c.h"
#include "hv/lib/format.h"
#include "hv/lib/le.h"


/* Writes the one-line reason into err; returns -1. */
static int fail(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(err, size, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- writing -------------------------------------------------------------------------- */

void snap_writer_init(struct snap_writer *w, const struct snap_io *io, uint64_t ram_size,
                      const char *name, struct snap_index_entry *index)
{
    memset(w, 0, sizeof(*w));
    w->io = *io;
    w->h.ram_size = ram_size;
    w->h.block_count = (uint32_t)(ram_size / SNAP_BLOCK_SIZE);
    fmt_snprintf(w->h.name, sizeof(w->h.name), "%s", name);
    w->index = index;
    memset(index, 0, sizeof(*index) * w->h.block_count);
    for (uint32_t i = 0; i < w->h.block_count; i++)
        index[i].zero_mask = 0xffff;        /* until written: a block of zero pages */
    w->next = SNAP_HEADER_BYTES;
    if (ram_size % SNAP_BLOCK_SIZE || !ram_size || ram_size > SNAP_MAX_RAM) {
        w->failed = true;
        fail(w->err, sizeof(w->err), "snapshot: RAM size %lu is not a multiple of %u up to "
             "64 GiB", (unsigned long)ram_size, SNAP_BLOCK_SIZE);
    }
}

static bool write_at(struct snap_writer *w, uint64_t off, const void *buf, size_t len)
{
    if (w->failed)
        return false;
    if (len && w->io.write(w->io.ctx, off, buf, len) < 0) {
        w->failed = true;
        fail(w->err, sizeof(w->err), "snapshot: write of %zu bytes at %lu failed", len,
             (unsigned long)off);
    }
    return !w->failed;
}

bool snap_writer_block(struct snap_writer *w, uint32_t number, const struct snap_encoded *e,
                       const uint8_t *data)
{
    if (w->failed)
        return false;
    if (number >= w->h.block_count || e->len > SNAP_ENCODED_MAX) {
        w->failed = true;
        fail(w->err, sizeof(w->err), "snapshot: block %u is not one of %u", number,
             w->h.block_count);
        return false;
    }
    struct snap_index_entry *x = &w->index[number];
    x->zero_mask = e->zero_mask;
    x->raw_len = e->raw_len;
    x->len = e->len;
    x->level = (uint8_t)e->level;
    x->crc = crc32c(0, data, e->len);
    x->offset = 0;
    if (!e->len)
        return true;
    uint8_t rec[SNAP_RECORD_BYTES];
    memcpy(rec, "SBLK", 4);
    put_le32(rec + 4, number);
    put_le32(rec + 8, e->len);
    put_le32(rec + 12, x->crc);
    x->offset = w->next;
    if (!write_at(w, w->next, rec, sizeof(rec)) ||
        !write_at(w, w->next + SNAP_RECORD_BYTES, data, e->len))
        return false;
    w->next += SNAP_RECORD_BYTES + e->len;
    return true;
}

static void encode_entry(uint8_t *p, const struct snap_index_entry *x)
{
    memset(p, 0, SNAP_INDEX_ENTRY_BYTES);
    put_le64(p, x->offset);
    put_le32(p + 8, x->len);
    put_le32(p + 12, x->raw_len);
    put_le16(p + 16, x->zero_mask);
    p[18] = x->level;
    put_le32(p + 20, x->crc);
}

bool snap_writer_finish(struct snap_writer *w, const void *state, size_t state_len,
                        const char *manifest, size_t manifest_len,
                        const struct snap_disk_id *disks, unsigned disk_count,
                        uint64_t guest_tsc, uint32_t ram_crc)
{
    if (w->failed)
        return false;
    if (state_len > SNAP_MAX_STATE || manifest_len > SNAP_MAX_MANIFEST ||
        disk_count > SNAP_MAX_DISKS) {
        w->failed = true;
        fail(w->err, sizeof(w->err), "snapshot: state, manifest or disk list too large");
        return false;
    }
    struct snap_header *h = &w->h;
    h->index_offset = w->next;
    uint8_t entry[SNAP_INDEX_ENTRY_BYTES];
    h->index_crc = 0;
    for (uint32_t i = 0; i < h->block_count; i++) {
        encode_entry(entry, &w->index[i]);
        h->index_crc = crc32c(h->index_crc, entry, sizeof(entry));
        if (!write_at(w, h->index_offset + (uint64_t)i * SNAP_INDEX_ENTRY_BYTES, entry,
                      sizeof(entry)))
            return false;
    }
    h->state_offset = h->index_offset + (uint64_t)h->block_count * SNAP_INDEX_ENTRY_BYTES;
    h->state_len = state_len;
    h->manifest_offset = h->state_offset + state_len;
    h->manifest_len = manifest_len;
    h->disks_offset = h->manifest_offset + manifest_len;
    h->disk_count = disk_count;
    h->guest_tsc = guest_tsc;
    h->ram_crc = ram_crc;
    h->state_crc = crc32c(0, state, state_len);
    h->manifest_crc = crc32c(0, manifest, manifest_len);
    h->disks_crc = 0;
    if (!write_at(w, h->state_offset, state, state_len) ||
        !write_at(w, h->manifest_offset, manifest, manifest_len))
        return false;
    for (unsigned i = 0; i < disk_count; i++) {
        uint8_t d[SNAP_DISK_BYTES] = { 0 };
        memcpy(d, disks[i].path, strnlen(disks[i].path, sizeof(disks[i].path) - 1));
        memcpy(d + 128, disks[i].data_write_guid, 16);
        h->disks_crc = crc32c(h->disks_crc, d, sizeof(d));
        if (!write_at(w, h->disks_offset + (uint64_t)i * SNAP_DISK_BYTES, d, sizeof(d)))
            return false;
    }
    static uint8_t hdr[SNAP_HEADER_BYTES];
    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, SNAP_FILE_MAGIC, 8);
    put_le32(hdr + 8, SNAP_FILE_VERSION);
    put_le32(hdr + 12, h->flags);
    put_le64(hdr + 16, h->ram_size);
    put_le32(hdr + 24, SNAP_BLOCK_SIZE);
    put_le32(hdr + 28, h->block_count);
    put_le64(hdr + 32, h->index_offset);
    put_le64(hdr + 40, (uint64_t)h->block_count * SNAP_INDEX_ENTRY_BYTES);
    put_le64(hdr + 48, h->state_offset);
    put_le64(hdr + 56, h->state_len);
    put_le64(hdr + 64, h->manifest_offset);
    put_le64(hdr + 72, h->manifest_len);
    put_le64(hdr + 80, h->disks_offset);
    put_le32(hdr + 88, h->disk_count);
    memcpy(hdr + 96, h->name, strnlen(h->name, 31));
    put_le64(hdr + 128, h->guest_tsc);
    put_le32(hdr + 136, h->ram_crc);
    put_le32(hdr + 144, h->index_crc);
    put_le32(hdr + 148, h->state_crc);
    put_le32(hdr + 152, h->manifest_crc);
    put_le32(hdr + 156, h->disks_crc);
    put_le32(hdr + 160, h->live_passes);
    put_le32(hdr + 164, h->resaved_blocks);
    put_le32(hdr + SNAP_HEADER_BYTES - 4, crc32c(0, hdr, SNAP_HEADER_BYTES - 4));
    return write_at(w, 0, hdr, sizeof(hdr));
}

/* ---- reading -------------------------------------------------------------------------- */

struct region { uint64_t off, len; const char *what; };

static int check_region(const struct region *r, uint64_t file_size, char *err, size_t err_size)
{
    if (r->off < SNAP_HEADER_BYTES || r->off > file_size || r->len > file_size - r->off)
        return fail(err, err_size, "snapshot: the %s (%lu bytes at %lu) lies outside the "
                    "file (%lu bytes)", r->what, (unsigned long)r->len, (unsigned long)r->off,
                    (unsigned long)file_size);
    return 0;
}

static bool overlap(const struct region *a, const struct region *b)
{
    return a->len && b->len && a->off < b->off + b->len && b->off < a->off + a->len;
}

int snap_read_header(const struct snap_io *io, struct snap_header *h, char *err, size_t err_size)
{
    static uint8_t hdr[SNAP_HEADER_BYTES];
    if (io->size < SNAP_HEADER_BYTES || io->read(io->ctx, 0, hdr, sizeof(hdr)) < 0)
        return fail(err, err_size, "snapshot: the file is shorter than its header");
    if (memcmp(hdr, SNAP_FILE_MAGIC, 8))
        return fail(err, err_size, "snapshot: not a snapshot file (bad magic)");
    uint32_t want = le32(hdr + SNAP_HEADER_BYTES - 4), got = crc32c(0, hdr, SNAP_HEADER_BYTES - 4);
    if (want != got)
        return fail(err, err_size, "snapshot: header checksum %08x, expected %08x: damaged or "
                    "never completed", got, want);
    uint32_t version = le32(hdr + 8), flags = le32(hdr + 12);
    if (version < 1 || version > SNAP_FILE_VERSION ||
        flags & ~(version >= 2 ? SNAP_FLAG_LIVE : 0u))
        return fail(err, err_size, "snapshot: format version %u flags %#x not understood "
                    "(this build reads versions 1 to %u)", version, flags, SNAP_FILE_VERSION);
    unsigned reserved_from = version >= 2 ? 168 : 160;
    for (unsigned i = 92; i < 96; i++)
        if (hdr[i])
            return fail(err, err_size, "snapshot: reserved header bytes are not zero");
    for (unsigned i = 140; i < SNAP_HEADER_BYTES - 4; i++)
        if (hdr[i] && (i < 144 || i >= reserved_from))
            return fail(err, err_size, "snapshot: reserved header bytes are not zero");
    memset(h, 0, sizeof(*h));
    h->ram_size = le64(hdr + 16);
    h->block_count = le32(hdr + 28);
    h->index_offset = le64(hdr + 32);
    uint64_t index_len = le64(hdr + 40);
    h->state_offset = le64(hdr + 48);
    h->state_len = le64(hdr + 56);
    h->manifest_offset = le64(hdr + 64);
    h->manifest_len = le64(hdr + 72);
    h->disks_offset = le64(hdr + 80);
    h->disk_count = le32(hdr + 88);
    memcpy(h->name, hdr + 96, 31);
    h->guest_tsc = le64(hdr + 128);
    h->ram_crc = le32(hdr + 136);
    h->index_crc = le32(hdr + 144);
    h->state_crc = le32(hdr + 148);
    h->manifest_crc = le32(hdr + 152);
    h->disks_crc = le32(hdr + 156);
    h->version = version;
    h->flags = flags;
    h->live_passes = le32(hdr + 160);
    h->resaved_blocks = le32(hdr + 164);
    if (!(flags & SNAP_FLAG_LIVE) && (h->live_passes || h->resaved_blocks))
        return fail(err, err_size, "snapshot: re-save counts in a snapshot not taken live");
    if (le32(hdr + 24) != SNAP_BLOCK_SIZE || !h->ram_size || h->ram_size > SNAP_MAX_RAM ||
        h->ram_size % SNAP_BLOCK_SIZE || h->block_count != h->ram_size / SNAP_BLOCK_SIZE ||
        index_len != (uint64_t)h->block_count * SNAP_INDEX_ENTRY_BYTES)
        return fail(err, err_size, "snapshot: RAM size, block size and block count disagree");
    if (h->state_len > SNAP_MAX_STATE || h->manifest_len > SNAP_MAX_MANIFEST ||
        h->disk_count > SNAP_MAX_DISKS)
        return fail(err, err_size, "snapshot: state, manifest or disk list larger than allowed");
    struct region r[4] = {
        { h->index_offset, index_len, "block index" },
        { h->state_offset, h->state_len, "state" },
        { h->manifest_offset, h->manifest_len, "manifest" },
        { h->disks_offset, (uint64_t)h->disk_count * SNAP_DISK_BYTES, "disk list" },
    };
    for (unsigned i = 0; i < 4; i++) {
        if (check_region(&r[i], io->size, err, err_size))
            return -1;
        if (i && r[i].len && r[i].off < h->index_offset + index_len)
            return fail(err, err_size, "snapshot: the %s lies before the end of the block "
                        "index", r[i].what);
        for (unsigned k = 0; k < i; k++)
            if (overlap(&r[i], &r[k]))
                return fail(err, err_size, "snapshot: the %s overlaps the %s", r[i].what,
                            r[k].what);
    }
    for (unsigned i = 0; i < sizeof(h->name) - 1; i++)     /* a name is printable or NUL */
        if (h->name[i] && (h->name[i] < 0x20 || h->name[i] > 0x7e))
            return fail(err, err_size, "snapshot: the partition name is not text");
    return 0;
}

int snap_read_entry(const struct snap_io *io, const struct snap_header *h, uint32_t number,
                    struct snap_index_entry *e, char *err, size_t err_size)
{
    uint8_t p[SNAP_INDEX_ENTRY_BYTES];
    if (number >= h->block_count ||
        io->read(io->ctx, h->index_offset + (uint64_t)number * SNAP_INDEX_ENTRY_BYTES, p,
                 sizeof(p)) < 0)
        return fail(err, err_size, "snapshot: cannot read index entry %u", number);
    e->offset = le64(p);
    e->len = le32(p + 8);
    e->raw_len = le32(p + 12);
    e->zero_mask = le16(p + 16);
    e->level = p[18];
    e->crc = le32(p + 20);
    bool reserved_zero = !p[19];
    for (unsigned i = 24; i < SNAP_INDEX_ENTRY_BYTES; i++)
        reserved_zero &= !p[i];
    unsigned zeros = snap_mask_pages(e->zero_mask);
    if (!reserved_zero || e->level >= SNAP_LEVELS || e->len > SNAP_ENCODED_MAX ||
        e->raw_len != (SNAP_BLOCK_PAGES - zeros) * SNAP_PAGE_SIZE ||
        (e->level == SNAP_STORE && e->len != e->raw_len) || (!e->len) != (!e->offset) ||
        (!e->raw_len && e->len))
        return fail(err, err_size, "snapshot: index entry %u is inconsistent", number);
    if (!e->len)
        return 0;
    if (e->offset < SNAP_HEADER_BYTES || e->offset > h->index_offset ||
        SNAP_RECORD_BYTES + (uint64_t)e->len > h->index_offset - e->offset)
        return fail(err, err_size, "snapshot: block %u lies outside the block area", number);
    uint8_t rec[SNAP_RECORD_BYTES];
    if (io->read(io->ctx, e->offset, rec, sizeof(rec)) < 0 || memcmp(rec, "SBLK", 4) ||
        le32(rec + 4) != number || le32(rec + 8) != e->len || le32(rec + 12) != e->crc)
        return fail(err, err_size, "snapshot: block %u's record does not match its index entry",
                    number);
    return 0;
}

int snap_read_block(const struct snap_io *io, const struct snap_header *h, uint32_t number,
                    void *codec_state, uint8_t *buf, uint8_t *dst, char *err, size_t err_size)
{
    struct snap_index_entry e;
    if (snap_read_entry(io, h, number, &e, err, err_size))
        return -1;
    if (e.len && io->read(io->ctx, e.offset + SNAP_RECORD_BYTES, buf, e.len) < 0)
        return fail(err, err_size, "snapshot: cannot read block %u", number);
    if (crc32c(0, buf, e.len) != e.crc)
        return fail(err, err_size, "snapshot: block %u fails its checksum", number);
    struct snap_encoded enc = { e.zero_mask, (enum snap_level)e.level, e.raw_len, e.len };
    if (snap_decode(codec_state, &enc, buf, dst))
        return fail(err, err_size, "snapshot: block %u does not decode", number);
    return 0;
}

int snap_read_disk(const struct snap_io *io, const struct snap_header *h, unsigned i,
                   struct snap_disk_id *d, char *err, size_t err_size)
{
    uint8_t p[SNAP_DISK_BYTES];
    if (i >= h->disk_count ||
        io->read(io->ctx, h->disks_offset + (uint64_t)i * SNAP_DISK_BYTES, p, sizeof(p)) < 0)
        return fail(err, err_size, "snapshot: cannot read disk %u", i);
    if (p[127])
        return fail(err, err_size, "snapshot: disk %u's path is not terminated", i);
    memcpy(d->path, p, sizeof(d->path));
    memcpy(d->data_write_guid, p + 128, 16);
    return 0;
}

int snap_verify_regions(const struct snap_io *io, const struct snap_header *h, uint8_t *buf,
                        size_t buf_size, char *err, size_t err_size)
{
    struct { uint64_t off, len; uint32_t crc; const char *what; } r[4] = {
        { h->index_offset, (uint64_t)h->block_count * SNAP_INDEX_ENTRY_BYTES, h->index_crc,
          "block index" },
        { h->state_offset, h->state_len, h->state_crc, "state" },
        { h->manifest_offset, h->manifest_len, h->manifest_crc, "manifest section" },
        { h->disks_offset, (uint64_t)h->disk_count * SNAP_DISK_BYTES, h->disks_crc,
          "disk list" },
    };
    for (unsigned i = 0; i < 4; i++) {
        uint32_t crc = 0;
        for (uint64_t at = 0; at < r[i].len;) {
            size_t n = r[i].len - at < buf_size ? (size_t)(r[i].len - at) : buf_size;
            if (io->read(io->ctx, r[i].off + at, buf, n) < 0)
                return fail(err, err_size, "snapshot: cannot read the %s", r[i].what);
            crc = crc32c(crc, buf, n);
            at += n;
        }
        if (crc != r[i].crc)
            return fail(err, err_size, "snapshot: the %s fails its checksum (%08x, expected "
                        "%08x)", r[i].what, crc, r[i].crc);
    }
    return 0;
}
