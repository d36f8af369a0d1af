/* The offload provider: live tokens, objects, offload read and write (hv/offload/offload.h). */
#include "hv/offload/offload.h"

#include <string.h>

#include "hv/lib/format.h"

#define ALL UINT64_MAX

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

/* Pool names compare as FAT does: case-insensitively, a leading '/' or not. */
static bool same_name(const char *a, const char *b)
{
    a += *a == '/', b += *b == '/';
    for (; *a && lower(*a) == lower(*b); a++, b++)
        ;
    return lower(*a) == lower(*b);
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    uint64_t aend = alen > ALL - a ? ALL : a + alen, bend = blen > ALL - b ? ALL : b + blen;
    return a < bend && b < aend;
}

void offload_init(struct offload_provider *p, const struct offload_platform *pf,
                  const uint8_t issuer[TOKEN_ISSUER_LEN])
{
    memset(p, 0, sizeof(*p));
    p->pf = *pf;
    memcpy(p->issuer, issuer, TOKEN_ISSUER_LEN);
}

/* ---- live tokens and objects ------------------------------------------------------- */

static void table_lock(struct offload_provider *p)
{
    if (p->pf.lock)
        p->pf.lock(p->pf.sec_ctx);
}

static void table_unlock(struct offload_provider *p)
{
    if (p->pf.unlock)
        p->pf.unlock(p->pf.sec_ctx);
}

/* The table's lock held. */
static void drop_dead(struct offload_provider *p)
{
    uint64_t now = p->pf.now_ms(p->pf.sec_ctx);
    for (uint32_t i = 0; i < OFFLOAD_LIVE_MAX; i++)
        if (p->live[i].used && !p->live[i].pending &&
            (p->live[i].revoked || now >= p->live[i].t.expiry_ms))
            p->live[i].used = false;
}

uint32_t offload_live_count(struct offload_provider *p)
{
    table_lock(p);
    drop_dead(p);
    uint32_t n = 0;
    for (uint32_t i = 0; i < OFFLOAD_LIVE_MAX; i++)
        n += p->live[i].used && !p->live[i].pending;
    table_unlock(p);
    return n;
}

static bool object_referenced(const struct offload_provider *p, uint32_t o)
{
    for (uint32_t i = 0; i < OFFLOAD_LIVE_MAX; i++)
        for (uint32_t r = 0; p->live[i].used && r < p->live[i].t.count; r++)
            if (p->live[i].t.range[r].object == o)
                return true;
    return false;
}

/* The object number of (kind, name), taking a free slot when new; -1 when all are taken. */
static int object_number(struct offload_provider *p, uint8_t kind, const char *name)
{
    int free_slot = -1;
    for (uint32_t o = 0; o < OFFLOAD_OBJECTS_MAX; o++) {
        struct offload_object *x = &p->obj[o];
        if (x->used && x->kind == kind && same_name(x->name, name))
            return (int)o;
        if (free_slot < 0 && (!x->used || !object_referenced(p, o)))
            free_slot = (int)o;
    }
    if (free_slot >= 0) {
        struct offload_object *x = &p->obj[free_slot];
        x->used = true;
        x->kind = kind;
        x->epoch++;
        size_t n = strlen(name);
        memcpy(x->name, name, n + 1);
    }
    return free_slot;
}

/* The table's lock held. */
static struct offload_live *live_find(struct offload_provider *p, const uint8_t *id)
{
    for (uint32_t i = 0; i < OFFLOAD_LIVE_MAX; i++)
        if (p->live[i].used && !p->live[i].pending && memcmp(p->live[i].t.id, id, TOKEN_ID_LEN) == 0)
            return &p->live[i];
    return NULL;
}

void offload_note_write(struct offload_provider *p, uint8_t kind, const char *name,
                        uint64_t off, uint64_t len)
{
    table_lock(p);
    for (uint32_t i = 0; i < OFFLOAD_LIVE_MAX; i++) {
        struct offload_live *l = &p->live[i];
        for (uint32_t r = 0; l->used && !l->revoked && r < l->t.count; r++) {
            const struct token_range *tr = &l->t.range[r];
            const struct offload_object *x = &p->obj[tr->object];
            if (!same_name(x->name, name))
                continue;
            /* the other kind on the same name: the image file under a disk, or the reverse */
            bool hit = x->kind != kind || overlaps(tr->offset, tr->length, off, len);
            if (hit) {
                l->revoked = true;
                p->stats.revoked += !l->pending;
            }
        }
    }
    table_unlock(p);
}

