/* Fixed-size bit arrays over caller-owned words.  Portable. */
#ifndef ATOLL_HV_LIB_BITMAP_H
#define ATOLL_HV_LIB_BITMAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BITMAP_NONE ((size_t)-1)

struct bitmap {
    uint64_t *words;
    size_t bits;
};

static inline size_t bitmap_words_for(size_t bits)
{
    return bits / 64 + (bits % 64 != 0);
}

/* Binds the bitmap to words[bitmap_words_for(bits)] and clears every bit. */
void bitmap_init(struct bitmap *bm, uint64_t *words, size_t bits);

/* Single bits.  Out-of-range indices are ignored (test returns false). */
void bitmap_set(struct bitmap *bm, size_t bit);
void bitmap_clear(struct bitmap *bm, size_t bit);
bool bitmap_test(const struct bitmap *bm, size_t bit);

/* Ranges [start, start+count), clipped to the bitmap. */
void bitmap_set_range(struct bitmap *bm, size_t start, size_t count);
void bitmap_clear_range(struct bitmap *bm, size_t start, size_t count);
/* True when every bit of the range has the value; false if the range leaves the bitmap. */
bool bitmap_range_is(const struct bitmap *bm, size_t start, size_t count, bool value);

/* Number of set bits in [start, start+count), clipped. */
size_t bitmap_count_set(const struct bitmap *bm, size_t start, size_t count);

/* First index >= from and < limit whose bit equals value, or BITMAP_NONE. */
size_t bitmap_find_next(const struct bitmap *bm, size_t from, size_t limit, bool value);

/*
 * First run of count bits equal to value, lying inside [from, limit), whose first index is
 * a multiple of align (0 or 1: any).  Returns its first index or BITMAP_NONE.
 */
size_t bitmap_find_run(const struct bitmap *bm, size_t from, size_t limit, size_t count,
                       size_t align, bool value);

#endif
