/*
 * Saving a paused partition's RAM into a snapshot file (hv/core/snapshot.h).  The boot
 * CPU is the writer: it hands each free slot of the write queue to a worker item with the
 * next RAM block, and writes the slots the items filled to the pool file in the order
 * they finish.  An item encodes one block at the level its policy picks from the bytes
 * waiting in the queue (snap_policy.h), so a slow pool makes the items compress harder.
 * The writer runs a queued item itself when it has nothing to write, so one CPU is
 * enough; other CPUs take items in their idle time (hv/core/worker.h).
 */
#include "hv/core/snapshot.h"

#include <string.h>
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/percpu.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/checkpoint.h"
#include "hv/core/partition_console.h"
#include "hv/core/partition_disks.h"
#include "hv/core/partition_pause.h"
#include "hv/core/run.h"
#include "hv/core/snapshot_pool.h"
#include "hv/core/worker.h"
#include "hv/lib/crc32c.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"
#include "hv/snapshot/snap_codec.h"
#include "hv/snapshot/snap_file.h"
#include "hv/snapshot/snap_policy.h"
#include "hv/storage/pool.h"

#define SLOTS 8                 /* the write queue: SLOTS blocks of encoded data */
#define MAX_WORKERS 4
#define BLOCK_PAGES (SNAP_BLOCK_SIZE / 4096)

enum slot_state { SLOT_FREE, SLOT_ENCODING, SLOT_READY };

struct slot {
    volatile enum slot_state state;
    uint32_t block;
    struct snap_encoded e;
    uint8_t *data;              /* SNAP_ENCODED_MAX bytes */
};

struct save;

struct encoder {
    struct work_item item;
    struct save *s;
    struct snap_policy policy;
    void *codec;                /* snap_codec_state_size() bytes */
    size_t codec_pages;
    uint8_t *gather;            /* a block whose pages are not contiguous, copied */
    struct slot *slot;          /* the one it fills now */
    volatile bool busy;         /* handed a block, not finished */
};

struct save {
    struct partition *p;
    struct slot slot[SLOTS];
    struct encoder enc[MAX_WORKERS];
    unsigned encoders;
    uint64_t queued;            /* encoded bytes in READY slots (atomic) */
    struct snapshot_pool_file *pf;  /* the file being written (NULL before it is created) */
    uint64_t zero_pages, written_data;
    uint64_t class_bytes, class_requests;   /* of it, written as SNAPSHOT-class requests */
    uint64_t at_level[SNAP_LEVELS];
    struct snap_index_entry *index;
    size_t index_pages;
};

/* ---- the items ---------------------------------------------------------------------- */

/* The block's 16 pages as one run of bytes: in place when they are contiguous (a 2 MiB
 * chunk), or copied. */
static const uint8_t *block_bytes(const struct guest_mem *m, uint64_t gpa, uint8_t *gather)
{
    uint64_t hpa = guest_mem_hpa(m, gpa);
    bool contiguous = true;
    for (unsigned i = 1; i < BLOCK_PAGES && contiguous; i++)
        contiguous = guest_mem_hpa(m, gpa + i * 4096ull) == hpa + i * 4096ull;
    if (contiguous)
        return guest_mem_ptr(m, gpa);
    for (unsigned i = 0; i < BLOCK_PAGES; i++)
        memcpy(gather + i * 4096, guest_mem_ptr(m, gpa + i * 4096ull), 4096);
    return gather;
}

