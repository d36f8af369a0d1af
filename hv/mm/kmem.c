#include "hv/mm/kmem.h"

#include <string.h>
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/spinlock.h"
#include "hv/mm/frame_alloc.h"
#include "hv/mm/scrub_queue.h"

/* An allocation that finds no free frames scrubs queued ones at least this much at a time
 * (a 2 MiB chunk of guest RAM comes back whole). */
#define RECLAIM_BYTES (2ull << 20)

static struct frame_alloc frames;
static struct scrub_queue scrub;            /* under frames_lock too */
static spinlock_t frames_lock = SPINLOCK_INIT;
static void (*scrub_notify)(void);
static uint64_t reclaimed_bytes;            /* scrubbed by allocations that needed them */

static void *direct_map(uint64_t phys) { return phys_to_virt(phys); }

const char *kmem_init(const struct boot_info *bi, uint64_t bi_phys)
{
    struct frame_range exclude[BOOTINFO_MAX_MODS + 4];
    size_t n = frame_alloc_boot_excludes(bi, bi_phys, exclude, BOOTINFO_MAX_MODS + 3);
    struct frame_alloc_config cfg = {
        .map = bi->mem, .map_count = bi->mem_count,
        .exclude = exclude, .exclude_count = n,
        .phys_to_virt = direct_map,
    };
    int st = frame_alloc_init(&frames, &cfg);
    return st == FA_OK ? NULL : frame_alloc_strerror(st);
}

/* Zeroes a run taken from the scrub queue and frees it; the queue stops counting it only
 * once the allocator does (so free + pending never misses it). */
static void scrub_run(struct frame_range r)
{
    memset(phys_to_virt(r.base), 0, r.length);
    uint64_t flags = spin_lock_irqsave(&frames_lock);
    frame_free_pages(&frames, r.base, r.length / FRAME_SIZE);
    scrub_queue_done(&scrub, r.length);
    spin_unlock_irqrestore(&frames_lock, flags);
}

/*
 * Frames still waiting in the scrub queue count as free, so an allocation that finds none
 * free scrubs queued ones here and tries again, until it fits or nothing is pending.  Frames
 * another CPU has taken to scrub come back within its one bounded run: it waits for those.
 */
void *kmem_alloc_pages_aligned(size_t count, size_t align_pages, uint64_t max_phys)
{
    uint64_t phys;
    for (;;) {
        struct frame_range r = { 0, 0 };
        bool pending = false;
        uint64_t flags = spin_lock_irqsave(&frames_lock);
        phys = frame_alloc_pages(&frames, count, align_pages, max_phys);
        if (!phys) {
            uint64_t want = count * FRAME_SIZE > RECLAIM_BYTES ? count * FRAME_SIZE : RECLAIM_BYTES;
            pending = scrub_queue_take(&scrub, want, &r) || scrub.taken_bytes;
        }
        spin_unlock_irqrestore(&frames_lock, flags);
        if (phys)
            break;
        if (!pending)
            return NULL;
        if (r.length) {
            scrub_run(r);
            __atomic_add_fetch(&reclaimed_bytes, r.length, __ATOMIC_RELAXED);
        } else
            cpu_relax();
    }
    void *va = phys_to_virt(phys);
    memset(va, 0, count * FRAME_SIZE);
    return va;
}

void *kmem_alloc_pages(size_t count)
{
    return kmem_alloc_pages_aligned(count, 1, 0);
}

void kmem_free_pages(void *va, size_t count)
{
    if (!va)
        return;
    memset(va, 0, count * FRAME_SIZE);
    uint64_t flags = spin_lock_irqsave(&frames_lock);
    frame_free_pages(&frames, virt_to_phys(va), count);
    spin_unlock_irqrestore(&frames_lock, flags);
}

void kmem_free_pages_unscrubbed(void *va, size_t count)
{
    if (!va || !count)
        return;
    uint64_t flags = spin_lock_irqsave(&frames_lock);
    bool was_empty = !scrub.queued_bytes;
    bool queued = scrub_queue_push(&scrub, virt_to_phys(va), count * FRAME_SIZE);
    spin_unlock_irqrestore(&frames_lock, flags);
    if (!queued) {
        kmem_free_pages(va, count);         /* the queue is full: scrubbed now, as before */
        return;
    }
    void (*notify)(void) = __atomic_load_n(&scrub_notify, __ATOMIC_ACQUIRE);
    if (was_empty && notify)
        notify();
}

uint64_t kmem_scrub_step(uint64_t max_bytes)
{
    struct frame_range r;
    uint64_t flags = spin_lock_irqsave(&frames_lock);
    bool took = scrub_queue_take(&scrub, max_bytes, &r);
    spin_unlock_irqrestore(&frames_lock, flags);
    if (!took)
        return 0;
    scrub_run(r);
    return r.length;
}

