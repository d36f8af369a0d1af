#include "hv/lib/bitmap.h"

static size_t clip_end(const struct bitmap *bm, size_t start, size_t count)
{
    if (start >= bm->bits)
        return start;
    return count > bm->bits - start ? bm->bits : start + count;
}

/* Mask of bits [lo, hi) within one word, 0 <= lo < hi <= 64. */
static uint64_t word_mask(unsigned lo, unsigned hi)
{
    uint64_t upper = hi == 64 ? ~0ull : (1ull << hi) - 1;
    return upper & ~((1ull << lo) - 1);
}

/* Portable popcount: __builtin_popcountll needs libgcc in the freestanding build. */
static unsigned popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

void bitmap_init(struct bitmap *bm, uint64_t *words, size_t bits)
{
    bm->words = words;
    bm->bits = bits;
    for (size_t i = 0; i < bitmap_words_for(bits); i++)
        words[i] = 0;
}

void bitmap_set(struct bitmap *bm, size_t bit)
{
    if (bit < bm->bits)
        bm->words[bit / 64] |= 1ull << (bit % 64);
}

void bitmap_clear(struct bitmap *bm, size_t bit)
{
    if (bit < bm->bits)
        bm->words[bit / 64] &= ~(1ull << (bit % 64));
}

bool bitmap_test(const struct bitmap *bm, size_t bit)
{
    return bit < bm->bits && (bm->words[bit / 64] >> (bit % 64)) & 1;
}

static void apply_range(struct bitmap *bm, size_t start, size_t count, bool value)
{
    size_t end = clip_end(bm, start, count);
    while (start < end) {
        size_t w = start / 64;
        unsigned lo = start % 64;
        unsigned hi = end - w * 64 >= 64 ? 64 : (unsigned)(end - w * 64);
        uint64_t m = word_mask(lo, hi);
        if (value)
            bm->words[w] |= m;
        else
            bm->words[w] &= ~m;
        start = w * 64 + hi;
    }
}

void bitmap_set_range(struct bitmap *bm, size_t start, size_t count)
{
    apply_range(bm, start, count, true);
}

void bitmap_clear_range(struct bitmap *bm, size_t start, size_t count)
{
    apply_range(bm, start, count, false);
}

size_t bitmap_find_next(const struct bitmap *bm, size_t from, size_t limit, bool value)
{
    if (limit > bm->bits)
        limit = bm->bits;
    while (from < limit) {
        size_t w = from / 64;
        uint64_t word = value ? bm->words[w] : ~bm->words[w];
        word &= ~0ull << (from % 64);
        if (word) {
            size_t hit = w * 64 + (size_t)__builtin_ctzll(word);
            return hit < limit ? hit : BITMAP_NONE;
        }
        from = (w + 1) * 64;
    }
    return BITMAP_NONE;
}

bool bitmap_range_is(const struct bitmap *bm, size_t start, size_t count, bool value)
{
    if (start > bm->bits || count > bm->bits - start)
        return false;
    return bitmap_find_next(bm, start, start + count, !value) == BITMAP_NONE;
}

size_t bitmap_count_set(const struct bitmap *bm, size_t start, size_t count)
{
    size_t end = clip_end(bm, start, count);
    size_t n = 0;
    while (start < end) {
        size_t w = start / 64;
        unsigned lo = start % 64;
        unsigned hi = end - w * 64 >= 64 ? 64 : (unsigned)(end - w * 64);
        n += popcount64(bm->words[w] & word_mask(lo, hi));
        start = w * 64 + hi;
    }
    return n;
}

static size_t align_up_index(size_t i, size_t align)
{
    if (align <= 1)
        return i;
    size_t r = i % align;
    if (r == 0)
        return i;
    return i + (align - r) < i ? BITMAP_NONE : i + (align - r);
}

size_t bitmap_find_run(const struct bitmap *bm, size_t from, size_t limit, size_t count,
                       size_t align, bool value)
{
    if (limit > bm->bits)
        limit = bm->bits;
    if (count == 0)
        return BITMAP_NONE;
    size_t i = from;
    for (;;) {
        size_t first = bitmap_find_next(bm, i, limit, value);
        if (first == BITMAP_NONE)
            return BITMAP_NONE;
        i = align_up_index(first, align);
        if (i == BITMAP_NONE || i > limit || count > limit - i)
            return BITMAP_NONE;
        size_t gap = bitmap_find_next(bm, i, i + count, !value);
        if (gap == BITMAP_NONE)
            return i;
        i = gap + 1;
    }
}
