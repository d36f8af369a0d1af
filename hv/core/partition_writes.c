#include "hv/core/partition_writes.h"

#include <string.h>

#include "hv/arch/x86/tsc.h"
#include "hv/core/channel.h"
#include "hv/arch/x86/console.h"
#include "hv/core/platform_glue.h"
#include "hv/arch/x86/spinlock.h"
#include "hv/core/virt.h"
#include "hv/core/write_track.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"

struct partition_writes {
    spinlock_t lock;                    /* the tracker: after the channels' lock, before
                                         * the EPT's */
    struct write_track track;
    uint64_t last_pass_ns;
    bool ended;                         /* the partition's page tables are going away */
    const char *holder;                 /* who takes the passes (a live snapshot, a
                                         * migration, the vGPU's damage): none from the poll */
    uint64_t bits[];
};

bool partition_writes_arm(struct partition *p, uint32_t group_pages, char *err, size_t err_size)
{
    size_t words = write_track_words(p->mem.size, group_pages);
    size_t regions = write_track_regions(p->mem.size);
    struct partition_writes *w =
        words ? kmalloc(sizeof(*w) + words * sizeof(uint64_t) + regions) : NULL;
    if (!w) {
        fmt_snprintf(err, err_size, "partition %s: cannot track writes in groups of %u pages",
                     p->name, group_pages);
        return false;
    }
    write_track_init(&w->track, p->mem.size, group_pages, w->bits);
    write_track_use_regions(&w->track, (uint8_t *)(w->bits + words));
    w->last_pass_ns = time_ns();
    /* Before the protection: a running partition's first write fault must find it. */
    __atomic_store_n(&p->writes, w, __ATOMIC_RELEASE);
    if (!virt_set_ram_writable(p, 0, p->mem.size, false)) {
        virt_set_ram_writable(p, 0, p->mem.size, true);
        __atomic_store_n(&p->writes, NULL, __ATOMIC_RELEASE);
        fmt_snprintf(err, err_size, "partition %s: cannot write-protect its memory", p->name);
        return false;       /* w not freed: a fault on another CPU may hold it */
    }
    virt_flush_partition(p);
    return true;
}

bool partition_write_fault(struct vcpu *v, uint64_t gpa)
{
    struct partition_writes *w = v->part->writes;
    if (!w)
        return false;
    uint64_t base, len;
    uint64_t f = spin_lock_irqsave(&w->lock);
    bool ok = write_track_fault(&w->track, gpa, &base, &len) &&
              virt_set_ram_writable(v->part, base, len, true);
    spin_unlock_irqrestore(&w->lock, f);
    return ok;
}

void partition_writes_note(struct partition *p, uint64_t gpa, uint64_t len)
{
    struct partition_writes *w = p->writes;
    if (!w)
        return;
    uint64_t f = spin_lock_irqsave(&w->lock);
    write_track_note(&w->track, gpa, len);
    spin_unlock_irqrestore(&w->lock, f);
}

static void note_shared(void *ctx, uint64_t gpa, uint64_t len)
{
    partition_writes_note(ctx, gpa, len);
}

static void protect(void *ctx, uint64_t base, uint64_t len)
{
    virt_set_ram_writable(ctx, base, len, false);
}

uint64_t partition_writes_pass(struct partition *p, uint64_t *out)
{
    struct partition_writes *w = p->writes;
    if (!w)
        return 0;
    /* Pages a channel peer has mapped: it may have written them, unseen, at any time.
     * (The channel's lock is taken before this tracker's, as when a grant is unmapped.) */
    channel_shared_ranges(p, note_shared, p);
    uint64_t f = spin_lock_irqsave(&w->lock);
    uint64_t n = 0;
    if (!w->ended) {        /* the lock keeps the page tables alive until the pass is done */
        n = write_track_harvest(&w->track, out, protect, p);
        /* A vCPU may still hold a writable translation of a group protected just now; once
         * the flush returns none does, so whatever the caller copies next is current. */
        virt_flush_partition(p);
    }
    w->last_pass_ns = time_ns();
    spin_unlock_irqrestore(&w->lock, f);
    return n;
}

void partition_writes_poll(void)
{
    uint64_t now = time_ns();
    for (unsigned i = 0; i < partition_count; i++) {
        struct partition *p = partitions[i];
        if (p && p->writes && p->state == PART_RUNNING && !__atomic_load_n(&p->writes->holder, __ATOMIC_ACQUIRE) &&
            now - p->writes->last_pass_ns >= PARTITION_WRITES_PASS_MS * 1000000ull)
            partition_writes_pass(p, NULL);
    }
}

bool partition_writes_written(struct partition *p, uint64_t gpa)
{
    struct partition_writes *w = p->writes;
    if (!w || gpa >= w->track.ram_size)
        return false;
    uint64_t g = gpa >> w->track.group_shift;
    return __atomic_load_n(&w->track.written[g / 64], __ATOMIC_RELAXED) >> (g % 64) & 1;
}

uint32_t partition_writes_group_pages(const struct partition *p)
{
    return p->writes ? 1u << (p->writes->track.group_shift - 12) : 0;
}

bool partition_writes_set_region_pages(struct partition *p, uint64_t region, uint32_t pages)
{
    struct partition_writes *w = p->writes;
    if (!w)
        return false;
    uint64_t f = spin_lock_irqsave(&w->lock);
    bool ok = write_track_set_region_pages(&w->track, region, pages);
    spin_unlock_irqrestore(&w->lock, f);
    return ok;
}

bool partition_writes_claim(struct partition *p, const char *who, char *err, size_t err_size)
{
    const char *none = NULL;
    if (!p->writes) {
        fmt_snprintf(err, err_size, "its writes are not tracked");
        return false;
    }
    if (__atomic_compare_exchange_n(&p->writes->holder, &none, who, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST))
        return true;
    fmt_snprintf(err, err_size, "its written pages are collected by %s", none);
    return false;
}

void partition_writes_unclaim(struct partition *p, const char *who)
{
    const char *mine = who;
    if (p->writes)
        __atomic_compare_exchange_n(&p->writes->holder, &mine, NULL, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST);
}

void partition_writes_stats(struct partition *p, struct write_track *out)
{
    struct partition_writes *w = p->writes;
    memset(out, 0, sizeof(*out));
    if (!w)
        return;
    uint64_t f = spin_lock_irqsave(&w->lock);
    *out = w->track;
    spin_unlock_irqrestore(&w->lock, f);
}

void partition_writes_end(struct partition *p)
{
    struct partition_writes *w = p->writes;
    if (!w)
        return;
    uint64_t f = spin_lock_irqsave(&w->lock);
    w->ended = true;
    struct write_track t = w->track;
    spin_unlock_irqrestore(&w->lock, f);
    kprintf("atoll: %s writes in groups of %u pages: %lu passes of %u ms handed over %lu "
            "groups (at most %lu in one), %lu written since; %lu write faults, %lu groups "
            "written by devices or channel peers\n", p->name, 1u << (t.group_shift - 12),
            t.passes, PARTITION_WRITES_PASS_MS, t.harvested, t.most_in_a_pass, t.written_now,
            t.faults, t.noted);
    /* Not freed: a pass or a channel note on another CPU may still hold the pointer, and
     * ended partitions stay in the table anyway. */
}
