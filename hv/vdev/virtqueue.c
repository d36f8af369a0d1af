/* Split virtqueues in hostile guest memory: chain walking, used ring, event index. */
#include "hv/vdev/virtqueue.h"

#include <string.h>

#define DESC_SIZE 16u
#define PAGE_SIZE 4096u

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

void virtq_reset(struct virtq *q, uint16_t max_size)
{
    memset(q, 0, sizeof(*q));
    q->size = max_size;
    q->msix_vector = 0xffff;
}

const char *virtq_check_layout(const struct virtq *q)
{
    if (!q->size || (q->size & (q->size - 1)) || q->size > VIRTQ_MAX_SIZE)
        return "queue size is not a power of two up to the maximum";
    if (q->desc % 16 || q->avail % 2 || q->used % 4)
        return "ring address misaligned";
    uint64_t ends[3] = { q->desc + 16ull * q->size, q->avail + 6 + 2ull * q->size,
                         q->used + 6 + 8ull * q->size };
    if (ends[0] < q->desc || ends[1] < q->avail || ends[2] < q->used)
        return "ring wraps the address space";
    return NULL;
}

static bool read16(const struct vdev_platform *p, uint64_t gpa, uint16_t *v)
{
    uint8_t b[2];
    if (!p->gpa_read(p->ctx, gpa, b, 2))
        return false;
    *v = (uint16_t)(b[0] | b[1] << 8);
    return true;
}

static bool write16(const struct vdev_platform *p, uint64_t gpa, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    return p->gpa_write(p->ctx, gpa, b, 2);
}

static uint64_t le_get(const uint8_t *b, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static bool read_desc(const struct vdev_platform *p, uint64_t table, uint16_t i, struct desc *d)
{
    uint8_t b[DESC_SIZE];
    if (!p->gpa_read(p->ctx, table + (uint64_t)i * DESC_SIZE, b, sizeof(b)))
        return false;
    d->addr = le_get(b, 8);
    d->len = (uint32_t)le_get(b + 8, 4);
    d->flags = (uint16_t)le_get(b + 12, 2);
    d->next = (uint16_t)le_get(b + 14, 2);
    return true;
}

bool virtq_has_work(const struct virtq *q, const struct vdev_platform *p)
{
    uint16_t idx;
    return q->enabled && read16(p, q->avail + 2, &idx) && idx != q->last_avail;
}

void virtq_start(const struct virtq *q, const struct vdev_platform *p)
{
    write16(p, q->used, 0);         /* refused outside RAM: the ring is refused at use */
}

/* ---- chain walking ---------------------------------------------------------------- */

static void chain_error(struct virtq_chain *c, const char *why)
{
    if (!c->error)
        c->error = why;
}

static void add_segment(struct virtq_chain *c, const struct desc *d)
{
    bool w = d->flags & VIRTQ_DESC_F_WRITE;
    if (d->len == 0)
        return chain_error(c, "zero-length descriptor");
    if (d->addr + d->len < d->addr)
        return chain_error(c, "descriptor wraps the address space");
    if (!w && c->in_bytes)
        return chain_error(c, "device-readable descriptor after a device-writable one");
    if (w)
        c->in_bytes += d->len;
    else
        c->out_bytes += d->len;
    struct virtq_seg *last = c->nsegs ? &c->seg[c->nsegs - 1] : NULL;
    if (last && last->writable == w && last->gpa + last->len == d->addr &&
        (uint64_t)last->len + d->len <= UINT32_MAX) {
        last->len += d->len;
        return;
    }
    if (c->nsegs == VIRTQ_MAX_SEGS)
        return chain_error(c, "too many segments");
    c->seg[c->nsegs++] = (struct virtq_seg){ d->addr, d->len, w };
}

struct walk {
    uint64_t table;
    uint16_t n;             /* entries in the current table */
    bool indirect;          /* walking an indirect table */
    unsigned count;         /* descriptors taken from the current table */
};

static const char *enter_indirect(const struct virtq *q, struct walk *w, const struct desc *d)
{
    if (!q->indirect)
        return "indirect descriptor without VIRTIO_F_INDIRECT_DESC";
    if (w->indirect)
        return "nested indirect descriptor";
    if (d->flags & VIRTQ_DESC_F_NEXT)
        return "indirect descriptor with NEXT";
    if (d->len == 0 || d->len % DESC_SIZE || d->len / DESC_SIZE > q->size)
        return "indirect table length invalid";
    /* no alignment: the spec asks one of the queue's table only (2.7), and Linux's
     * kmalloc'd tables are 8-byte aligned under slab debugging */
    if (d->addr + d->len < d->addr)
        return "indirect table address invalid";
    *w = (struct walk){ .table = d->addr, .n = (uint16_t)(d->len / DESC_SIZE), .indirect = true };
    return NULL;
}

static const char *walk_chain(const struct virtq *q, const struct vdev_platform *p,
                              struct virtq_chain *c)
{
    struct walk w = { .table = q->desc, .n = q->size };
    uint16_t i = c->head;
    unsigned total = 0;
    for (;;) {
        struct desc d;
        if (i >= w.n)
            return "descriptor index out of range";
        if (++w.count > w.n || ++total > 2u * VIRTQ_MAX_SIZE)
            return "descriptor chain loops or is longer than the queue";
        if (!read_desc(p, w.table, i, &d))
            return "descriptor table outside guest RAM";
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            const char *why = enter_indirect(q, &w, &d);
            if (why)
                return why;
            i = 0;
            continue;
        }
        add_segment(c, &d);
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return NULL;
        i = d.next;
    }
}

