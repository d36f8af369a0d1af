#include "hv/snapshot/snap_lazy.h"

#include <string.h>

enum { ABSENT, WANTED, LOADED };

#define CRC32C_POLY_REFLECTED 0x82f63b78u

size_t snap_lazy_map_bytes(uint32_t block_count)
{
    if (!block_count)
        return 0;
    size_t state = ((size_t)block_count + 3) & ~(size_t)3;
    return state + 2 * (size_t)block_count * sizeof(uint32_t);
}

bool snap_lazy_map_init(struct snap_lazy_map *m, uint32_t block_count, void *mem)
{
    memset(m, 0, sizeof(*m));
    if (!block_count || !mem)
        return false;
    m->block_count = block_count;
    m->state = mem;
    m->wanted = (uint32_t *)(m->state + (((size_t)block_count + 3) & ~(size_t)3));
    m->crc = m->wanted + block_count;
    memset(mem, 0, snap_lazy_map_bytes(block_count));
    return true;
}

bool snap_lazy_loaded(const struct snap_lazy_map *m, uint32_t block)
{
    return block < m->block_count && m->state[block] == LOADED;
}

bool snap_lazy_complete(const struct snap_lazy_map *m)
{
    return m->block_count && m->loaded == m->block_count;
}

bool snap_lazy_want(struct snap_lazy_map *m, uint32_t block)
{
    if (block >= m->block_count || m->state[block] != ABSENT)
        return false;
    m->state[block] = WANTED;
    m->wanted[(m->wanted_head + m->wanted_count++) % m->block_count] = block;
    return true;
}

bool snap_lazy_next(struct snap_lazy_map *m, uint32_t *block, bool *wanted)
{
    while (m->wanted_count) {
        uint32_t b = m->wanted[m->wanted_head];
        m->wanted_head = (m->wanted_head + 1) % m->block_count;
        m->wanted_count--;
        if (m->state[b] == WANTED) {        /* not loaded meanwhile by an access */
            m->state[b] = ABSENT;
            *block = b;
            *wanted = true;
            return true;
        }
    }
    /* No fault waits, so no block is WANTED: the first absent one from the cursor. */
    while (m->cursor < m->block_count && m->state[m->cursor] == LOADED)
        m->cursor++;
    if (m->cursor == m->block_count)
        return false;
    *block = m->cursor;
    *wanted = false;
    return true;
}

bool snap_lazy_done(struct snap_lazy_map *m, uint32_t block, enum snap_lazy_cause cause,
                    uint32_t crc)
{
    if (block >= m->block_count || m->state[block] == LOADED || cause >= SNAP_LAZY_CAUSES)
        return false;
    m->state[block] = LOADED;       /* a WANTED entry left in the ring is skipped */
    m->crc[block] = crc;
    m->loaded++;
    m->by[cause]++;
    return true;
}

/* GF(2) 32x32 matrices over reflected CRC bits (as zlib's crc32_combine). */
static uint32_t gf2_times(const uint32_t mat[32], uint32_t vec)
{
    uint32_t sum = 0;
    for (unsigned i = 0; vec; i++, vec >>= 1)
        if (vec & 1)
            sum ^= mat[i];
    return sum;
}

static void gf2_square(uint32_t out[32], const uint32_t mat[32])
{
    for (unsigned i = 0; i < 32; i++)
        out[i] = gf2_times(mat, mat[i]);
}

/* op: the operator that appends len zero bytes to a (pre-conditioning-free) CRC. */
static void zeros_operator(uint32_t op[32], uint64_t len)
{
    uint32_t odd[32], even[32];
    odd[0] = CRC32C_POLY_REFLECTED;         /* one zero bit */
    for (unsigned i = 1; i < 32; i++)
        odd[i] = 1u << (i - 1);
    gf2_square(even, odd);                  /* two zero bits */
    gf2_square(odd, even);                  /* four */
    for (unsigned i = 0; i < 32; i++)       /* identity */
        op[i] = 1u << i;
    /* odd: 4 bits; squaring gives one byte, then 2, 4, ... bytes */
    uint32_t *cur = odd, *other = even;
    while (len) {
        gf2_square(other, cur);
        uint32_t *t = cur;
        cur = other;
        other = t;
        if (len & 1) {
            uint32_t tmp[32];
            for (unsigned i = 0; i < 32; i++)
                tmp[i] = gf2_times(cur, op[i]);
            memcpy(op, tmp, sizeof(tmp));
        }
        len >>= 1;
    }
}

uint32_t snap_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    uint32_t op[32];
    zeros_operator(op, len_b);
    return gf2_times(op, crc_a) ^ crc_b;
}

uint32_t snap_lazy_ram_crc(const struct snap_lazy_map *m, uint64_t block_size)
{
    if (!snap_lazy_complete(m))
        return 0;
    uint32_t op[32];
    zeros_operator(op, block_size);
    uint32_t crc = m->crc[0];
    for (uint32_t i = 1; i < m->block_count; i++)
        crc = gf2_times(op, crc) ^ m->crc[i];
    return crc;
}
