/* The de-duplication index: two chained hash tables over one entry array, by content and
 * by location. */
#include "hv/storage/dedup_index.h"

#include <string.h>

#include "hv/storage/vhdx_internal.h"

#define NONE UINT32_MAX

struct dedup_entry {
    uint8_t hash[DEDUP_HASH_LEN];
    uint32_t obj, unit;
    uint32_t next_hash, next_loc; /* chains; next_hash also links the free list */
};

struct dedup_index {
    struct vhdx_env env;
    dedup_hash_fn hash;
    void *hash_ctx;
    uint32_t capacity, count, buckets, free;
    struct dedup_entry *e;
    uint32_t *by_hash, *by_loc;
};

static uint32_t hash_bucket(const struct dedup_index *x, const uint8_t *h)
{
    return le32(h) & (x->buckets - 1);
}

static uint32_t loc_bucket(const struct dedup_index *x, uint32_t obj, uint32_t unit)
{
    uint64_t k = ((uint64_t)obj << 32 | unit) * 0x9e3779b97f4a7c15ull;
    return (uint32_t)(k >> 32) & (x->buckets - 1);
}

struct dedup_index *dedup_create(const struct vhdx_env *env, uint32_t capacity,
                                 dedup_hash_fn hash, void *hash_ctx)
{
    if (capacity == 0 || capacity > (1u << 28))
        return NULL;
    struct dedup_index *x = vhdx_alloc(env, sizeof(*x));
    if (!x)
        return NULL;
    x->env = *env;
    x->hash = hash, x->hash_ctx = hash_ctx;
    x->capacity = capacity;
    x->buckets = 1;
    while (x->buckets < capacity)
        x->buckets <<= 1;
    x->e = vhdx_alloc(env, sizeof(*x->e) * capacity);
    x->by_hash = vhdx_alloc(env, sizeof(uint32_t) * x->buckets);
    x->by_loc = vhdx_alloc(env, sizeof(uint32_t) * x->buckets);
    if (!x->e || !x->by_hash || !x->by_loc) {
        dedup_destroy(x);
        return NULL;
    }
    memset(x->by_hash, 0xff, sizeof(uint32_t) * x->buckets);
    memset(x->by_loc, 0xff, sizeof(uint32_t) * x->buckets);
    for (uint32_t i = 0; i < capacity; i++)
        x->e[i].next_hash = i + 1 < capacity ? i + 1 : NONE;
    x->free = 0;
    return x;
}

void dedup_destroy(struct dedup_index *x)
{
    if (!x)
        return;
    const struct vhdx_env env = x->env;
    vhdx_free(&env, x->e);
    vhdx_free(&env, x->by_hash);
    vhdx_free(&env, x->by_loc);
    vhdx_free(&env, x);
}

void dedup_hash(const struct dedup_index *x, const void *data, size_t len,
                uint8_t out[DEDUP_HASH_LEN])
{
    x->hash(x->hash_ctx, data, len, out);
}

static uint32_t find_loc(const struct dedup_index *x, uint32_t obj, uint32_t unit)
{
    for (uint32_t i = x->by_loc[loc_bucket(x, obj, unit)]; i != NONE; i = x->e[i].next_loc)
        if (x->e[i].obj == obj && x->e[i].unit == unit)
            return i;
    return NONE;
}

static void unlink_chain(uint32_t *head, struct dedup_entry *e, uint32_t i, bool loc)
{
    for (uint32_t *p = head; *p != NONE; p = loc ? &e[*p].next_loc : &e[*p].next_hash)
        if (*p == i) {
            *p = loc ? e[i].next_loc : e[i].next_hash;
            return;
        }
}

static void remove_entry(struct dedup_index *x, uint32_t i)
{
    struct dedup_entry *en = &x->e[i];
    unlink_chain(&x->by_hash[hash_bucket(x, en->hash)], x->e, i, false);
    unlink_chain(&x->by_loc[loc_bucket(x, en->obj, en->unit)], x->e, i, true);
    en->next_hash = x->free;
    x->free = i;
    x->count--;
}