enum virtq_pop_result virtq_walk(const struct virtq *q, const struct vdev_platform *p,
                                 uint16_t head, struct virtq_chain *chain, const char **why)
{
    chain->head = head;
    chain->nsegs = 0;
    chain->in_bytes = chain->out_bytes = 0;
    chain->error = NULL;
    *why = walk_chain(q, p, chain);
    return *why ? VIRTQ_BROKEN : VIRTQ_CHAIN;
}

enum virtq_pop_result virtq_pop(struct virtq *q, const struct vdev_platform *p,
                                struct virtq_chain *chain, const char **why)
{
    uint16_t idx, head;
    *why = NULL;
    if (!read16(p, q->avail + 2, &idx)) {
        *why = "avail ring outside guest RAM";
        return VIRTQ_BROKEN;
    }
    if (idx == q->last_avail)
        return VIRTQ_EMPTY;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);        /* the ring entry after its index */
    if ((uint16_t)(idx - q->last_avail) > q->size) {
        *why = "avail index moved by more than the queue size";
        return VIRTQ_BROKEN;
    }
    if (!read16(p, q->avail + 4 + 2ull * (q->last_avail % q->size), &head)) {
        *why = "avail ring outside guest RAM";
        return VIRTQ_BROKEN;
    }
    if (virtq_walk(q, p, head, chain, why) == VIRTQ_BROKEN)
        return VIRTQ_BROKEN;
    q->last_avail++;
    if (q->event_idx && !write16(p, q->used + 4 + 8ull * q->size, q->last_avail)) {
        *why = "used ring outside guest RAM";
        return VIRTQ_BROKEN;
    }
    /* avail_event before the next read of the avail index: a driver that added an entry
     * and then read the old avail_event would not notify, and the entry would wait. */
    if (q->event_idx)
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return VIRTQ_CHAIN;
}

/* ---- used ring ------------------------------------------------------------------------ */

bool virtq_push(struct virtq *q, const struct vdev_platform *p, uint16_t head, uint32_t len)
{
    uint8_t elem[8];
    for (unsigned i = 0; i < 4; i++) {
        elem[i] = (uint8_t)((uint32_t)head >> (8 * i));
        elem[4 + i] = (uint8_t)(len >> (8 * i));
    }
    uint64_t slot = q->used + 4 + 8ull * (q->used_idx % q->size);
    if (!p->gpa_write(p->ctx, slot, elem, sizeof(elem)))
        return false;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    q->used_idx++;
    return write16(p, q->used + 2, q->used_idx);
}

bool virtq_should_interrupt(struct virtq *q, const struct vdev_platform *p)
{
    uint16_t old = q->signalled_used, now = q->used_idx, v;
    if (old == now)
        return false;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (q->event_idx) {
        if (!read16(p, q->avail + 4 + 2ull * q->size, &v))
            return false;
        q->signalled_used = now;
        return (uint16_t)(now - v - 1) < (uint16_t)(now - old);
    }
    q->signalled_used = now;
    return read16(p, q->avail, &v) && !(v & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* ---- data ------------------------------------------------------------------------------- */

static bool chain_copy(const struct virtq_chain *c, const struct vdev_platform *p, bool in,
                       uint64_t pos, void *buf, uint64_t len, bool to_guest)
{
    uint8_t *b = buf;
    for (unsigned i = 0; i < c->nsegs && len; i++) {
        const struct virtq_seg *s = &c->seg[i];
        if (s->writable != in)
            continue;
        if (pos >= s->len) {
            pos -= s->len;
            continue;
        }
        uint64_t n = s->len - pos < len ? s->len - pos : len;
        bool ok = to_guest ? p->gpa_write(p->ctx, s->gpa + pos, b, n)
                           : p->gpa_read(p->ctx, s->gpa + pos, b, n);
        if (!ok)
            return false;
        b += n;
        len -= n;
        pos = 0;
    }
    return len == 0;
}

bool virtq_chain_read(const struct virtq_chain *c, const struct vdev_platform *p,
                      uint64_t pos, void *buf, uint64_t len)
{
    if (pos > c->out_bytes || len > c->out_bytes - pos)
        return false;
    return chain_copy(c, p, false, pos, buf, len, false);
}

bool virtq_chain_write(const struct virtq_chain *c, const struct vdev_platform *p,
                       uint64_t pos, const void *buf, uint64_t len)
{
    if (pos > c->in_bytes || len > c->in_bytes - pos)
        return false;
    return chain_copy(c, p, true, pos, (void *)buf, len, true);
}

bool virtq_chain_in_ram(const struct virtq_chain *c, const struct vdev_platform *p)
{
    uint8_t b;
    for (unsigned i = 0; i < c->nsegs; i++) {
        const struct virtq_seg *s = &c->seg[i];
        uint64_t end = s->gpa + s->len - 1;
        for (uint64_t a = s->gpa; a < end; a = (a | (PAGE_SIZE - 1)) + 1) {
            if (!p->gpa_read(p->ctx, a, &b, 1))
                return false;
        }
        if (!p->gpa_read(p->ctx, end, &b, 1))
            return false;
    }
    return true;
}