/* The file under name (both kinds) now has the name `to` and keeps no other: the objects
 * named so follow it, and their tokens with them; a token still being issued for one is
 * revoked (it measured the file under the old name, or is about to measure the new one). */
static void rename_objects(struct offload_provider *p, const char *name, const char *to)
{
    size_t n = strlen(to);
    if (n == 0 || n > OFFLOAD_NAME_MAX)
        return;
    table_lock(p);
    for (uint32_t o = 0; o < OFFLOAD_OBJECTS_MAX; o++) {
        struct offload_object *x = &p->obj[o];
        if (!x->used || !same_name(x->name, name))
            continue;
        memcpy(x->name, to, n + 1);
        for (uint32_t i = 0; i < OFFLOAD_LIVE_MAX; i++) {
            struct offload_live *l = &p->live[i];
            for (uint32_t r = 0; l->used && l->pending && r < l->t.count; r++)
                if (l->t.range[r].object == o)
                    l->revoked = true;
        }
    }
    table_unlock(p);
}

/* ---- offload read ------------------------------------------------------------------ */

static bool name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n > 0 && n <= OFFLOAD_NAME_MAX;
}

/* Opens src and fills range r with what of it can be represented; 0 bytes: past the end. */
static int issue_range(struct offload_provider *p, const struct offload_src *s,
                       struct token_range *r, char *msg, size_t msg_size)
{
    struct offload_io io;
    int rc = p->pf.open(p->pf.io_ctx, s->kind, s->name, false, &io, msg, msg_size);
    if (rc)
        return rc;
    uint64_t len = s->length;
    if (s->offset >= io.size)
        len = 0;
    else if (len > io.size - s->offset)
        len = io.size - s->offset;
    if (s->offset % io.granule) {
        p->pf.close(p->pf.io_ctx, &io);
        return fmt_fail(msg, msg_size, OFFLOAD_E_INVALID,
                        "%s: offset %llu is not a multiple of the sector size %u", s->name,
                        (unsigned long long)s->offset, io.granule);
    }
    len -= len % io.granule;
    r->length = len;
    r->offset = s->offset;
    r->kind = s->kind;
    r->data_write_guid = io.data_write_guid;
    p->pf.close(p->pf.io_ctx, &io);
    return OFFLOAD_OK;
}

/* The table's lock held: a free slot holding srcs as asked, pending, so that a write
 * noted while the ranges are measured revokes it; NULL with msg when none or objects full. */
static struct offload_live *reserve(struct offload_provider *p, const struct offload_src *srcs,
                                    uint32_t n, char *msg, size_t msg_size)
{
    drop_dead(p);
    struct offload_live *slot = NULL;
    for (uint32_t i = 0; i < OFFLOAD_LIVE_MAX && !slot; i++)
        if (!p->live[i].used)
            slot = &p->live[i];
    if (!slot)
        return fmt_fail(msg, msg_size, OFFLOAD_E_BUSY, "%u tokens live: wait for some to expire",
                        OFFLOAD_LIVE_MAX), NULL;
    memset(&slot->t, 0, sizeof(slot->t));
    slot->used = slot->pending = true;
    slot->revoked = false;
    for (uint32_t i = 0; i < n; i++) {
        int o = object_number(p, srcs[i].kind, srcs[i].name);
        if (o < 0) {
            slot->used = slot->pending = false;
            return fmt_fail(msg, msg_size, OFFLOAD_E_BUSY, "%u files and disks have live tokens",
                            OFFLOAD_OBJECTS_MAX), NULL;
        }
        slot->t.range[i] = (struct token_range){ .kind = srcs[i].kind, .object = (uint32_t)o,
                                                 .offset = srcs[i].offset,
                                                 .length = srcs[i].length };
        slot->t.count = i + 1;
    }
    return slot;
}