static void encode_item(struct work_item *w)
{
    struct encoder *k = w->arg;
    struct save *s = k->s;
    struct slot *sl = k->slot;
    /* The write queue: blocks encoded and not yet handed to the file, and the file's bytes
     * on the pool disk's SNAPSHOT class queue or in flight (snapshot_pool.h). */
    struct snapshot_pool_file *pf = __atomic_load_n(&s->pf, __ATOMIC_ACQUIRE);
    struct snap_queue_view q = {
        .queued = __atomic_load_n(&s->queued, __ATOMIC_RELAXED) +
                  (pf ? snapshot_pool_queued(pf) : 0),
        .capacity = (uint64_t)SLOTS * SNAP_BLOCK_SIZE +
                    (uint64_t)SNAPSHOT_WRITE_CHUNKS * SNAPSHOT_GATHER_BYTES,
        .drained = pf ? snapshot_pool_drained(pf) : 0,
        .now_ns = time_ns(),
    };
    enum snap_level level = snap_policy_pick(&k->policy, &q);
    const uint8_t *src = block_bytes(&s->p->mem, (uint64_t)sl->block * SNAP_BLOCK_SIZE,
                                     k->gather);
    snap_encode(k->codec, level, src, sl->data, &sl->e);
    snap_policy_learn(&k->policy, level, sl->e.raw_len, sl->e.len, time_ns() - q.now_ns);
    __atomic_add_fetch(&s->queued, sl->e.len, __ATOMIC_RELAXED);
    __atomic_store_n(&sl->state, SLOT_READY, __ATOMIC_RELEASE);
    __atomic_store_n(&k->busy, false, __ATOMIC_RELEASE);   /* k is the writer's again */
}

/* ---- set-up ------------------------------------------------------------------------- */

static void save_free(struct save *s)
{
    for (unsigned i = 0; i < SLOTS; i++)
        if (s->slot[i].data)
            kmem_free_pages(s->slot[i].data, BLOCK_PAGES);
    for (unsigned i = 0; i < s->encoders; i++) {
        struct encoder *k = &s->enc[i];
        if (k->codec)
            kmem_free_pages(k->codec, k->codec_pages);
        if (k->gather)
            kmem_free_pages(k->gather, BLOCK_PAGES);
    }
    if (s->index)
        kmem_free_pages(s->index, s->index_pages);
    kfree(s);
}

static struct save *save_alloc(struct partition *p)
{
    struct save *s = kmalloc(sizeof(*s));
    if (!s)
        return NULL;
    s->p = p;
    uint64_t blocks = p->mem.size / SNAP_BLOCK_SIZE;
    s->index_pages = (blocks * sizeof(struct snap_index_entry) + 4095) / 4096;
    s->index = kmem_alloc_pages(s->index_pages);
    bool ok = s->index != NULL;
    for (unsigned i = 0; i < SLOTS && ok; i++)
        ok = (s->slot[i].data = kmem_alloc_pages(BLOCK_PAGES)) != NULL;
    s->encoders = cpu_count < MAX_WORKERS ? (cpu_count ? cpu_count : 1) : MAX_WORKERS;
    for (unsigned i = 0; i < s->encoders && ok; i++) {
        struct encoder *k = &s->enc[i];
        k->s = s;
        k->codec_pages = (snap_codec_state_size() + 4095) / 4096;
        k->codec = kmem_alloc_pages(k->codec_pages);
        k->gather = kmem_alloc_pages(BLOCK_PAGES);
        ok = k->codec && k->gather;
        snap_policy_init(&k->policy, SNAP_LZ4);
        k->item = (struct work_item){ .fn = encode_item, .arg = k, .prio = WORK_NORMAL,
                                      .owner = p->id };
    }
    if (!ok) {
        save_free(s);
        return NULL;
    }
    return s;
}

/* ---- the writer --------------------------------------------------------------------- */

static struct slot *free_slot(struct save *s)
{
    for (unsigned i = 0; i < SLOTS; i++)
        if (__atomic_load_n(&s->slot[i].state, __ATOMIC_ACQUIRE) == SLOT_FREE)
            return &s->slot[i];
    return NULL;
}

/* Gives idle encoders the next blocks while slots are free. */
static void hand_out(struct save *s, uint32_t *next, uint32_t blocks)
{
    for (unsigned i = 0; i < s->encoders && *next < blocks; i++) {
        struct encoder *k = &s->enc[i];
        if (__atomic_load_n(&k->busy, __ATOMIC_ACQUIRE))
            continue;
        struct slot *sl = free_slot(s);
        if (!sl)
            return;
        sl->state = SLOT_ENCODING;
        sl->block = (*next)++;
        k->slot = sl;
        k->busy = true;
        if (worker_submit(&k->item) != WORK_OK)
            encode_item(&k->item);      /* the queue is full: here, now */
    }
}

