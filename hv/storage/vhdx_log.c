/*
 * The metadata log.  Writing: every transaction is one entry whose tail is itself; the
 * in-place copy of the previous entry is flushed before the next entry is written, so the
 * newest valid entry alone describes what may be missing in place.  Replay (on open)
 * follows the specification: the valid entry with the highest sequence number is the head,
 * its tail starts the active sequence, and every entry of that sequence is applied; on a
 * read-only open it is applied in memory (an overlay every read of the file goes through)
 * and the file is left as it is.
 */
#include "hv/storage/vhdx_internal.h"

#include <string.h>

#include "hv/lib/crc32c.h"

struct log_view {
    const uint8_t *buf; /* the whole log */
    uint32_t len;
    const struct guid *guid;
};

static uint32_t desc_sectors(uint32_t ndesc)
{
    return (VHDX_LOG_HDR_SIZE + VHDX_LOG_DESC_SIZE * ndesc + VHDX_LOG_SECTOR - 1) /
           VHDX_LOG_SECTOR;
}

static const uint8_t *log_sector(const struct log_view *v, uint32_t pos, uint32_t i)
{
    return v->buf + (pos + (uint64_t)i * VHDX_LOG_SECTOR) % v->len;
}

static uint32_t entry_crc(const struct log_view *v, uint32_t pos, uint32_t sectors)
{
    uint32_t c = vhdx_checksum(log_sector(v, pos, 0), VHDX_LOG_SECTOR, VHDX_L_CSUM);
    for (uint32_t i = 1; i < sectors; i++)
        c = crc32c(c, log_sector(v, pos, i), VHDX_LOG_SECTOR);
    return c;
}

static bool desc_valid(const struct log_view *v, uint32_t pos, const uint8_t *de,
                       uint64_t seq, uint32_t *data_idx, uint32_t sectors)
{
    uint32_t sig = le32(de);
    if (le64(de + 24) != seq || le64(de + 16) % VHDX_LOG_SECTOR)
        return false;
    if (sig == VHDX_SIG_ZERO)
        return le64(de + 8) % VHDX_LOG_SECTOR == 0 && le64(de + 8) <= (1ull << 40);
    if (sig != VHDX_SIG_DESC || *data_idx >= sectors)
        return false;
    const uint8_t *ds = log_sector(v, pos, (*data_idx)++);
    return le32(ds) == VHDX_SIG_DATA && le32(ds + 4) == (uint32_t)(seq >> 32) &&
           le32(ds + 4092) == (uint32_t)seq;
}

/* Whether a whole, valid entry of this log starts at pos; *len_out its length. */
static bool entry_valid(const struct log_view *v, uint32_t pos, uint32_t *len_out)
{
    const uint8_t *h = log_sector(v, pos, 0);
    uint32_t len = le32(h + VHDX_L_LEN), tail = le32(h + VHDX_L_TAIL);
    uint32_t ndesc = le32(h + VHDX_L_NDESC);
    uint64_t seq = le64(h + VHDX_L_SEQ);
    if (le32(h) != VHDX_SIG_LOGE || len == 0 || len % VHDX_LOG_SECTOR || len > v->len ||
        tail % VHDX_LOG_SECTOR || tail >= v->len || seq == 0 || ndesc > v->len / 32 ||
        memcmp(h + VHDX_L_GUID, v->guid->b, 16) != 0)
        return false;
    uint32_t sectors = len / VHDX_LOG_SECTOR, dsec = desc_sectors(ndesc);
    if (dsec > sectors || le32(h + VHDX_L_CSUM) != entry_crc(v, pos, sectors))
        return false;
    uint32_t data_idx = dsec;
    for (uint32_t i = 0; i < ndesc; i++) {
        uint32_t at = VHDX_LOG_HDR_SIZE + VHDX_LOG_DESC_SIZE * i;
        const uint8_t *de = log_sector(v, pos, at / VHDX_LOG_SECTOR) + at % VHDX_LOG_SECTOR;
        if (!desc_valid(v, pos, de, seq, &data_idx, sectors))
            return false;
    }
    *len_out = len;
    return true;
}

static uint64_t entry_seq(const struct log_view *v, uint32_t pos)
{
    return le64(log_sector(v, pos, 0) + VHDX_L_SEQ);
}