int offload_read(struct offload_provider *p, const struct offload_src *srcs, uint32_t n,
                 uint64_t lifetime_ms, uint8_t token[TOKEN_SIZE], uint64_t *covered,
                 char *msg, size_t msg_size)
{
    *covered = 0;
    if (n == 0)
        return fmt_fail(msg, msg_size, OFFLOAD_E_INVALID, "no range to read");
    if (n > TOKEN_RANGES_MAX)
        n = TOKEN_RANGES_MAX;
    for (uint32_t i = 0; i < n; i++) {
        const struct offload_src *s = &srcs[i];
        if (!name_valid(s->name) || (s->kind != TOKEN_RANGE_FILE && s->kind != TOKEN_RANGE_DISK))
            return fmt_fail(msg, msg_size, OFFLOAD_E_INVALID, "range %u: bad kind or name", i);
        if (s->length == 0 || s->offset + s->length < s->offset)
            return fmt_fail(msg, msg_size, OFFLOAD_E_INVALID, "%s: empty or overflowing range",
                            s->name);
    }
    table_lock(p);
    struct offload_live *slot = reserve(p, srcs, n, msg, msg_size);
    table_unlock(p);
    if (!slot)
        return OFFLOAD_E_BUSY;
    struct token t;
    memset(&t, 0, sizeof(t));
    int rc = OFFLOAD_OK;
    for (uint32_t i = 0; i < n && !rc; i++) {
        const struct offload_src *s = &srcs[i];
        struct token_range r;
        memset(&r, 0, sizeof(r));
        rc = issue_range(p, s, &r, msg, msg_size);
        if (rc || r.length == 0)
            break;
        r.object = slot->t.range[i].object;
        r.generation = p->obj[r.object].epoch;
        t.range[t.count++] = r;
        t.total += r.length;
        if (r.length < s->length)
            break; /* cut at the end: later ranges would not follow on */
    }
    if (!rc && t.count == 0)
        rc = fmt_fail(msg, msg_size, OFFLOAD_E_INVALID, "%s: offset %llu is at or past the end",
                      srcs[0].name, (unsigned long long)srcs[0].offset);
    if (lifetime_ms == 0 || lifetime_ms > OFFLOAD_LIFETIME_MAX)
        lifetime_ms = OFFLOAD_LIFETIME_MAX;
    memcpy(t.issuer, p->issuer, TOKEN_ISSUER_LEN);
    p->pf.random(p->pf.sec_ctx, t.id, TOKEN_ID_LEN);
    t.expiry_ms = p->pf.now_ms(p->pf.sec_ctx) + lifetime_ms;
    if (!rc && token_encode(&t, p->pf.mac, p->pf.sec_ctx, token) != TOKEN_OK)
        rc = fmt_fail(msg, msg_size, OFFLOAD_E_INVALID, "token could not be encoded");
    table_lock(p);
    if (!rc && slot->revoked) /* a writer noted a change while the ranges were measured */
        rc = fmt_fail(msg, msg_size, OFFLOAD_E_REVOKED,
                      "the data changed while the token was issued: ask again");
    slot->pending = false;
    slot->used = rc == OFFLOAD_OK;
    if (!rc) {
        slot->t = t;
        p->stats.issued++;
    }
    table_unlock(p);
    if (rc)
        memset(token, 0, TOKEN_SIZE);
    else
        *covered = t.total;
    return rc;
}

/* ---- offload write ----------------------------------------------------------------- */

struct copy {
    struct offload_provider *p;
    const struct token *t;
    const uint8_t *id;
    struct offload_io src[TOKEN_RANGES_MAX];
    bool src_open[TOKEN_RANGES_MAX];
    struct offload_io dst;
    uint8_t dst_kind;
    const char *dst_name;
    uint8_t *buf;
    char *msg;
    size_t msg_size;
};

/* Whether the token is still live: not revoked and not expired. */
static int still_valid(struct copy *c)
{
    table_lock(c->p);
    struct offload_live *l = live_find(c->p, c->id);
    bool revoked = !l || l->revoked;
    bool expired = l && c->p->pf.now_ms(c->p->pf.sec_ctx) >= l->t.expiry_ms;
    table_unlock(c->p);
    if (revoked)
        return fmt_fail(c->msg, c->msg_size, OFFLOAD_E_REVOKED,
                        "token no longer valid: its data changed since issue");
    if (expired)
        return fmt_fail(c->msg, c->msg_size, OFFLOAD_E_TOKEN, "token expired");
    return OFFLOAD_OK;
}