bool dedup_insert(struct dedup_index *x, const uint8_t h[DEDUP_HASH_LEN], uint32_t obj,
                  uint32_t unit)
{
    uint32_t old = find_loc(x, obj, unit);
    if (old != NONE)
        remove_entry(x, old);
    if (x->free == NONE)
        return false;
    uint32_t i = x->free;
    struct dedup_entry *en = &x->e[i];
    x->free = en->next_hash;
    memcpy(en->hash, h, DEDUP_HASH_LEN);
    en->obj = obj, en->unit = unit;
    uint32_t hb = hash_bucket(x, h), lb = loc_bucket(x, obj, unit);
    en->next_hash = x->by_hash[hb], x->by_hash[hb] = i;
    en->next_loc = x->by_loc[lb], x->by_loc[lb] = i;
    x->count++;
    return true;
}

bool dedup_holds(const struct dedup_index *x, const uint8_t h[DEDUP_HASH_LEN], uint32_t obj,
                 uint32_t unit)
{
    uint32_t i = find_loc(x, obj, unit);
    return i != NONE && memcmp(x->e[i].hash, h, DEDUP_HASH_LEN) == 0;
}

bool dedup_find(const struct dedup_index *x, const uint8_t h[DEDUP_HASH_LEN],
                struct dedup_loc *out)
{
    for (uint32_t i = x->by_hash[hash_bucket(x, h)]; i != NONE; i = x->e[i].next_hash)
        if (memcmp(x->e[i].hash, h, DEDUP_HASH_LEN) == 0) {
            out->obj = x->e[i].obj, out->unit = x->e[i].unit;
            return true;
        }
    return false;
}

void dedup_forget(struct dedup_index *x, uint32_t obj, uint64_t off, uint64_t len)
{
    if (!len)
        return;
    uint64_t first = off / DEDUP_UNIT, last = (off + len - 1) / DEDUP_UNIT;
    for (uint64_t u = first; u <= last && u <= UINT32_MAX; u++) {
        uint32_t i = find_loc(x, obj, (uint32_t)u);
        if (i != NONE)
            remove_entry(x, i);
    }
}

void dedup_forget_obj(struct dedup_index *x, uint32_t obj)
{
    for (uint32_t b = 0; b < x->buckets; b++)
        for (uint32_t i = x->by_loc[b], next; i != NONE; i = next) {
            next = x->e[i].next_loc;
            if (x->e[i].obj == obj)
                remove_entry(x, i);
        }
}

uint32_t dedup_count(const struct dedup_index *x)
{
    return x->count;
}

size_t dedup_memory(const struct dedup_index *x)
{
    return sizeof(*x) + sizeof(*x->e) * x->capacity + 2 * sizeof(uint32_t) * x->buckets;
}

static bool is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

int dedup_index_disk(struct dedup_index *x, uint32_t obj, struct vhdx *d, uint8_t *buf,
                     struct vhdx_err *err)
{
    dedup_forget_obj(x, obj);
    for (uint64_t off = 0; off < d->disk_size; off += DEDUP_UNIT) {
        size_t n = d->disk_size - off < DEDUP_UNIT ? (size_t)(d->disk_size - off) : DEDUP_UNIT;
        int rc = vhdx_read(d, off, buf, n, err);
        if (rc)
            return rc;
        if (is_zero(buf, n))
            continue;
        uint8_t h[DEDUP_HASH_LEN];
        dedup_hash(x, buf, n, h);
        if (!dedup_insert(x, h, obj, (uint32_t)(off / DEDUP_UNIT)))
            return vhdx_fail(err, VHDX_E_NOMEM, "%s: de-duplication index full (%u entries)",
                             d->name, x->capacity);
    }
    return VHDX_OK;
}