/* Runs one of its own queued items here: true if it did. */
static bool run_own_item(struct save *s)
{
    for (unsigned i = 0; i < s->encoders; i++) {
        struct encoder *k = &s->enc[i];
        if (__atomic_load_n(&k->busy, __ATOMIC_ACQUIRE) && worker_cancel(&k->item)) {
            encode_item(&k->item);
            return true;
        }
    }
    return false;
}

static bool encoders_idle(struct save *s)
{
    for (unsigned i = 0; i < s->encoders; i++)
        if (__atomic_load_n(&s->enc[i].busy, __ATOMIC_ACQUIRE))
            return false;
    return true;
}

/* Every block encoded and written (or a write failed: false, w->err says why); no item
 * of s is queued or running when it returns. */
static bool write_blocks(struct save *s, struct snap_writer *w)
{
    uint32_t blocks = w->h.block_count, next = 0, written = 0;
    while (written < blocks && !w->failed) {
        hand_out(s, &next, blocks);
        bool did = false;
        for (unsigned i = 0; i < SLOTS; i++) {
            struct slot *sl = &s->slot[i];
            if (__atomic_load_n(&sl->state, __ATOMIC_ACQUIRE) != SLOT_READY)
                continue;
            snap_writer_block(w, sl->block, &sl->e, sl->data);
            s->zero_pages += snap_mask_pages(sl->e.zero_mask);
            if (sl->e.raw_len)
                s->at_level[sl->e.level]++;
            __atomic_sub_fetch(&s->queued, sl->e.len, __ATOMIC_RELAXED);
            __atomic_store_n(&sl->state, SLOT_FREE, __ATOMIC_RELEASE);
            written++;
            did = true;
        }
        snapshot_pool_poll(s->pf);      /* the disk's finished SNAPSHOT requests */
        if (!did && !run_own_item(s))
            cpu_relax();
    }
    while (!encoders_idle(s))
        if (!run_own_item(s))
            cpu_relax();
    return !w->failed;
}

static uint32_t ram_crc(const struct guest_mem *m)
{
    uint32_t crc = 0;
    for (uint64_t gpa = 0; gpa < m->size; gpa += GUEST_PAGE_SIZE)
        crc = crc32c(crc, guest_mem_ptr(m, gpa), GUEST_PAGE_SIZE);
    return crc;
}

/* "store 3, lz4 120": the blocks with data at each level used. */
static void level_mix(const struct save *s, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (unsigned l = 0; l < SNAP_LEVELS; l++)
        if (s->at_level[l] && n < size)
            n += (size_t)fmt_snprintf(out + n, size - n, "%s%s %lu", n ? ", " : "",
                                      snap_level_name((enum snap_level)l), s->at_level[l]);
}

/* The whole file, p paused.  False with one line in err (the temporary file removed). */
static bool write_file(struct partition *p, const char *file, const struct partition_pause *at,
                       struct save *s, uint32_t *crc, char *err, size_t err_size)
{
    static char manifest[SNAP_MAX_MANIFEST];
    size_t manifest_len = manifest_section_text(p->manifest_index, manifest, sizeof(manifest));
    if (!manifest_len) {
        fmt_snprintf(err, err_size, "its manifest section is missing or longer than %u bytes",
                     SNAP_MAX_MANIFEST);
        return false;
    }
    struct snap_disk_id disks[SNAP_MAX_DISKS];
    unsigned disk_count = 0;
    memset(disks, 0, sizeof(disks));
    for (unsigned i = 0; i < p->disk_count && disk_count < SNAP_MAX_DISKS; i++)
        if (partition_disk_identity(p, i, disks[disk_count].path, sizeof(disks[0].path),
                                    disks[disk_count].data_write_guid))
            disk_count++;
    *crc = ram_crc(&p->mem);
    struct checkpoint_saved st = { 0 };
    if (!checkpoint_save_stream(p, at, *crc, &st, err, err_size))
        return false;
    static struct snapshot_pool_file pf;
    struct snap_io io;
    if (!snapshot_pool_create(&pf, file, &io, err, err_size)) {
        checkpoint_saved_free(&st);
        return false;
    }
    struct snap_writer w;
    snap_writer_init(&w, &io, p->mem.size, p->name, s->index);
    __atomic_store_n(&s->pf, &pf, __ATOMIC_RELEASE);
    bool ok = !w.failed && write_blocks(s, &w);
    uint64_t guest_tsc0 = at->host_tsc + p->vcpus[0]->msrs.tsc_offset;
    ok = ok && snap_writer_finish(&w, st.stream, st.len, manifest, manifest_len, disks,
                                  disk_count, guest_tsc0, *crc);
    checkpoint_saved_free(&st);
    if (!ok) {
        fmt_snprintf(err, err_size, "%s", pf.failed ? pf.err : w.err);
        snapshot_pool_abort(&pf);
        return false;
    }
    s->written_data = w.next + (uint64_t)w.h.block_count * SNAP_INDEX_ENTRY_BYTES + st.len +
                      manifest_len + (uint64_t)disk_count * SNAP_DISK_BYTES;
    s->class_bytes = pf.async_bytes;
    s->class_requests = pf.async_requests;
    return snapshot_pool_commit(&pf, err, err_size);
}

