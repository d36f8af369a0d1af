#include "hv/mm/frame_alloc.h"

#include <stdbool.h>
#include <string.h>

#define LOW_FRAMES (FRAME_LOW_LIMIT / FRAME_SIZE)

/* A half-open physical range [start, end) with the wrap of base + length saturated. */
struct span {
    uint64_t start, end;
};

static struct span raw_span(uint64_t base, uint64_t length)
{
    uint64_t end = base + length;
    return (struct span){ base, end < base ? UINT64_MAX : end };
}

static uint64_t round_down(uint64_t v)
{
    return v & ~(FRAME_SIZE - 1);
}

static uint64_t round_up(uint64_t v)
{
    if (v > UINT64_MAX - (FRAME_SIZE - 1))
        return round_down(UINT64_MAX);
    return round_down(v + FRAME_SIZE - 1);
}

/* Usable RAM shrinks inward to whole frames and stops at FRAME_ALLOC_MAX_PHYS. */
static struct span usable_span(const struct boot_mem_range *r)
{
    struct span s = raw_span(r->base, r->length);
    s.start = round_up(s.start);
    s.end = round_down(s.end);
    if (s.end > FRAME_ALLOC_MAX_PHYS)
        s.end = FRAME_ALLOC_MAX_PHYS;
    if (s.start >= s.end)
        s.start = s.end = 0;
    return s;
}

/* Anything else grows outward. */
static struct span blocking_span(uint64_t base, uint64_t length)
{
    struct span s = raw_span(base, length);
    return (struct span){ round_down(s.start), round_up(s.end) };
}

static bool overlaps(struct span a, struct span b)
{
    return a.start < b.end && b.start < a.end;
}

static bool is_usable(const struct boot_mem_range *r)
{
    return r->type == BOOT_MEM_USABLE;
}

/* Does [start, start+size) touch a non-usable map entry, an exclusion or low memory? */
static bool window_blocked(const struct frame_alloc_config *cfg, struct span w)
{
    if (w.start < FRAME_LOW_LIMIT)
        return true;
    for (size_t i = 0; i < cfg->map_count; i++)
        if (!is_usable(&cfg->map[i]) &&
            overlaps(w, blocking_span(cfg->map[i].base, cfg->map[i].length)))
            return true;
    for (size_t i = 0; i < cfg->exclude_count; i++)
        if (cfg->exclude[i].length &&
            overlaps(w, blocking_span(cfg->exclude[i].base, cfg->exclude[i].length)))
            return true;
    return false;
}

static bool window_fits(const struct frame_alloc_config *cfg, uint64_t start, uint64_t size)
{
    if (start > UINT64_MAX - size)
        return false;
    struct span w = { start, start + size };
    bool inside = false;
    for (size_t i = 0; i < cfg->map_count && !inside; i++) {
        struct span u = is_usable(&cfg->map[i]) ? usable_span(&cfg->map[i]) : (struct span){ 0, 0 };
        inside = u.start <= w.start && w.end <= u.end && u.start < u.end;
    }
    return inside && !window_blocked(cfg, w);
}

static void consider(const struct frame_alloc_config *cfg, uint64_t candidate, uint64_t size,
                     uint64_t *best)
{
    candidate = round_up(candidate);
    if (candidate < *best && window_fits(cfg, candidate, size))
        *best = candidate;
}

/* Lowest frame-aligned place for size bytes of metadata: the start of a usable range or
 * the end of something in the way.  Returns UINT64_MAX when nothing fits. */
static uint64_t place_metadata(const struct frame_alloc_config *cfg, uint64_t size)
{
    uint64_t best = UINT64_MAX;
    consider(cfg, FRAME_LOW_LIMIT, size, &best);
    for (size_t i = 0; i < cfg->map_count; i++) {
        if (is_usable(&cfg->map[i]))
            consider(cfg, usable_span(&cfg->map[i]).start, size, &best);
        else
            consider(cfg, blocking_span(cfg->map[i].base, cfg->map[i].length).end, size, &best);
    }
    for (size_t i = 0; i < cfg->exclude_count; i++)
        consider(cfg, blocking_span(cfg->exclude[i].base, cfg->exclude[i].length).end, size,
                 &best);
    return best;
}