/* Finds the head (highest valid sequence number); false when the log holds no entry. */
static bool find_head(const struct log_view *v, uint32_t *head)
{
    bool found = false;
    uint64_t best = 0;
    for (uint32_t pos = 0; pos < v->len; pos += VHDX_LOG_SECTOR) {
        uint32_t len;
        if (entry_valid(v, pos, &len) && entry_seq(v, pos) > best) {
            best = entry_seq(v, pos);
            *head = pos;
            found = true;
        }
    }
    return found;
}

/* Checks that tail .. head is a run of valid entries with consecutive sequence numbers. */
static bool sequence_complete(const struct log_view *v, uint32_t tail, uint32_t head,
                              uint32_t *count)
{
    uint32_t pos = tail, len;
    uint64_t want = 0;
    for (uint32_t n = 1; n <= v->len / VHDX_LOG_SECTOR; n++) {
        if (!entry_valid(v, pos, &len))
            return false;
        uint64_t seq = entry_seq(v, pos);
        if (want && seq != want)
            return false;
        if (pos == head) {
            *count = n;
            return true;
        }
        want = seq + 1;
        pos = (pos + len) % v->len;
    }
    return false;
}

/* What replay may write: the file as it was plus what LastFileOffset extended. */
struct replay {
    uint64_t limit;     /* the file's size after extending it to LastFileOffset */
    uint64_t dirty_end; /* past it the file reads zeros: its old size, or past the end of
                           what replay wrote into the extension */
};

static int check_target(struct vhdx *d, const struct replay *r, uint64_t off, uint64_t len,
                        struct vhdx_err *err)
{
    /* The region tables change through the log; the headers (which find it) cannot. */
    if (off < VHDX_REGION1_OFF || off + len < off ||
        vhdx_ranges_overlap(off, len, d->hdr.log_off, d->hdr.log_len))
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: log entry writes to offset %llu, on the "
                         "file identifier, the headers or the log", d->name,
                         (unsigned long long)off);
    if (off + len > r->limit)
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: log entry writes %llu bytes at offset %llu, "
                         "past the file's LastFileOffset %llu", d->name, (unsigned long long)len,
                         (unsigned long long)off, (unsigned long long)r->limit);
    return VHDX_OK;
}

/* ---- replay in memory (read-only opens) ------------------------------------------- */

void vhdx_log_overlay_free(struct vhdx *d)
{
    for (uint32_t i = 0; i < d->overlay_n; i++)
        vhdx_free(&d->env, d->overlay[i].data);
    vhdx_free(&d->env, d->overlay);
    d->overlay = NULL;
    d->overlay_n = d->overlay_cap = 0;
}

/* Records what replay would write at off: len bytes of data, or zeros (data NULL). */
static int overlay_add(struct vhdx *d, uint64_t off, uint64_t len, const uint8_t *data,
                       struct vhdx_err *err)
{
    if (d->overlay_n == d->overlay_cap) {
        uint32_t cap = d->overlay_cap ? 2 * d->overlay_cap : 64;
        struct vhdx_overlay *n = vhdx_alloc(&d->env, sizeof(*n) * cap);
        if (!n)
            return vhdx_fail(err, VHDX_E_NOMEM, "%s: out of memory", d->name);
        if (d->overlay_n)
            memcpy(n, d->overlay, sizeof(*n) * d->overlay_n);
        vhdx_free(&d->env, d->overlay);
        d->overlay = n;
        d->overlay_cap = cap;
    }
    struct vhdx_overlay *o = &d->overlay[d->overlay_n];
    o->off = off, o->len = len, o->data = NULL;
    if (data) {
        o->data = vhdx_alloc(&d->env, (size_t)len);
        if (!o->data)
            return vhdx_fail(err, VHDX_E_NOMEM, "%s: out of memory", d->name);
        memcpy(o->data, data, (size_t)len);
    }
    d->overlay_n++;
    return VHDX_OK;
}

void vhdx_log_overlay_apply(const struct vhdx *d, uint64_t off, uint8_t *buf, size_t len)
{
    for (uint32_t i = 0; i < d->overlay_n; i++) {
        const struct vhdx_overlay *o = &d->overlay[i];
        if (!vhdx_ranges_overlap(off, len, o->off, o->len))
            continue;
        uint64_t from = off > o->off ? off : o->off;
        uint64_t to = off + len < o->off + o->len ? off + len : o->off + o->len;
        if (o->data)
            memcpy(buf + (from - off), o->data + (from - o->off), (size_t)(to - from));
        else
            memset(buf + (from - off), 0, (size_t)(to - from));
    }
}