static int open_sources(struct copy *c)
{
    for (uint32_t i = 0; i < c->t->count; i++) {
        const struct token_range *r = &c->t->range[i];
        const struct offload_object *x = &c->p->obj[r->object % OFFLOAD_OBJECTS_MAX];
        if (r->object >= OFFLOAD_OBJECTS_MAX || !x->used || x->epoch != r->generation ||
            x->kind != r->kind)
            return fmt_fail(c->msg, c->msg_size, OFFLOAD_E_REVOKED,
                            "token no longer valid: its file is no longer tracked");
        int rc = c->p->pf.open(c->p->pf.io_ctx, r->kind, x->name, false, &c->src[i], c->msg,
                               c->msg_size);
        if (rc)
            return rc;
        c->src_open[i] = true;
        /* changed by a writer that did not call the hook (another open of the disk) */
        if (!guid_eq(&c->src[i].data_write_guid, &r->data_write_guid) ||
            r->offset + r->length > c->src[i].size)
            return fmt_fail(c->msg, c->msg_size, OFFLOAD_E_REVOKED,
                            "token no longer valid: %s changed since issue", x->name);
    }
    return OFFLOAD_OK;
}

static int check_overlap(struct copy *c, uint64_t dst_off, uint64_t len)
{
    for (uint32_t i = 0; i < c->t->count; i++) {
        const struct token_range *r = &c->t->range[i];
        const struct offload_object *x = &c->p->obj[r->object];
        if (!same_name(x->name, c->dst_name))
            continue;
        if (x->kind != c->dst_kind || overlaps(r->offset, r->length, dst_off, len))
            return fmt_fail(c->msg, c->msg_size, OFFLOAD_E_INVALID,
                            "%s: the destination overlaps the token's data", c->dst_name);
    }
    return OFFLOAD_OK;
}

static bool all_zero(const uint8_t *b, uint32_t n)
{
    const uint64_t *w = (const uint64_t *)b; /* the copy buffer: from alloc, 8-byte aligned */
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8)
        if (w[i / 8])
            return false;
    for (; i < n; i++)
        if (b[i])
            return false;
    return true;
}

/* Copies one piece: src range i at sofs, n bytes, to dofs. */
static int copy_piece(struct copy *c, uint32_t i, uint64_t sofs, uint64_t dofs, uint32_t n)
{
    struct offload_io *s = &c->src[i], *d = &c->dst;
    bool zero = false;
    uint64_t run = n;
    if (s->zero_extent && d->punch) {
        int rc = s->zero_extent(s->h, sofs, n, &zero, &run);
        if (rc)
            return fmt_fail(c->msg, c->msg_size, OFFLOAD_E_IO, "%s: reading its map failed",
                            c->p->obj[c->t->range[i].object].name);
    }
    if (zero && run >= n) {
        int rc = still_valid(c); /* after the map was read, as after a read */
        if (rc)
            return rc;
        if (c->dst_name)
            offload_note_write(c->p, c->dst_kind, c->dst_name, dofs, n);
        if (d->punch(d->h, dofs, n))
            return fmt_fail(c->msg, c->msg_size, OFFLOAD_E_IO, "%s: writing failed", c->dst_name);
        c->p->stats.bytes_punched += n;
        return OFFLOAD_OK;
    }
    if (s->read(s->h, sofs, c->buf, n))
        return fmt_fail(c->msg, c->msg_size, OFFLOAD_E_IO, "%s: reading failed",
                        c->p->obj[c->t->range[i].object].name);
    int rc = still_valid(c); /* after the read: what was read is the data as at issue */
    if (rc)
        return rc;
    if (c->dst_name)
        offload_note_write(c->p, c->dst_kind, c->dst_name, dofs, n);
    if (d->punch && all_zero(c->buf, n)) {
        /* allocated but zero (a block's unwritten rest): trimmed, not written; a
         * destination block left with no data stays unallocated */
        if (d->punch(d->h, dofs, n))
            return fmt_fail(c->msg, c->msg_size, OFFLOAD_E_IO, "%s: writing failed", c->dst_name);
        c->p->stats.bytes_zero_read += n;
        return OFFLOAD_OK;
    }
    if (d->write(d->h, dofs, c->buf, n))
        return fmt_fail(c->msg, c->msg_size, OFFLOAD_E_IO, "%s: writing failed",
                        c->dst_name ? c->dst_name : "the receiving provider");
    c->p->stats.bytes_copied += n;
    return OFFLOAD_OK;
}

