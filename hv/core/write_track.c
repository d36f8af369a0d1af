#include "hv/core/write_track.h"

#include <string.h>

#define PAGE_SHIFT 12

static bool valid(uint64_t ram_size, uint32_t group_pages)
{
    return ram_size && !(ram_size & ((1ull << PAGE_SHIFT) - 1)) && group_pages &&
           group_pages <= WRITE_TRACK_MAX_GROUP_PAGES && !(group_pages & (group_pages - 1));
}

static unsigned log2_of(uint32_t v)
{
    unsigned n = 0;
    while (v >>= 1)
        n++;
    return n;
}

size_t write_track_words(uint64_t ram_size, uint32_t group_pages)
{
    if (!valid(ram_size, group_pages))
        return 0;
    unsigned shift = PAGE_SHIFT + log2_of(group_pages);
    uint64_t groups = (ram_size + (1ull << shift) - 1) >> shift;
    return (size_t)((groups + 63) / 64);
}

bool write_track_init(struct write_track *t, uint64_t ram_size, uint32_t group_pages,
                      uint64_t *words)
{
    size_t n = write_track_words(ram_size, group_pages);
    if (!n)
        return false;
    memset(t, 0, sizeof(*t));
    t->ram_size = ram_size;
    t->group_shift = PAGE_SHIFT + log2_of(group_pages);
    t->group_count = (ram_size + (1ull << t->group_shift) - 1) >> t->group_shift;
    t->written = words;
    memset(words, 0, n * sizeof(uint64_t));
    return true;
}

/* Sets group g's bit; true when it was clear. */
static bool mark(struct write_track *t, uint64_t g)
{
    uint64_t bit = 1ull << (g % 64);
    if (t->written[g / 64] & bit)
        return false;
    t->written[g / 64] |= bit;
    t->written_now++;
    return true;
}

size_t write_track_regions(uint64_t ram_size)
{
    return (size_t)((ram_size + (1ull << WRITE_TRACK_REGION_SHIFT) - 1) >>
                    WRITE_TRACK_REGION_SHIFT);
}

void write_track_use_regions(struct write_track *t, uint8_t *shifts)
{
    t->region_count = write_track_regions(t->ram_size);
    memset(shifts, (int)t->group_shift, t->region_count);
    t->region_shift = shifts;
}

bool write_track_set_region_pages(struct write_track *t, uint64_t region, uint32_t pages)
{
    if (!t->region_shift || region >= t->region_count || !pages || (pages & (pages - 1)) ||
        pages > WRITE_TRACK_MAX_GROUP_PAGES)
        return false;
    unsigned shift = PAGE_SHIFT + log2_of(pages);
    if (shift < t->group_shift)
        return false;
    t->region_shift[region] = (uint8_t)shift;
    return true;
}

static bool marked(const struct write_track *t, uint64_t g)
{
    return t->written[g / 64] >> (g % 64) & 1;
}

bool write_track_fault(struct write_track *t, uint64_t gpa, uint64_t *base, uint64_t *len)
{
    if (gpa >= t->ram_size)
        return false;
    unsigned shift = t->region_shift ? t->region_shift[gpa >> WRITE_TRACK_REGION_SHIFT]
                                     : t->group_shift;
    t->faults++;
    uint64_t g = gpa >> t->group_shift, lo = g, hi = g + 1;
    if (shift > t->group_shift) {
        /* A writer moving through memory (the group before or after this one written since
         * the last pass) gets the rest of the region-sized group in its direction; any
         * other write only its own group. */
        unsigned k = shift - t->group_shift;
        bool before = g > 0 && marked(t, g - 1);
        bool after = g + 1 < t->group_count && marked(t, g + 1);
        if (before)
            hi = ((g >> k) + 1) << k;
        if (after)
            lo = g >> k << k;
        hi = hi < t->group_count ? hi : t->group_count;
    }
    for (uint64_t m = lo; m < hi; m++)
        mark(t, m);
    *base = lo << t->group_shift;
    uint64_t end = hi << t->group_shift;
    *len = (end < t->ram_size ? end : t->ram_size) - *base;
    return true;
}

void write_track_note(struct write_track *t, uint64_t gpa, uint64_t len)
{
    if (!len || gpa >= t->ram_size)
        return;
    uint64_t last = len > t->ram_size - gpa ? t->ram_size - 1 : gpa + len - 1;
    for (uint64_t g = gpa >> t->group_shift; g <= last >> t->group_shift; g++)
        if (mark(t, g))
            t->noted++;
}

uint64_t write_track_harvest(struct write_track *t, uint64_t *out,
                             void (*protect)(void *ctx, uint64_t base, uint64_t len),
                             void *ctx)
{
    uint64_t words = (t->group_count + 63) / 64, count = 0;
    if (out)
        memcpy(out, t->written, words * sizeof(uint64_t));
    for (uint64_t g = 0; g < t->group_count; ) {
        if (!(t->written[g / 64] & (1ull << (g % 64)))) {
            g++;
            continue;
        }
        uint64_t first = g;
        while (g < t->group_count && (t->written[g / 64] & (1ull << (g % 64)))) {
            t->written[g / 64] &= ~(1ull << (g % 64));
            g++;
        }
        count += g - first;
        uint64_t base = first << t->group_shift;
        uint64_t end = g << t->group_shift;
        protect(ctx, base, (end < t->ram_size ? end : t->ram_size) - base);
    }
    t->written_now = 0;
    t->passes++;
    t->harvested += count;
    if (count > t->most_in_a_pass)
        t->most_in_a_pass = count;
    return count;
}