enum snapshot_result snapshot_partition(struct partition *p, const char *file, bool stop,
                                        char *msg, size_t msg_size)
{
    char name[PARTITION_NAME_LEN], err[200];
    strlcpy(name, p->name, sizeof(name));
    if (!snapshot_path_valid(file)) {
        fmt_snprintf(msg, msg_size, "snapshot: %s: '%s' is not a file name the pool takes "
                     "([A-Za-z0-9._/-], not ending in .part)", name, file);
        kprintf("%s\n", msg);
        return SNAPSHOT_REFUSED;
    }
    if (p->state != PART_RUNNING) {
        fmt_snprintf(msg, msg_size, "snapshot: %s: %s: not running", name, file);
        kprintf("%s\n", msg);
        return SNAPSHOT_NOT_RUNNING;
    }
    if (p->mem.size % SNAP_BLOCK_SIZE) {
        fmt_snprintf(msg, msg_size, "snapshot: %s: %s: refused: its RAM is not a multiple of "
                     "64 KiB", name, file);
        kprintf("%s\n", msg);
        return SNAPSHOT_REFUSED;
    }
    struct save *s = save_alloc(p);
    if (!s) {
        fmt_snprintf(msg, msg_size, "snapshot: %s: %s: refused: out of memory; not paused",
                     name, file);
        kprintf("%s\n", msg);
        return SNAPSHOT_REFUSED;
    }
    struct partition_pause at;
    uint64_t t0 = time_ns();
    if (!partition_pause(p, &at, err, sizeof(err))) {
        save_free(s);
        fmt_snprintf(msg, msg_size, "snapshot: %s: %s: %s", name, file, err);
        kprintf("%s\n", msg);
        return p->state == PART_DEAD ? SNAPSHOT_LOST : SNAPSHOT_NOT_RUNNING;
    }
    partition_console_flush(p, true);
    uint32_t crc = 0;
    bool ok = write_file(p, file, &at, s, &crc, err, sizeof(err));
    uint64_t paused_ms = (time_ns() - t0) / 1000000;
    if (!ok) {
        save_free(s);
        partition_resume(p, &at);
        fmt_snprintf(msg, msg_size, "snapshot: %s: %s: refused: %s; resumed", name, file, err);
        kprintf("%s\n", msg);
        return SNAPSHOT_REFUSED;
    }
    char levels[96];
    level_mix(s, levels, sizeof(levels));
    uint64_t pages = p->mem.size / 4096;
    uint64_t permille = s->written_data * 1000 / p->mem.size;
    fmt_snprintf(msg, msg_size, "snapshot: %s: %s: RAM %lu MiB crc32c 0x%08x, zero pages %lu%%, "
                 "written %lu bytes (%lu.%lu%% of RAM), levels {%s}, paused %lu ms%s", name,
                 file, p->mem.size >> 20, crc, s->zero_pages * 100 / pages, s->written_data,
                 permille / 10, permille % 10, levels, paused_ms, stop ? ", stopped" : "");
    kprintf("%s\n", msg);
    kprintf("snapshot: %s: %s: %lu bytes as %lu SNAPSHOT-class requests on %s\n", name, file,
            s->class_bytes, s->class_requests, pool_disk_name());
    save_free(s);
    if (stop)
        partition_stop(p, "after its snapshot to %s", file);
    else
        partition_resume(p, &at);
    return SNAPSHOT_DONE;
}