/* The piece at token position pos: range index, source offset, bytes left in that range. */
static void locate(const struct token *t, uint64_t pos, uint32_t *i, uint64_t *sofs,
                   uint64_t *left)
{
    uint32_t k = 0;
    while (pos >= t->range[k].length)
        pos -= t->range[k++].length;
    *i = k;
    *sofs = t->range[k].offset + pos;
    *left = t->range[k].length - pos;
}

static int copy_all(struct copy *c, uint64_t token_off, uint64_t len, uint64_t dst_off,
                    offload_progress_fn progress, void *pctx, uint64_t *written)
{
    uint64_t done = 0;
    while (done < len) {
        uint32_t i;
        uint64_t sofs, left;
        locate(c->t, token_off + done, &i, &sofs, &left);
        uint64_t n = len - done;
        if (n > left)
            n = left;
        if (n > OFFLOAD_CHUNK)
            n = OFFLOAD_CHUNK;
        /* lengths in whole sectors of both (powers of two: the larger is a multiple) */
        uint32_t g = c->dst.granule > c->src[i].granule ? c->dst.granule : c->src[i].granule;
        if (sofs % c->src[i].granule || (dst_off + done) % c->dst.granule)
            break; /* a file range's end left the copy off a sector boundary */
        n -= n % g;
        if (n == 0)
            break;
        int rc = copy_piece(c, i, sofs, dst_off + done, (uint32_t)n);
        if (rc)
            return rc;
        done += n;
        *written = done;
        if (progress)
            progress(pctx, done, len);
    }
    if (done == 0)
        return fmt_fail(c->msg, c->msg_size, OFFLOAD_E_INVALID,
                        "%s: offsets must be whole sectors of the source and destination disks",
                        c->dst_name);
    if (done < len)
        fmt_fail(c->msg, c->msg_size, OFFLOAD_OK,
                 "stopped after %llu of %llu bytes: the rest does not fill whole sectors of %s",
                 (unsigned long long)done, (unsigned long long)len, c->dst_name);
    return OFFLOAD_OK;
}

static bool clone_valid(void *ctx) { return still_valid(ctx) == OFFLOAD_OK; }

struct clone_ctx {
    struct copy *c;
    const char *src;
    char base[OFFLOAD_NAME_MAX + 1];
};

static bool clone_ctx_valid(void *ctx) { return clone_valid(((struct clone_ctx *)ctx)->c); }

/* The source's data, unchanged, is the base's now: its tokens go on reading it there. */
static void clone_committed(void *ctx, const char *base)
{
    struct clone_ctx *k = ctx;
    size_t n = strlen(base);
    if (n > OFFLOAD_NAME_MAX)
        return;
    memcpy(k->base, base, n + 1);
    rename_objects(k->c->p, k->src, base);
}

/*
 * A whole source disk onto a whole destination disk: offers the platform a clone (its
 * blocks shared, none moved).  OFFLOAD_CLONE_DECLINED when it is not such a write or the
 * platform will not; else the clone's status.
 */
static int try_clone(struct copy *c, uint64_t token_off, uint64_t len, uint64_t dst_off)
{
    const struct token *t = c->t;
    const struct token_range *r = &t->range[0];
    if (!c->p->pf.clone || c->dst_kind != TOKEN_RANGE_DISK || t->count != 1 ||
        r->kind != TOKEN_RANGE_DISK || r->offset != 0 || token_off != 0 || dst_off != 0 ||
        len != t->total || r->object >= OFFLOAD_OBJECTS_MAX)
        return OFFLOAD_CLONE_DECLINED;
    const struct offload_object *x = &c->p->obj[r->object];
    if (!x->used || x->epoch != r->generation || x->kind != r->kind)
        return OFFLOAD_CLONE_DECLINED;  /* the copy path says why */
    /* the object's name changes at the commit: the clone works on its own copy */
    char src[OFFLOAD_NAME_MAX + 1];
    memcpy(src, x->name, sizeof src);
    struct clone_ctx k = { .c = c, .src = src, .base = "" };
    struct offload_clone req = { .src = src, .dst = c->dst_name, .length = r->length,
                                 .src_data_write_guid = r->data_write_guid,
                                 .still_valid = clone_ctx_valid, .committed = clone_committed,
                                 .ctx = &k };
    int rc = c->p->pf.clone(c->p->pf.io_ctx, &req, c->msg, c->msg_size);
    if (rc == OFFLOAD_OK)
        fmt_fail(c->msg, c->msg_size, OFFLOAD_OK, "blocks shared: a linked clone of %s, its data "
                 "now in %s", src, k.base[0] ? k.base : "a base");
    return rc;
}