/* ---- replay --------------------------------------------------------------------------- */

/* Writes (or, read-only, records) what a descriptor says. */
static int put_sector(struct vhdx *d, struct replay *r, uint64_t off, const uint8_t *sector,
                      struct vhdx_err *err)
{
    if (off + VHDX_LOG_SECTOR > r->dirty_end)
        r->dirty_end = off + VHDX_LOG_SECTOR;
    if (d->read_only)
        return overlay_add(d, off, VHDX_LOG_SECTOR, sector, err);
    return vhdx_pwrite(d, off, sector, VHDX_LOG_SECTOR, err);
}

static int apply_zero(struct vhdx *d, const struct replay *r, uint64_t off, uint64_t len,
                      uint8_t *sector, struct vhdx_err *err)
{
    int rc = check_target(d, r, off, len, err);
    /* Past dirty_end the file already reads as zeros: a hostile length costs nothing. */
    uint64_t end = off + len < r->dirty_end ? off + len : r->dirty_end;
    if (!rc && d->read_only)
        return end > off ? overlay_add(d, off, end - off, NULL, err) : VHDX_OK;
    memset(sector, 0, VHDX_LOG_SECTOR);
    for (uint64_t at = off; !rc && at < end; at += VHDX_LOG_SECTOR)
        rc = vhdx_pwrite(d, at, sector, VHDX_LOG_SECTOR, err);
    return rc;
}

static int apply_desc(struct vhdx *d, const struct log_view *v, struct replay *r,
                      uint32_t pos, const uint8_t *de, uint32_t *data_idx, uint8_t *sector,
                      struct vhdx_err *err)
{
    uint64_t off = le64(de + 16);
    if (le32(de) == VHDX_SIG_ZERO)
        return apply_zero(d, r, off, le64(de + 8), sector, err);
    const uint8_t *ds = log_sector(v, pos, (*data_idx)++);
    memcpy(sector, de + 8, 8);                   /* leading bytes */
    memcpy(sector + 8, ds + 8, 4084);
    memcpy(sector + 4092, de + 4, 4);            /* trailing bytes */
    int rc = check_target(d, r, off, VHDX_LOG_SECTOR, err);
    return rc ? rc : put_sector(d, r, off, sector, err);
}

static int apply_entry(struct vhdx *d, const struct log_view *v, struct replay *r,
                       uint32_t pos, struct vhdx_err *err)
{
    const uint8_t *h = log_sector(v, pos, 0);
    uint32_t ndesc = le32(h + VHDX_L_NDESC), data_idx = desc_sectors(ndesc);
    uint8_t sector[VHDX_LOG_SECTOR];
    for (uint32_t i = 0; i < ndesc; i++) {
        uint32_t at = VHDX_LOG_HDR_SIZE + VHDX_LOG_DESC_SIZE * i;
        const uint8_t *de = log_sector(v, pos, at / VHDX_LOG_SECTOR) + at % VHDX_LOG_SECTOR;
        int rc = apply_desc(d, v, r, pos, de, &data_idx, sector, err);
        if (rc)
            return rc;
    }
    return VHDX_OK;
}

/*
 * Every entry's FlushedFileOffset must fit in the file (a shorter file was truncated);
 * the file grows to the largest LastFileOffset before anything is written, so that a
 * hostile entry cannot make replay write past what its log entry declared.
 */