uint64_t kmem_scrub_pending_bytes(void)
{
    uint64_t flags = spin_lock_irqsave(&frames_lock);
    uint64_t n = scrub_queue_pending(&scrub);
    spin_unlock_irqrestore(&frames_lock, flags);
    return n;
}

uint64_t kmem_scrub_reclaimed_bytes(void)
{
    return __atomic_load_n(&reclaimed_bytes, __ATOMIC_RELAXED);
}

void kmem_scrub_set_notify(void (*fn)(void))
{
    __atomic_store_n(&scrub_notify, fn, __ATOMIC_RELEASE);
}

uint64_t kmem_alloc_low_page(void)
{
    uint64_t flags = spin_lock_irqsave(&frames_lock);
    uint64_t phys = frame_alloc_low_pages(&frames, 1, 1);
    spin_unlock_irqrestore(&frames_lock, flags);
    return phys;
}

uint64_t kmem_free_bytes(void)
{
    uint64_t flags = spin_lock_irqsave(&frames_lock);
    uint64_t n = frame_alloc_free_bytes(&frames) + scrub_queue_pending(&scrub);
    spin_unlock_irqrestore(&frames_lock, flags);
    return n;
}

uint64_t kmem_total_bytes(void) { return frame_alloc_total_bytes(&frames); }

/*
 * The heap: power-of-two size classes from 32 bytes to 2 KiB carved from whole pages,
 * each block preceded by a 16-byte header naming its class; larger requests take whole
 * pages with the same header at the start.
 */
#define HEAP_MIN_SHIFT 5
#define HEAP_MAX_SHIFT 11
#define HEAP_HEADER    16
#define HEAP_MAGIC     0x4850414548ull

struct heap_header {
    uint64_t magic_class;   /* HEAP_MAGIC << 8 | shift, or shift 0xff for pages */
    uint64_t pages;
};

struct free_block { struct free_block *next; };

static struct free_block *free_lists[HEAP_MAX_SHIFT + 1];
static spinlock_t heap_lock = SPINLOCK_INIT;

static bool refill(unsigned shift)
{
    uint8_t *page = kmem_alloc_pages(1);
    if (!page)
        return false;
    size_t block = (size_t)1 << shift;
    for (size_t off = 0; off + block <= FRAME_SIZE; off += block) {
        struct free_block *b = (struct free_block *)(page + off);
        b->next = free_lists[shift];
        free_lists[shift] = b;
    }
    return true;
}

void *kmalloc(size_t size)
{
    size_t need = size + HEAP_HEADER;
    if (size == 0 || need < size)
        return NULL;
    if (need > ((size_t)1 << HEAP_MAX_SHIFT)) {
        size_t pages = (need + FRAME_SIZE - 1) / FRAME_SIZE;
        struct heap_header *h = kmem_alloc_pages(pages);
        if (!h)
            return NULL;
        h->magic_class = HEAP_MAGIC << 8 | 0xff;
        h->pages = pages;
        return (uint8_t *)h + HEAP_HEADER;
    }
    unsigned shift = HEAP_MIN_SHIFT;
    while (((size_t)1 << shift) < need)
        shift++;
    uint64_t flags = spin_lock_irqsave(&heap_lock);
    if (!free_lists[shift] && !refill(shift)) {
        spin_unlock_irqrestore(&heap_lock, flags);
        return NULL;
    }
    struct free_block *b = free_lists[shift];
    free_lists[shift] = b->next;
    spin_unlock_irqrestore(&heap_lock, flags);
    memset(b, 0, (size_t)1 << shift);
    struct heap_header *h = (struct heap_header *)b;
    h->magic_class = HEAP_MAGIC << 8 | shift;
    return (uint8_t *)h + HEAP_HEADER;
}

void kfree(void *p)
{
    if (!p)
        return;
    struct heap_header *h = (struct heap_header *)((uint8_t *)p - HEAP_HEADER);
    unsigned shift = h->magic_class & 0xff;
    if (h->magic_class >> 8 != HEAP_MAGIC)
        return;     /* not ours: refuse rather than corrupt the heap */
    if (shift == 0xff) {
        kmem_free_pages(h, h->pages);
        return;
    }
    if (shift < HEAP_MIN_SHIFT || shift > HEAP_MAX_SHIFT)
        return;
    memset(h, 0, (size_t)1 << shift);
    uint64_t flags = spin_lock_irqsave(&heap_lock);
    struct free_block *b = (struct free_block *)h;
    b->next = free_lists[shift];
    free_lists[shift] = b;
    spin_unlock_irqrestore(&heap_lock, flags);
}