/* Writes [token_off, +len) of t's data to dst (opened here by name) or to sink (dst NULL);
 * whole: all of the token instead where that moves no payload. */
static int run_copy(struct offload_provider *p, const struct token *t, uint64_t token_off,
                    uint64_t len, bool whole, uint8_t dst_kind, const char *dst, uint64_t dst_off,
                    const struct offload_io *sink, offload_progress_fn progress,
                    void *progress_ctx, uint64_t *written, char *msg, size_t msg_size)
{
    if (token_off >= t->total)
        return fmt_fail(msg, msg_size, OFFLOAD_E_INVALID,
                        "offset %llu is past the token's %llu bytes",
                        (unsigned long long)token_off, (unsigned long long)t->total);
    if (len > t->total - token_off)
        len = t->total - token_off;
    if (dst_off + len < dst_off)
        return fmt_fail(msg, msg_size, OFFLOAD_E_INVALID, "destination range overflows");
    struct copy c = { .p = p, .t = t, .id = t->id, .dst_kind = dst_kind, .dst_name = dst,
                      .msg = msg, .msg_size = msg_size };
    int rc = still_valid(&c);
    if (!rc && dst)
        rc = check_overlap(&c, dst_off, len);
    if (!rc && dst) {
        uint64_t all = whole ? t->total - token_off : len;
        int crc = try_clone(&c, token_off, all, dst_off);
        if (crc != OFFLOAD_CLONE_DECLINED) {
            if (crc == OFFLOAD_OK) {
                *written = all;
                p->stats.bytes_shared += all;
                p->stats.writes++;
                if (progress)
                    progress(progress_ctx, all, all);
            }
            return crc;
        }
        if (msg && msg_size)
            msg[0] = '\0';
    }
    if (!rc)
        rc = open_sources(&c);
    bool dst_open = false;
    if (!rc && dst) {
        rc = p->pf.open(p->pf.io_ctx, dst_kind, dst, true, &c.dst, msg, msg_size);
        dst_open = rc == OFFLOAD_OK;
    } else if (!rc) {
        c.dst = *sink;
    }
    if (!rc && dst && dst_kind == TOKEN_RANGE_DISK && dst_off + len > c.dst.size)
        rc = fmt_fail(msg, msg_size, OFFLOAD_E_INVALID,
                      "%s: the range ends past the disk's %llu bytes", dst,
                      (unsigned long long)c.dst.size);
    if (!rc && !(c.buf = p->pf.alloc(p->pf.io_ctx, OFFLOAD_CHUNK)))
        rc = fmt_fail(msg, msg_size, OFFLOAD_E_NOMEM, "no memory for the copy buffer");
    if (!rc)
        rc = copy_all(&c, token_off, len, dst_off, progress, progress_ctx, written);
    if (dst_open) {
        if (c.dst.flush(c.dst.h) && !rc)
            rc = fmt_fail(msg, msg_size, OFFLOAD_E_IO, "%s: flushing failed", dst);
        p->pf.close(p->pf.io_ctx, &c.dst);
    }
    for (uint32_t i = 0; i < t->count; i++)
        if (c.src_open[i])
            p->pf.close(p->pf.io_ctx, &c.src[i]);
    if (c.buf)
        p->pf.free(p->pf.io_ctx, c.buf);
    p->stats.writes += rc == OFFLOAD_OK;
    return rc;
}

static int write_token(struct offload_provider *p, const uint8_t *token, size_t token_len,
                       uint64_t token_off, uint64_t len, bool whole, uint8_t dst_kind,
                       const char *dst, uint64_t dst_off, offload_progress_fn progress,
                       void *progress_ctx, uint64_t *written, char *msg, size_t msg_size)
{
    *written = 0;
    if (msg && msg_size)
        msg[0] = '\0';
    struct token t;
    int trc = token_decode(token, token_len, p->issuer, p->pf.mac, p->pf.sec_ctx,
                           p->pf.now_ms(p->pf.sec_ctx), &t);
    if (trc)
        return fmt_fail(msg, msg_size, OFFLOAD_E_TOKEN, "%s", token_status_text(trc));
    if (!name_valid(dst) || (dst_kind != TOKEN_RANGE_FILE && dst_kind != TOKEN_RANGE_DISK))
        return fmt_fail(msg, msg_size, OFFLOAD_E_INVALID, "bad destination kind or name");
    return run_copy(p, &t, token_off, len, whole, dst_kind, dst, dst_off, NULL, progress,
                    progress_ctx, written, msg, msg_size);
}