static int prepare_file(struct vhdx *d, const struct log_view *v, uint32_t tail,
                        uint32_t count, struct replay *r, struct vhdx_err *err)
{
    uint64_t size = d->io.size(d->io.ctx), last = 0;
    uint32_t pos = tail, len = 0;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *h = log_sector(v, pos, 0);
        uint64_t flushed = le64(h + VHDX_L_FLUSHED), l = le64(h + VHDX_L_LAST);
        if (flushed > size)
            return vhdx_fail(err, VHDX_E_CORRUPT, "%s: log entry expects at least %llu bytes "
                             "but the file has %llu (truncated?)", d->name,
                             (unsigned long long)flushed, (unsigned long long)size);
        if (l > last)
            last = l;
        entry_valid(v, pos, &len);
        pos = (pos + len) % v->len;
    }
    r->dirty_end = size;
    r->limit = size;
    if (last > size) {
        uint64_t want = (last + VHDX_MIB - 1) / VHDX_MIB * VHDX_MIB;
        if (want < last || (!d->read_only && d->io.resize(d->io.ctx, want) < 0))
            return vhdx_fail(err, VHDX_E_IO, "%s: cannot extend to the log's LastFileOffset "
                             "%llu", d->name, (unsigned long long)last);
        r->limit = want;
        if (d->read_only)
            d->overlay_size = want;
    }
    return VHDX_OK;
}

static int replay_sequence(struct vhdx *d, const struct log_view *v, uint32_t tail,
                           uint32_t count, struct vhdx_err *err)
{
    struct replay r;
    int rc = prepare_file(d, v, tail, count, &r, err);
    uint32_t pos = tail, len = 0;
    for (uint32_t i = 0; !rc && i < count; i++) {
        rc = apply_entry(d, v, &r, pos, err);
        entry_valid(v, pos, &len);
        pos = (pos + len) % v->len;
    }
    if (!rc)
        d->replayed = count;
    return rc;
}

static int replay_found(struct vhdx *d, const struct log_view *v, uint32_t head,
                        struct vhdx_err *err)
{
    uint32_t tail = le32(log_sector(v, head, 0) + VHDX_L_TAIL), count = 0;
    if (!sequence_complete(v, tail, head, &count))
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: the log's active sequence (head at %u, tail "
                         "at %u) is incomplete", d->name, head, tail);
    if (d->read_only) /* replayed in memory: the file stays as it is */
        return replay_sequence(d, v, tail, count, err);
    d->log_seq = entry_seq(v, head) + 1;
    /*
     * [MS-VHDX] 2.2.2: a new FileWriteGuid before the first change of the file, log
     * playback included; the LogGuid stays until the log is replayed, so that a cut during
     * replay leaves the log to be replayed again.
     */
    d->env.random_guid(d->env.ctx, &d->hdr.file_write);
    int rc = vhdx_update_header(d, err);
    if (!rc)
        rc = replay_sequence(d, v, tail, count, err);
    if (!rc)
        rc = vhdx_sync(d, err);
    return rc;
}

/* Applies the active log sequence if there is one, then marks the log empty. */
int vhdx_log_replay(struct vhdx *d, struct vhdx_err *err)
{
    if (guid_is_zero(&d->hdr.log_guid))
        return VHDX_OK;
    if (d->hdr.log_len > VHDX_LOG_MAX)
        return vhdx_fail(err, VHDX_E_UNSUPPORTED, "%s: log of %u bytes is too large to replay "
                         "(at most %u MiB)", d->name, d->hdr.log_len, VHDX_LOG_MAX >> 20);
    uint8_t *buf = vhdx_alloc(&d->env, d->hdr.log_len);
    if (!buf)
        return vhdx_fail(err, VHDX_E_NOMEM, "%s: out of memory", d->name);
    struct log_view v = { buf, d->hdr.log_len, &d->hdr.log_guid };
    uint32_t head;
    int rc = vhdx_pread(d, d->hdr.log_off, buf, d->hdr.log_len, err);
    bool found = !rc && find_head(&v, &head);
    if (found)
        rc = replay_found(d, &v, head, err);
    vhdx_free(&d->env, buf);
    if (rc || d->read_only)
        return rc;
    /* Log now empty: a zero LogGuid (and a new FileWriteGuid where replay made none). */
    if (!found)
        d->env.random_guid(d->env.ctx, &d->hdr.file_write);
    memset(&d->hdr.log_guid, 0, sizeof(d->hdr.log_guid));
    return vhdx_update_header(d, err);
}

/* ---- writing ---------------------------------------------------------------------- */

void vhdx_txn_add(struct vhdx_txn *t, uint64_t off, const uint8_t *data)
{
    for (unsigned i = 0; i < t->n; i++)
        if (t->s[i].off == off)
            return; /* same sector already carried; data points at the live copy */
    t->s[t->n].off = off;
    t->s[t->n].data = data;
    t->n++;
}

