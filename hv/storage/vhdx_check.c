/* Consistency check: both copies of the header and of the region table (lost redundancy is
 * damage too, and a good copy can rewrite a bad one), the metadata table, every BAT entry
 * in a valid state, no two structures overlapping, the log replayed. */
#include "hv/storage/vhdx_internal.h"

#include <string.h>

#include "hv/lib/format.h"

#define ERR_OR_LOCAL(err) struct vhdx_err local_err_; if (!(err)) (err) = &local_err_

struct extent {
    uint64_t off, len;
    uint32_t what; /* BAT index, or UINT32_MAX for a fixed region */
};

struct checker {
    struct vhdx *d;
    const struct vhdx_check_opts *opts;
    struct vhdx_check_report *r;
};

static void vnote(struct checker *c, bool repaired, const char *fmt, va_list ap)
{
    char line[256];
    fmt_vsnprintf(line, sizeof(line), fmt, ap);
    if (repaired) {
        c->r->repaired++;
    } else if (c->r->errors++ == 0) {
        memcpy(c->r->first_error, line, sizeof(c->r->first_error));
    }
    if (c->opts && c->opts->note)
        c->opts->note(c->opts->ctx, repaired, line);
}

static void problem(struct checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct checker *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vnote(c, false, fmt, ap);
    va_end(ap);
}