/* Sets or clears the bits of the frames of s that fall inside the managed span. */
static void mark(struct bitmap *bm, const struct frame_alloc *fa, struct span s, bool value)
{
    uint64_t first = s.start / FRAME_SIZE, last = s.end / FRAME_SIZE + (s.end % FRAME_SIZE != 0);
    uint64_t lo = fa->base_frame, hi = fa->base_frame + fa->frames;
    if (first < lo)
        first = lo;
    if (last > hi)
        last = hi;
    if (first >= last)
        return;
    if (value)
        bitmap_set_range(bm, first - lo, last - first);
    else
        bitmap_clear_range(bm, first - lo, last - first);
}

static bool find_usable_extent(const struct frame_alloc_config *cfg, struct span *out)
{
    struct span all = { UINT64_MAX, 0 };
    for (size_t i = 0; i < cfg->map_count; i++) {
        if (!is_usable(&cfg->map[i]))
            continue;
        struct span u = usable_span(&cfg->map[i]);
        if (u.start >= u.end)
            continue;
        if (u.start < all.start)
            all.start = u.start;
        if (u.end > all.end)
            all.end = u.end;
    }
    *out = all;
    return all.start < all.end;
}

static void build_owned(struct frame_alloc *fa, const struct frame_alloc_config *cfg)
{
    for (size_t i = 0; i < cfg->map_count; i++)
        if (is_usable(&cfg->map[i]))
            mark(&fa->owned, fa, usable_span(&cfg->map[i]), true);
    for (size_t i = 0; i < cfg->map_count; i++)
        if (!is_usable(&cfg->map[i]))
            mark(&fa->owned, fa, blocking_span(cfg->map[i].base, cfg->map[i].length), false);
    for (size_t i = 0; i < cfg->exclude_count; i++)
        if (cfg->exclude[i].length)
            mark(&fa->owned, fa, blocking_span(cfg->exclude[i].base, cfg->exclude[i].length),
                 false);
    mark(&fa->owned, fa, (struct span){ 0, FRAME_SIZE }, false);
    mark(&fa->owned, fa, (struct span){ fa->meta_phys, fa->meta_phys + fa->meta_bytes }, false);
}

int frame_alloc_init(struct frame_alloc *fa, const struct frame_alloc_config *cfg)
{
    struct span all;
    memset(fa, 0, sizeof(*fa));
    if (!cfg || !cfg->phys_to_virt || (cfg->map_count && !cfg->map) ||
        (cfg->exclude_count && !cfg->exclude))
        return FA_ERR_ARGS;
    if (!find_usable_extent(cfg, &all))
        return FA_ERR_NO_RAM;
    fa->base_frame = (all.start / FRAME_SIZE) & ~(FRAME_ALLOC_MAX_ALIGN - 1);
    fa->frames = all.end / FRAME_SIZE - fa->base_frame;
    size_t words = bitmap_words_for(fa->frames);
    fa->meta_bytes = round_up(2 * words * sizeof(uint64_t));
    fa->meta_phys = place_metadata(cfg, fa->meta_bytes);
    if (fa->meta_phys == UINT64_MAX)
        return FA_ERR_NO_METADATA;
    uint64_t *meta = cfg->phys_to_virt(fa->meta_phys);
    if (!meta)
        return FA_ERR_NO_METADATA;
    bitmap_init(&fa->owned, meta, fa->frames);
    bitmap_init(&fa->free, meta + words, fa->frames);
    build_owned(fa, cfg);
    memcpy(fa->free.words, fa->owned.words, words * sizeof(uint64_t));
    fa->owned_frames = bitmap_count_set(&fa->owned, 0, fa->frames);
    fa->free_frames = fa->owned_frames;
    return FA_OK;
}

static bool valid_align(uint64_t align_pages)
{
    return align_pages <= FRAME_ALLOC_MAX_ALIGN && (align_pages & (align_pages - 1)) == 0;
}