int offload_write(struct offload_provider *p, const uint8_t *token, size_t token_len,
                  uint64_t token_off, uint64_t len, uint8_t dst_kind, const char *dst,
                  uint64_t dst_off, offload_progress_fn progress, void *progress_ctx,
                  uint64_t *written, char *msg, size_t msg_size)
{
    return write_token(p, token, token_len, token_off, len, false, dst_kind, dst, dst_off,
                       progress, progress_ctx, written, msg, msg_size);
}

int offload_write_whole(struct offload_provider *p, const uint8_t *token, size_t token_len,
                        uint64_t len, uint8_t dst_kind, const char *dst,
                        offload_progress_fn progress, void *progress_ctx, uint64_t *written,
                        char *msg, size_t msg_size)
{
    return write_token(p, token, token_len, 0, len, true, dst_kind, dst, 0, progress,
                       progress_ctx, written, msg, msg_size);
}

int offload_serve_begin(struct offload_provider *p, struct grant_checker *k,
                        const uint8_t *grant, size_t grant_len, const uint8_t peer[GRANT_FP_LEN],
                        struct token *t, char *msg, size_t msg_size)
{
    if (msg && msg_size)
        msg[0] = '\0';
    struct grant g;
    int grc = grant_check(k, grant, grant_len, peer, p->pf.now_ms(p->pf.sec_ctx), &g);
    if (grc)
        return fmt_fail(msg, msg_size, OFFLOAD_E_GRANT, "%s", grant_status_text(grc));
    int trc = token_decode(g.token, TOKEN_SIZE, p->issuer, p->pf.mac, p->pf.sec_ctx,
                           p->pf.now_ms(p->pf.sec_ctx), t);
    if (trc)
        return fmt_fail(msg, msg_size, OFFLOAD_E_TOKEN, "%s", token_status_text(trc));
    return OFFLOAD_OK;
}

int offload_serve_range(struct offload_provider *p, const struct token *t, uint64_t token_off,
                        uint64_t len, const struct offload_io *sink, uint64_t *sent, char *msg,
                        size_t msg_size)
{
    *sent = 0;
    if (msg && msg_size)
        msg[0] = '\0';
    return run_copy(p, t, token_off, len, false, 0, NULL, 0, sink, NULL, NULL, sent, msg,
                    msg_size);
}

int offload_serve(struct offload_provider *p, struct grant_checker *k, const uint8_t *grant,
                  size_t grant_len, const uint8_t peer[GRANT_FP_LEN], uint64_t token_off,
                  uint64_t len, const struct offload_io *sink, uint64_t *sent, char *msg,
                  size_t msg_size)
{
    *sent = 0;
    struct token t;
    int rc = offload_serve_begin(p, k, grant, grant_len, peer, &t, msg, msg_size);
    return rc ? rc : offload_serve_range(p, &t, token_off, len, sink, sent, msg, msg_size);
}

/* ---- plain reads and writes (the client-mediated path) ----------------------------- */

/* Opens name for a plain read or write at [off, +len): a disk's range in whole sectors
 * (a read's end is cut to them); a write's range inside the disk. */
static int open_plain(struct offload_provider *p, uint8_t kind, const char *name, bool writable,
                      uint64_t off, uint64_t len, struct offload_io *io, char *msg,
                      size_t msg_size)
{
    if (msg && msg_size)
        msg[0] = '\0';
    if (!name_valid(name) || (kind != TOKEN_RANGE_FILE && kind != TOKEN_RANGE_DISK))
        return fmt_fail(msg, msg_size, OFFLOAD_E_INVALID, "bad kind or name");
    if (off + len < off)
        return fmt_fail(msg, msg_size, OFFLOAD_E_INVALID, "range overflows");
    int rc = p->pf.open(p->pf.io_ctx, kind, name, writable, io, msg, msg_size);
    if (rc)
        return rc;
    if (off % io->granule || (writable && len % io->granule))
        rc = fmt_fail(msg, msg_size, OFFLOAD_E_INVALID, "%s: not whole %u-byte sectors", name,
                      io->granule);
    else if (writable && kind == TOKEN_RANGE_DISK && off + len > io->size)
        rc = fmt_fail(msg, msg_size, OFFLOAD_E_INVALID,
                      "%s: the range ends past the disk's %llu bytes", name,
                      (unsigned long long)io->size);
    if (rc)
        p->pf.close(p->pf.io_ctx, io);
    return rc;
}