static void fixed(struct checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fixed(struct checker *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vnote(c, true, fmt, ap);
    va_end(ap);
}

static bool repairing(const struct checker *c)
{
    return c->opts && c->opts->repair && !c->d->read_only;
}

/* Writes a good copy over a damaged one; false (and a problem noted) when that fails. */
static bool rewrite(struct checker *c, uint64_t off, const uint8_t *buf, size_t len)
{
    struct vhdx_err err;
    if (vhdx_pwrite(c->d, off, buf, len, &err) || vhdx_sync(c->d, &err)) {
        problem(c, "%s", err.msg);
        return false;
    }
    return true;
}

static const uint64_t header_off[2] = { VHDX_HEADER1_OFF, VHDX_HEADER2_OFF };
static const uint64_t region_off[2] = { VHDX_REGION1_OFF, VHDX_REGION2_OFF };

static bool header_valid(const uint8_t *b)
{
    return le32(b + VHDX_H_SIG) == VHDX_SIG_HEAD &&
           le32(b + VHDX_H_CSUM) == vhdx_checksum(b, VHDX_HEADER_SIZE, VHDX_H_CSUM);
}

static bool region_valid(const uint8_t *b)
{
    return le32(b) == VHDX_SIG_REGI && le32(b + 4) == vhdx_checksum(b, VHDX_REGION_SIZE, 4);
}

/* The image opened, so one header is good: d->hdr is its content, written again in full
 * (same sequence number) where the other copy is damaged. */
static void check_headers(struct checker *c, uint8_t *buf)
{
    struct vhdx *d = c->d;
    struct vhdx_err err;
    for (int i = 0; i < 2; i++) {
        if (vhdx_pread(d, header_off[i], buf, VHDX_HEADER_SIZE, &err)) {
            problem(c, "%s", err.msg);
            continue;
        }
        if (header_valid(buf))
            continue;
        if (repairing(c)) {
            vhdx_encode_header(&d->hdr, buf);
            if (rewrite(c, header_off[i], buf, VHDX_HEADER_SIZE))
                fixed(c, "%s: header %d (at %u KiB) had a bad signature or checksum: rewritten "
                      "from header %d", d->name, i + 1, (unsigned)(header_off[i] / VHDX_KIB), 2 - i);
        } else {
            problem(c, "%s: header %d (at %u KiB) has a bad signature or checksum; header %d is "
                    "the only good copy (redundancy lost; --repair rewrites it)", d->name, i + 1,
                    (unsigned)(header_off[i] / VHDX_KIB), 2 - i);
        }
    }
}

/* Table 1 is the one in use when it is good (vhdx_read_regions), so it is the source when
 * the two disagree. */
static void check_region_tables(struct checker *c, uint8_t *t[2])
{
    struct vhdx *d = c->d;
    struct vhdx_err err;
    bool ok[2];
    for (int i = 0; i < 2; i++) {
        if (vhdx_pread(d, region_off[i], t[i], VHDX_REGION_SIZE, &err)) {
            problem(c, "%s", err.msg);
            return;
        }
        ok[i] = region_valid(t[i]);
    }
    for (int i = 0; i < 2; i++) {
        int good = 1 - i;
        bool differs = ok[0] && ok[1] && i == 1 && memcmp(t[0], t[1], VHDX_REGION_SIZE) != 0;
        if ((ok[i] && !differs) || !ok[good])
            continue;
        const char *what = differs ? "differs from region table 1" : "has a bad signature or checksum";
        if (repairing(c)) {
            if (rewrite(c, region_off[i], t[good], VHDX_REGION_SIZE))
                fixed(c, "%s: region table %d (at %u KiB) %s: rewritten from table %d", d->name,
                      i + 1, (unsigned)(region_off[i] / VHDX_KIB), what, good + 1);
        } else {
            problem(c, "%s: region table %d (at %u KiB) %s; table %d is the only good copy "
                    "(redundancy lost; --repair rewrites it)", d->name, i + 1, (unsigned)(region_off[i] / VHDX_KIB),
                    what, good + 1);
        }
    }
}

static void check_metadata_table(struct checker *c, uint8_t *buf)
{
    struct vhdx_err err;
    if (vhdx_pread(c->d, c->d->meta_off, buf, VHDX_META_TABLE_SIZE, &err))
        problem(c, "%s", err.msg);
    else if (le64(buf) != VHDX_SIG_META)
        problem(c, "%s: metadata table at %llu has no 'metadata' signature", c->d->name,
                (unsigned long long)c->d->meta_off);
}

static void check_copies(struct checker *c)
{
    uint8_t *buf = vhdx_alloc(&c->d->env, 2 * VHDX_REGION_SIZE);
    if (!buf) {
        problem(c, "%s: out of memory", c->d->name);
        return;
    }
    uint8_t *tables[2] = { buf, buf + VHDX_REGION_SIZE };
    check_headers(c, buf);
    check_region_tables(c, tables);
    check_metadata_table(c, buf);
    vhdx_free(&c->d->env, buf);
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

static void check_partial_bitmaps(struct checker *r)
{
    struct vhdx *d = r->d;
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

static void check_overlaps(struct checker *r, struct extent *x, size_t n)
{
    struct vhdx *d = r->d;
    uint64_t size = vhdx_file_size(d), used = 0, end = 0;
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
    r->r->leaked_bytes = size > used ? size - used : 0;
}

int vhdx_check_ex(struct vhdx *d, const struct vhdx_check_opts *opts,
                  struct vhdx_check_report *r, struct vhdx_err *err)
{
    ERR_OR_LOCAL(err);
    memset(r, 0, sizeof(*r));
    struct checker c = { d, opts, r };
    struct extent *x = vhdx_alloc(&d->env, sizeof(*x) * ((size_t)d->bat_entries + 4));
    if (!x)
        return vhdx_fail(err, VHDX_E_NOMEM, "%s: out of memory", d->name);
    check_copies(&c);
    size_t n = collect(d, x, r);
    check_overlaps(&c, x, n);
    check_partial_bitmaps(&c);
    if (!guid_is_zero(&d->hdr.log_guid) && !d->file_guid_new && !d->read_only)
        problem(&c, "%s: log GUID still set after replay", d->name);
    vhdx_free(&d->env, x);
    return VHDX_OK;
}

int vhdx_check(struct vhdx *d, struct vhdx_check_report *r, struct vhdx_err *err)
{
    return vhdx_check_ex(d, NULL, r, err);
}