static void build_entry(struct vhdx *d, const struct vhdx_txn *t, uint8_t *e, uint32_t len)
{
    uint32_t dsec = desc_sectors(t->n);
    uint64_t size = d->io.size(d->io.ctx);
    memset(e, 0, len);
    put_le32(e + VHDX_L_SIG, VHDX_SIG_LOGE);
    put_le32(e + VHDX_L_LEN, len);
    put_le32(e + VHDX_L_TAIL, d->log_head);
    put_le64(e + VHDX_L_SEQ, d->log_seq);
    put_le32(e + VHDX_L_NDESC, t->n);
    memcpy(e + VHDX_L_GUID, d->hdr.log_guid.b, 16);
    put_le64(e + VHDX_L_FLUSHED, size);
    put_le64(e + VHDX_L_LAST, size > d->file_end ? size : d->file_end);
    for (unsigned i = 0; i < t->n; i++) {
        uint8_t *de = e + VHDX_LOG_HDR_SIZE + VHDX_LOG_DESC_SIZE * i;
        uint8_t *ds = e + (uint64_t)(dsec + i) * VHDX_LOG_SECTOR;
        put_le32(de, VHDX_SIG_DESC);
        memcpy(de + 4, t->s[i].data + 4092, 4);
        memcpy(de + 8, t->s[i].data, 8);
        put_le64(de + 16, t->s[i].off);
        put_le64(de + 24, d->log_seq);
        put_le32(ds, VHDX_SIG_DATA);
        put_le32(ds + 4, (uint32_t)(d->log_seq >> 32));
        memcpy(ds + 8, t->s[i].data + 8, 4084);
        put_le32(ds + 4092, (uint32_t)d->log_seq);
    }
    uint32_t c = vhdx_checksum(e, VHDX_LOG_SECTOR, VHDX_L_CSUM);
    c = crc32c(c, e + VHDX_LOG_SECTOR, len - VHDX_LOG_SECTOR);
    put_le32(e + VHDX_L_CSUM, c);
}

static int write_circular(struct vhdx *d, const uint8_t *e, uint32_t len, struct vhdx_err *err)
{
    uint32_t first = d->hdr.log_len - d->log_head;
    if (first > len)
        first = len;
    int rc = vhdx_pwrite(d, d->hdr.log_off + d->log_head, e, first, err);
    if (!rc && first < len)
        rc = vhdx_pwrite(d, d->hdr.log_off, e + first, len - first, err);
    return rc;
}

/*
 * Makes the sectors of t durable through the log, then writes them in place.  Data the
 * new metadata points at must already be written: the flush before the entry orders it.
 */
int vhdx_log_commit(struct vhdx *d, const struct vhdx_txn *t, struct vhdx_err *err)
{
    uint32_t len = (desc_sectors(t->n) + t->n) * VHDX_LOG_SECTOR;
    if (len > d->hdr.log_len / 2)
        return vhdx_fail(err, VHDX_E_UNSUPPORTED, "%s: log of %u bytes is too small for an "
                         "update of %u bytes", d->name, d->hdr.log_len, len);
    /* FlushedFileOffset and LastFileOffset are whole MiB: so is the file first. */
    uint64_t size = d->io.size(d->io.ctx);
    if (size % VHDX_MIB && d->io.resize(d->io.ctx, (size + VHDX_MIB - 1) / VHDX_MIB * VHDX_MIB) < 0)
        return vhdx_fail(err, VHDX_E_IO, "%s: cannot round the file up to a whole MiB", d->name);
    uint8_t *e = vhdx_alloc(&d->env, len);
    if (!e)
        return vhdx_fail(err, VHDX_E_NOMEM, "%s: out of memory", d->name);
    build_entry(d, t, e, len);
    int rc = vhdx_sync(d, err);
    if (!rc)
        rc = write_circular(d, e, len, err);
    if (!rc)
        rc = vhdx_sync(d, err);
    vhdx_free(&d->env, e);
    for (unsigned i = 0; !rc && i < t->n; i++)
        rc = vhdx_pwrite(d, t->s[i].off, t->s[i].data, VHDX_LOG_SECTOR, err);
    if (rc) {
        d->broken = true;
        return rc;
    }
    d->apply_pending = true;
    d->log_head = (d->log_head + len) % d->hdr.log_len;
    d->log_seq++;
    return VHDX_OK;
}