int offload_fetch(struct offload_provider *p, uint8_t kind, const char *name, uint64_t off,
                  void *buf, size_t len, size_t *got, char *msg, size_t msg_size)
{
    struct offload_io io;
    *got = 0;
    int rc = open_plain(p, kind, name, false, off, len, &io, msg, msg_size);
    if (rc)
        return rc;
    uint64_t n = off >= io.size ? 0 : io.size - off < len ? io.size - off : len;
    n -= n % io.granule;
    if (n && io.read(io.h, off, buf, (size_t)n))
        rc = fmt_fail(msg, msg_size, OFFLOAD_E_IO, "%s: reading failed", name);
    else
        *got = (size_t)n;
    p->pf.close(p->pf.io_ctx, &io);
    return rc;
}

int offload_store(struct offload_provider *p, uint8_t kind, const char *name, uint64_t off,
                  const void *buf, size_t len, char *msg, size_t msg_size)
{
    struct offload_io io;
    int rc = open_plain(p, kind, name, true, off, len, &io, msg, msg_size);
    if (rc)
        return rc;
    offload_note_write(p, kind, name, off, len);
    if (len && io.write(io.h, off, buf, len))
        rc = fmt_fail(msg, msg_size, OFFLOAD_E_IO, "%s: writing failed", name);
    if (io.flush(io.h) && !rc)
        rc = fmt_fail(msg, msg_size, OFFLOAD_E_IO, "%s: flushing failed", name);
    p->pf.close(p->pf.io_ctx, &io);
    return rc;
}

/* ---- the receiving provider ------------------------------------------------------- */

static int receiver_write(void *h, uint64_t pos, const void *buf, size_t len)
{
    struct offload_receiver *r = h;
    if (r->off + pos < r->off)
        return -1;
    offload_note_write(r->p, r->kind, r->name, r->off + pos, len);
    if (r->io.write(r->io.h, r->off + pos, buf, len))
        return -1;
    r->received += len;
    return 0;
}

int offload_receive_open(struct offload_receiver *r, struct offload_provider *p, uint8_t kind,
                         const char *name, uint64_t off, struct offload_io *sink, char *msg,
                         size_t msg_size)
{
    memset(r, 0, sizeof(*r));
    if (!name_valid(name) || (kind != TOKEN_RANGE_FILE && kind != TOKEN_RANGE_DISK))
        return fmt_fail(msg, msg_size, OFFLOAD_E_INVALID, "bad destination kind or name");
    int rc = p->pf.open(p->pf.io_ctx, kind, name, true, &r->io, msg, msg_size);
    if (rc)
        return rc;
    r->p = p, r->kind = kind, r->off = off;
    memcpy(r->name, name, strlen(name) + 1);
    memset(sink, 0, sizeof(*sink));
    sink->h = r;
    sink->size = UINT64_MAX;
    sink->granule = r->io.granule;
    sink->write = receiver_write;
    return OFFLOAD_OK;
}

int offload_receive_close(struct offload_receiver *r)
{
    int rc = r->io.flush(r->io.h) ? OFFLOAD_E_IO : OFFLOAD_OK;
    r->p->pf.close(r->p->pf.io_ctx, &r->io);
    return rc;
}

const char *offload_status_name(int status)
{
    switch (status) {
    case OFFLOAD_OK:          return "ok";
    case OFFLOAD_E_INVALID:   return "invalid argument";
    case OFFLOAD_E_NOT_FOUND: return "not found";
    case OFFLOAD_E_IO:        return "I/O error";
    case OFFLOAD_E_TOKEN:     return "token refused";
    case OFFLOAD_E_REVOKED:   return "token no longer valid";
    case OFFLOAD_E_BUSY:      return "busy";
    case OFFLOAD_E_NOMEM:     return "out of memory";
    case OFFLOAD_E_GRANT:     return "grant refused";
    default:                  return "unknown";
    }
}