/* Allocates from frame numbers [lo, hi). */
static uint64_t take_run(struct frame_alloc *fa, uint64_t lo, uint64_t hi, uint64_t count,
                         uint64_t align_pages)
{
    if (count == 0 || !valid_align(align_pages) || fa->frames == 0)
        return 0;
    if (lo < fa->base_frame)
        lo = fa->base_frame;
    if (hi > fa->base_frame + fa->frames)
        hi = fa->base_frame + fa->frames;
    if (lo >= hi || count > hi - lo)
        return 0;
    size_t at = bitmap_find_run(&fa->free, lo - fa->base_frame, hi - fa->base_frame, count,
                                align_pages, true);
    if (at == BITMAP_NONE)
        return 0;
    bitmap_clear_range(&fa->free, at, count);
    fa->free_frames -= count;
    return (fa->base_frame + at) * FRAME_SIZE;
}

uint64_t frame_alloc_pages(struct frame_alloc *fa, uint64_t count, uint64_t align_pages,
                           uint64_t max_phys)
{
    uint64_t hi = max_phys ? max_phys / FRAME_SIZE : UINT64_MAX;
    return take_run(fa, LOW_FRAMES, hi, count, align_pages);
}

uint64_t frame_alloc_low_pages(struct frame_alloc *fa, uint64_t count, uint64_t align_pages)
{
    return take_run(fa, 1, LOW_FRAMES, count, align_pages);
}

int frame_free_pages(struct frame_alloc *fa, uint64_t phys, uint64_t count)
{
    if (phys % FRAME_SIZE)
        return FA_ERR_ALIGN;
    uint64_t frame = phys / FRAME_SIZE;
    if (count == 0 || frame < fa->base_frame || frame - fa->base_frame > fa->frames ||
        count > fa->frames - (frame - fa->base_frame))
        return FA_ERR_RANGE;
    size_t at = frame - fa->base_frame;
    if (!bitmap_range_is(&fa->owned, at, count, true))
        return FA_ERR_NOT_RAM;
    if (!bitmap_range_is(&fa->free, at, count, false))
        return FA_ERR_NOT_ALLOCATED;
    bitmap_set_range(&fa->free, at, count);
    fa->free_frames += count;
    return FA_OK;
}

uint64_t frame_alloc_free_bytes(const struct frame_alloc *fa)
{
    return fa->free_frames * FRAME_SIZE;
}

uint64_t frame_alloc_total_bytes(const struct frame_alloc *fa)
{
    return fa->owned_frames * FRAME_SIZE;
}

const char *frame_alloc_strerror(int status)
{
    switch (status) {
    case FA_OK: return "ok";
    case FA_ERR_NO_RAM: return "the memory map has no usable RAM";
    case FA_ERR_NO_METADATA: return "no usable range can hold the allocator's bitmaps";
    case FA_ERR_ALIGN: return "address is not frame aligned";
    case FA_ERR_RANGE: return "range is empty or outside the managed memory";
    case FA_ERR_NOT_RAM: return "range includes frames the allocator does not own";
    case FA_ERR_NOT_ALLOCATED: return "range includes frames that are already free";
    case FA_ERR_ARGS: return "bad arguments";
    default: return "unknown error";
    }
}

size_t frame_alloc_boot_excludes(const struct boot_info *bi, uint64_t bi_phys,
                                 struct frame_range *out, size_t max)
{
    size_t n = 0;
    if (n < max && bi->kernel_end > bi->kernel_base)
        out[n++] = (struct frame_range){ bi->kernel_base, bi->kernel_end - bi->kernel_base };
    if (n < max)
        out[n++] = (struct frame_range){ bi_phys, sizeof(*bi) };
    uint32_t mods = bi->module_count < BOOTINFO_MAX_MODS ? bi->module_count : BOOTINFO_MAX_MODS;
    for (uint32_t i = 0; i < mods && n < max; i++)
        if (bi->modules[i].length)
            out[n++] = (struct frame_range){ bi->modules[i].base, bi->modules[i].length };
    return n;
}
