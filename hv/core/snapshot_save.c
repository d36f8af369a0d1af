/*
 * Saving a partition's RAM into a snapshot file (hv/core/snapshot.h).  The boot CPU is
 * the writer: it hands each free slot of the write queue to a worker item with the next
 * RAM block of the pass, and writes the slots the items filled to the pool file in the
 * order they finish.  An item encodes one block at the level its policy picks from the
 * bytes waiting in the queue (snap_policy.h), so a slow pool makes the items compress
 * harder.  The writer runs a queued item itself when it has nothing to write, so one CPU
 * is enough; other CPUs take items in their idle time (hv/core/worker.h).
 *
 * The save is a job that snapshot_poll advances a slice at a time from the boot CPU's
 * loop, so the services (the control server's progress queries) and, for a live
 * snapshot, the partition's vCPUs run between slices.  A stopped snapshot pauses first
 * and saves every block in one pass.  A live one arms the write tracking in groups of one
 * block (or takes the manifest's, holding its periodic passes), harvests once, copies
 * every block while the guest runs, then re-saves what each harvest says was written
 * until snap_passes.h says pause; paused, it harvests a last time and copies those blocks
 * aside (or, without the memory for that, saves them there and then), takes RAM's CRC-32C
 * and the vCPUs and devices, and lets the partition run while it writes the rest, so the
 * file's latest copy of every block is RAM as it stood at the pause.
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
#include "hv/core/partition_writes.h"
#include "hv/core/run.h"
#include "hv/core/snapshot_pool.h"
#include "hv/core/worker.h"
#include "hv/lib/crc32c.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"
#include "hv/snapshot/snap_codec.h"
#include "hv/snapshot/snap_file.h"
#include "hv/snapshot/snap_passes.h"
#include "hv/snapshot/snap_policy.h"
#include "hv/storage/pool.h"

#define SLOTS 8                 /* the write queue: SLOTS blocks of encoded data */
#define MAX_WORKERS 4
#define BLOCK_PAGES (SNAP_BLOCK_SIZE / 4096)

static const char LIVE_SNAPSHOT[] = "a live snapshot";  /* collects the written pages */

enum slot_state { SLOT_FREE, SLOT_ENCODING, SLOT_READY };

struct slot {
    volatile enum slot_state state;
    uint32_t block;
    uint32_t nth;               /* its place in the pass (the stash's index) */
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
    uint64_t ram_size;          /* p's, kept: p may end (and its RAM go) once captured */
    char name[PARTITION_NAME_LEN], file[SNAPSHOT_PATH_LEN];
    bool stop, live;
    bool paused, created;       /* p paused by us; the pool file exists */
    bool resumed;               /* live: p runs again while the file is finished */
    bool captured;              /* RAM's CRC, vCPUs and devices taken at the pause */
    uint8_t *stash;             /* the paused pass's blocks, copied, when memory allows */
    size_t stash_pages;
    struct checkpoint_saved st; /* once captured, with the disks' identity and the section */
    struct snap_disk_id disks[SNAP_MAX_DISKS];
    unsigned disk_count;
    size_t manifest_len;
    uint32_t crc;
    uint64_t guest_tsc0, paused_tsc, paused_ms;
    uint32_t handed;            /* blocks of this pass handed out */
    struct partition_pause at;
    struct snap_io io;
    struct snap_writer w;
    struct slot slot[SLOTS];
    struct encoder enc[MAX_WORKERS];
    unsigned encoders;
    uint64_t queued;            /* encoded bytes in READY slots (atomic) */
    struct snapshot_pool_file *pf;  /* the file being written (NULL before it is created) */
    uint64_t written_data;
    uint64_t class_bytes, class_requests;   /* of it, written as SNAPSHOT-class requests */
    uint64_t at_level[SNAP_LEVELS];
    struct snap_index_entry *index;
    size_t index_pages;
    /* The pass: the blocks still to hand out (a bit each), and those not yet written. */
    uint64_t *todo, *dirty;     /* block bitmaps; dirty: a harvest, in groups */
    size_t todo_words, dirty_words, bitmap_pages;
    uint32_t cursor, pass_left, pass_blocks;
    uint32_t passes;            /* re-save passes run while the guest ran */
    uint64_t resaved;           /* blocks saved again (live passes and the paused one) */
    uint64_t paused_blocks;     /* blocks the paused pass saved */
    uint64_t done_bytes;        /* RAM bytes of the blocks written, copies included */
    uint64_t t0, pause_ns;      /* when it began; when it paused p (the pause it reports) */
    uint32_t id;
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
        .workers = s->encoders,
        .remaining = (uint64_t)(s->pass_blocks - sl->nth) * SNAP_BLOCK_SIZE,
    };
    enum snap_level level = snap_policy_pick(&k->policy, &q);
    uint64_t gpa = (uint64_t)sl->block * SNAP_BLOCK_SIZE;
    const uint8_t *src;
    if (s->stash) {
        src = s->stash + (uint64_t)sl->nth * SNAP_BLOCK_SIZE;
    } else if (s->paused) {
        src = block_bytes(&s->p->mem, gpa, k->gather);
    } else {            /* the guest may write it meanwhile: encode one consistent copy */
        for (unsigned i = 0; i < BLOCK_PAGES; i++)
            memcpy(k->gather + i * 4096, guest_mem_ptr(&s->p->mem, gpa + i * 4096ull), 4096);
        src = k->gather;
    }
    snap_encode(k->codec, level, src, sl->data, &sl->e);
    snap_policy_learn(&k->policy, level, sl->e.raw_len, sl->e.len, time_ns() - q.now_ns);
    __atomic_add_fetch(&s->queued, sl->e.len, __ATOMIC_RELAXED);
    __atomic_store_n(&sl->state, SLOT_READY, __ATOMIC_RELEASE);
    __atomic_store_n(&k->busy, false, __ATOMIC_RELEASE);   /* k is the writer's again */
}

/* ---- set-up ------------------------------------------------------------------------- */

static struct snapshot_pool_file pool_file;     /* one job at a time */
static char manifest[SNAP_MAX_MANIFEST];        /* its partition's section, at the capture */
static struct save *job;
static uint32_t next_id = 1;
static struct snapshot_progress ended_job;           /* the last job, once it ended */

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
    if (s->todo)
        kmem_free_pages(s->todo, s->bitmap_pages);
    if (s->stash)
        kmem_free_pages(s->stash, s->stash_pages);
    if (s->captured)
        checkpoint_saved_free(&s->st);
    kfree(s);
}

static struct save *save_alloc(struct partition *p)
{
    struct save *s = kmalloc(sizeof(*s));
    if (!s)
        return NULL;
    memset(s, 0, sizeof(*s));
    s->p = p;
    s->ram_size = p->mem.size;
    uint64_t blocks = p->mem.size / SNAP_BLOCK_SIZE;
    s->index_pages = (blocks * sizeof(struct snap_index_entry) + 4095) / 4096;
    s->index = kmem_alloc_pages(s->index_pages);
    /* dirty: groups of one page at the finest, so up to 16 words per block word */
    s->todo_words = (blocks + 63) / 64;
    s->dirty_words = (p->mem.size / 4096 + 63) / 64;
    s->bitmap_pages = ((s->todo_words + s->dirty_words) * 8 + 4095) / 4096;
    s->todo = kmem_alloc_pages(s->bitmap_pages);
    bool ok = s->index && s->todo;
    if (ok)
        s->dirty = s->todo + s->todo_words;
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

/* The pass's next block to hand out (its bit cleared), or false when none is left. */
static bool next_block(struct save *s, uint32_t *block)
{
    uint32_t blocks = s->w.h.block_count;
    while (s->cursor < blocks) {
        uint32_t b = s->cursor;
        uint64_t word = s->todo[b / 64] >> (b % 64);
        if (!word) {
            s->cursor = (b / 64 + 1) * 64;
            continue;
        }
        b += (uint32_t)__builtin_ctzll(word);
        if (b >= blocks)
            break;
        s->todo[b / 64] &= ~(1ull << (b % 64));
        s->cursor = b + 1;
        *block = b;
        return true;
    }
    s->cursor = blocks;
    return false;
}

/* Gives idle encoders the pass's next blocks while slots are free. */
static void hand_out(struct save *s)
{
    for (unsigned i = 0; i < s->encoders; i++) {
        struct encoder *k = &s->enc[i];
        if (__atomic_load_n(&k->busy, __ATOMIC_ACQUIRE))
            continue;
        struct slot *sl = free_slot(s);
        uint32_t block;
        if (!sl || !next_block(s, &block))
            return;
        sl->state = SLOT_ENCODING;
        sl->block = block;
        sl->nth = s->handed++;
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

/* No item of s queued or running when it returns.  ram_gone: the partition's memory is
 * freed, so a queued item is cancelled, not run. */
static void wait_encoders(struct save *s, bool ram_gone)
{
    for (unsigned i = 0; ram_gone && i < s->encoders; i++) {
        struct encoder *k = &s->enc[i];
        if (__atomic_load_n(&k->busy, __ATOMIC_ACQUIRE) && worker_cancel(&k->item))
            __atomic_store_n(&k->busy, false, __ATOMIC_RELEASE);
    }
    while (!encoders_idle(s))
        if (!run_own_item(s))
            cpu_relax();
}

/* Writes the slots the items filled: true if it wrote any. */
static bool drain(struct save *s)
{
    bool did = false;
    for (unsigned i = 0; i < SLOTS; i++) {
        struct slot *sl = &s->slot[i];
        if (__atomic_load_n(&sl->state, __ATOMIC_ACQUIRE) != SLOT_READY)
            continue;
        snap_writer_block(&s->w, sl->block, &sl->e, sl->data);
        if (sl->e.raw_len)
            s->at_level[sl->e.level]++;
        s->done_bytes += SNAP_BLOCK_SIZE;
        s->pass_left--;
        __atomic_sub_fetch(&s->queued, sl->e.len, __ATOMIC_RELAXED);
        __atomic_store_n(&sl->state, SLOT_FREE, __ATOMIC_RELEASE);
        did = true;
    }
    return did;
}

/* Works on the pass until it is written (true; or a write failed: s->w.failed) or the
 * deadline passes (false; items may still be queued or running). */
static bool pass_step(struct save *s, uint64_t deadline)
{
    while (!s->w.failed) {
        hand_out(s);
        bool did = drain(s);
        if (!s->pass_left && encoders_idle(s))
            return true;
        if (time_ns() >= deadline)
            return false;
        snapshot_pool_poll(&pool_file);     /* the disk's finished SNAPSHOT requests */
        if (!did && !run_own_item(s))
            cpu_relax();
    }
    return true;
}

static void begin_pass(struct save *s, uint64_t blocks)
{
    s->cursor = 0;
    s->handed = 0;
    s->pass_left = s->pass_blocks = (uint32_t)blocks;
}

/* The blocks written since the last harvest join todo; returns how many todo holds. */
static uint64_t harvest(struct save *s)
{
    struct partition *p = s->p;
    uint32_t gp = partition_writes_group_pages(p);
    if (!gp)
        return 0;
    memset(s->dirty, 0, s->dirty_words * 8);
    partition_writes_pass(p, s->dirty);
    uint64_t groups = (p->mem.size / 4096 + gp - 1) / gp;
    for (uint64_t g = 0; g < groups; g++) {
        if (!(s->dirty[g / 64] & (1ull << (g % 64))))
            continue;
        uint64_t first = g * gp / BLOCK_PAGES, last = ((g + 1) * gp - 1) / BLOCK_PAGES;
        for (uint64_t b = first; b <= last && b < s->w.h.block_count; b++)
            s->todo[b / 64] |= 1ull << (b % 64);
    }
    uint64_t n = 0;
    for (size_t i = 0; i < s->todo_words; i++)
        for (uint64_t v = s->todo[i]; v; v &= v - 1)       /* no libgcc popcount here */
            n++;
    return n;
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

static void fill_progress(const struct save *s, struct snapshot_progress *out)
{
    memset(out, 0, sizeof(*out));
    out->id = s->id;
    out->state = SNAPSHOT_RUNNING;
    out->done = s->done_bytes;
    out->total = s->ram_size + s->resaved * SNAP_BLOCK_SIZE;
    uint64_t us = (time_ns() - s->t0) / 1000;
    out->bytes_per_s = us ? s->done_bytes * 1000000 / us : 0;
    out->passes = s->passes;
    out->paused = s->paused;
    level_mix(s, out->levels, sizeof(out->levels));
}

/* ---- the job ------------------------------------------------------------------------ */

/* Ends the job: its line printed, in the last job's progress and in msg. */
static enum snapshot_result end_job(struct save *s, enum snapshot_result r, const char *line,
                                    char *msg, size_t msg_size)
{
    kprintf("%s\n", line);
    if (msg)
        fmt_snprintf(msg, msg_size, "%s", line);
    fill_progress(s, &ended_job);
    ended_job.state = r == SNAPSHOT_DONE ? SNAPSHOT_ENDED_DONE : SNAPSHOT_ENDED_FAILED;
    ended_job.result = r;
    fmt_snprintf(ended_job.line, sizeof(ended_job.line), "%s", line);
    if (s->live)
        partition_writes_unclaim(s->p, LIVE_SNAPSHOT);
    save_free(s);
    job = NULL;
    return r;
}

/* Refused after it began: the file removed, p resumed (when we paused it and it lives). */
static enum snapshot_result fail(struct save *s, const char *why, char *msg, size_t msg_size)
{
    char line[320];
    bool ended = s->p->state == PART_DEAD || s->p->finished;
    wait_encoders(s, s->p->finished);
    if (s->created)
        snapshot_pool_abort(&pool_file);
    if (s->paused && !ended)
        partition_resume(s->p, &s->at);
    fmt_snprintf(line, sizeof(line), "snapshot: %s: %s: refused: %s; %s", s->name, s->file, why,
                 ended ? "it ended" : s->paused || s->resumed ? "resumed" : "it kept running");
    return end_job(s, ended ? SNAPSHOT_LOST : SNAPSHOT_REFUSED, line, msg, msg_size);
}

/* Right after the pause (the device models' timers are saved against the time they are
 * taken): RAM's CRC-32C, the vCPUs and devices, the disks' identity, the manifest section.
 * False when the job failed (ended). */
static bool capture(struct save *s)
{
    struct partition *p = s->p;
    char err[200];
    s->manifest_len = manifest_section_text(p->manifest_index, manifest, sizeof(manifest));
    if (!s->manifest_len) {
        fmt_snprintf(err, sizeof(err), "its manifest section is missing or longer than %u "
                     "bytes", SNAP_MAX_MANIFEST);
        fail(s, err, NULL, 0);
        return false;
    }
    memset(s->disks, 0, sizeof(s->disks));
    for (unsigned i = 0; i < p->disk_count && s->disk_count < SNAP_MAX_DISKS; i++)
        if (partition_disk_identity(p, i, s->disks[s->disk_count].path,
                                    sizeof(s->disks[0].path),
                                    s->disks[s->disk_count].data_write_guid))
            s->disk_count++;
    s->crc = ram_crc(&p->mem);
    if (!checkpoint_save_stream(p, &s->at, s->crc, &s->st, err, sizeof(err))) {
        fail(s, err, NULL, 0);
        return false;
    }
    s->captured = true;
    s->guest_tsc0 = s->at.host_tsc + p->vcpus[0]->msrs.tsc_offset;
    return true;
}

/* Live, captured, its last blocks stashed or written: the pause is over, and a live
 * partition runs on while the rest is written (a stopped snapshot's pause is all of it,
 * as it always was; with `stop` it stays paused until it is stopped). */
static void end_live_pause(struct save *s)
{
    s->paused_tsc = rdtsc() - s->at.host_tsc;
    s->paused_ms = (time_ns() - s->pause_ns) / 1000000;
    if (!s->stop) {
        partition_resume(s->p, &s->at);
        s->paused = false;
        s->resumed = true;
    }
}

/* Every block is in and p captured: the rest of the file, the rename, the line. */
static enum snapshot_result complete(struct save *s)
{
    struct partition *p = s->p;
    char err[200], line[320];
    if (s->live) {
        s->w.h.flags = SNAP_FLAG_LIVE;
        s->w.h.live_passes = s->passes;
        s->w.h.resaved_blocks = (uint32_t)s->resaved;
    }
    if (!snap_writer_finish(&s->w, s->st.stream, s->st.len, manifest, s->manifest_len,
                            s->disks, s->disk_count, s->guest_tsc0, s->crc))
        return fail(s, pool_file.failed ? pool_file.err : s->w.err, NULL, 0);
    s->written_data = s->w.next + (uint64_t)s->w.h.block_count * SNAP_INDEX_ENTRY_BYTES +
                      s->st.len + s->manifest_len + (uint64_t)s->disk_count * SNAP_DISK_BYTES;
    s->created = false;         /* committed or removed by the commit */
    s->class_bytes = pool_file.async_bytes;
    s->class_requests = pool_file.async_requests;
    if (!snapshot_pool_commit(&pool_file, err, sizeof(err)))
        return fail(s, err, NULL, 0);
    uint64_t zero_pages = 0;
    for (uint32_t b = 0; b < s->w.h.block_count; b++)
        zero_pages += snap_mask_pages(s->index[b].zero_mask);
    char levels[96], pause[160];
    level_mix(s, levels, sizeof(levels));
    uint64_t pages = s->ram_size / 4096;
    uint64_t permille = s->written_data * 1000 / s->ram_size;
    if (s->live)
        fmt_snprintf(pause, sizeof(pause), "live: %u passes re-saved %lu pages, paused %lu pages "
                     "%lu TSC ticks (%lu ms)", s->passes, s->resaved * BLOCK_PAGES,
                     s->paused_blocks * BLOCK_PAGES, s->paused_tsc, s->paused_ms);
    else
        fmt_snprintf(pause, sizeof(pause), "paused %lu ms",
                     (time_ns() - s->pause_ns) / 1000000);     /* the whole of it */
    fmt_snprintf(line, sizeof(line), "snapshot: %s: %s: RAM %lu MiB crc32c 0x%08x, zero pages "
                 "%lu%%, written %lu bytes (%lu.%lu%% of RAM), levels {%s}, %s%s", s->name,
                 s->file, s->ram_size >> 20, s->crc, zero_pages * 100 / pages, s->written_data,
                 permille / 10, permille % 10, levels, pause, s->stop ? ", stopped" : "");
    /* The line first, then the partition's own (stopped, or nothing when it resumes). */
    struct partition_pause at = s->at;
    char file[SNAPSHOT_PATH_LEN];
    bool stop = s->stop, resumed = s->resumed;
    strlcpy(file, s->file, sizeof(file));
    char class_line[160];
    fmt_snprintf(class_line, sizeof(class_line), "snapshot: %s: %s: %lu bytes as %lu "
                 "SNAPSHOT-class requests on %s", s->name, s->file, s->class_bytes,
                 s->class_requests, pool_disk_name());
    end_job(s, SNAPSHOT_DONE, line, NULL, 0);
    kprintf("%s\n", class_line);
    if (stop)
        partition_stop(p, "after its snapshot to %s", file);
    else if (!resumed)
        partition_resume(p, &at);
    return SNAPSHOT_DONE;
}

/* The blocks written since the last harvest, copied while p is paused, when the memory for
 * them can be had: encoding and writing them then waits for nothing. */
static void stash_blocks(struct save *s, uint64_t blocks)
{
    if (!blocks)
        return;
    s->stash_pages = blocks * BLOCK_PAGES;
    s->stash = kmem_alloc_pages(s->stash_pages);
    if (!s->stash)
        return;
    uint64_t n = 0;
    for (uint32_t b = 0; b < s->w.h.block_count; b++)
        if (s->todo[b / 64] & (1ull << (b % 64)))
            for (unsigned i = 0; i < BLOCK_PAGES; i++, n++)
                memcpy(s->stash + n * 4096,
                       guest_mem_ptr(&s->p->mem, (uint64_t)b * SNAP_BLOCK_SIZE + i * 4096ull),
                       4096);
}

/* The live copy is over: pause, and the blocks written since the last harvest. */
static bool pause_for_last_pass(struct save *s, char *err, size_t err_size)
{
    s->pause_ns = time_ns();
    if (!partition_pause(s->p, &s->at, err, err_size))
        return false;
    s->paused = true;
    partition_console_flush(s->p, true);
    s->paused_blocks = harvest(s);
    s->resaved += s->paused_blocks;
    begin_pass(s, s->paused_blocks);
    stash_blocks(s, s->paused_blocks);
    return true;
}

void snapshot_poll(void)
{
    struct save *s = job;
    if (!s)
        return;
    struct partition *p = s->p;
    char err[200];
    /* Once captured, what is left comes from the stash and the capture, not from p's RAM. */
    if (!s->captured && (p->state == PART_DEAD || p->finished ||
                         (!s->paused && p->state != PART_RUNNING))) {
        fail(s, "the partition ended or was paused during its snapshot", NULL, 0);
        return;
    }
    if (!pass_step(s, time_ns() + SNAPSHOT_SLICE_NS))
        return;
    if (s->w.failed) {
        fail(s, pool_file.failed ? pool_file.err : s->w.err, NULL, 0);
        return;
    }
    if (s->captured) {          /* a stopped snapshot's one pass, or the last one */
        complete(s);
        return;
    }
    uint64_t last_pass = s->pass_blocks;
    uint64_t dirty = harvest(s);
    enum snap_pass_next next = snap_passes_next(s->passes, dirty, last_pass);
    struct snapshot_progress pr;
    fill_progress(s, &pr);
    kprintf("snapshot: %s: %s: %s %u done (%lu KiB of %lu, %lu KB/s, levels {%s}): %lu "
            "blocks written meanwhile, %s\n", s->name, s->file, s->passes ? "pass" : "copy",
            s->passes, pr.done >> 10, pr.total >> 10, pr.bytes_per_s / 1000, pr.levels, dirty,
            next == SNAP_PASS_AGAIN ? "saving them again" : "pausing");
    if (next == SNAP_PASS_AGAIN) {
        s->passes++;
        s->resaved += dirty;
        begin_pass(s, dirty);
        hand_out(s);            /* queued items keep the boot CPU from idling */
        return;
    }
    if (!pause_for_last_pass(s, err, sizeof(err))) {
        fail(s, err, NULL, 0);
        return;
    }
    if (!capture(s))
        return;
    if (!s->stash) {            /* no memory to stash them: saved paused, in one go */
        pass_step(s, UINT64_MAX);
        if (s->w.failed) {
            fail(s, pool_file.failed ? pool_file.err : s->w.err, NULL, 0);
            return;
        }
    }
    end_live_pause(s);
    hand_out(s);                /* the stashed pass, p running again; complete() after it */
}

bool snapshot_busy(void)
{
    return job != NULL;
}

bool snapshot_saving(const struct partition *p)
{
    return job && job->p == p;
}

bool snapshot_progress(uint32_t id, struct snapshot_progress *out)
{
    if (job && job->id == id) {
        fill_progress(job, out);
        return true;
    }
    if (ended_job.id && ended_job.id == id) {
        *out = ended_job;
        return true;
    }
    return false;
}

static enum snapshot_result refuse(enum snapshot_result r, const char *msg)
{
    kprintf("%s\n", msg);
    return r;
}

enum snapshot_result snapshot_partition(struct partition *p, const char *file, bool stop,
                                        bool live, uint32_t *id, char *msg, size_t msg_size)
{
    char name[PARTITION_NAME_LEN], err[200];
    strlcpy(name, p->name, sizeof(name));
    *id = 0;
    if (!snapshot_path_valid(file)) {
        fmt_snprintf(msg, msg_size, "snapshot: %s: '%s' is not a file name the pool takes "
                     "([A-Za-z0-9._/-], not ending in .part)", name, file);
        return refuse(SNAPSHOT_REFUSED, msg);
    }
    if (p->state != PART_RUNNING) {
        fmt_snprintf(msg, msg_size, "snapshot: %s: %s: not running", name, file);
        return refuse(SNAPSHOT_NOT_RUNNING, msg);
    }
    if (job) {
        fmt_snprintf(msg, msg_size, "snapshot: %s: %s: refused: the snapshot of %s is in "
                     "progress", name, file, job->name);
        return refuse(SNAPSHOT_REFUSED, msg);
    }
    if (p->mem.size % SNAP_BLOCK_SIZE) {
        fmt_snprintf(msg, msg_size, "snapshot: %s: %s: refused: its RAM is not a multiple of "
                     "64 KiB", name, file);
        return refuse(SNAPSHOT_REFUSED, msg);
    }
    struct save *s = save_alloc(p);
    if (!s) {
        fmt_snprintf(msg, msg_size, "snapshot: %s: %s: refused: out of memory; not paused",
                     name, file);
        return refuse(SNAPSHOT_REFUSED, msg);
    }
    strlcpy(s->name, name, sizeof(s->name));
    strlcpy(s->file, file, sizeof(s->file));
    s->stop = stop;
    s->live = live;
    s->id = next_id++;
    s->t0 = s->pause_ns = time_ns();
    job = s;
    if (live) {
        if (!partition_writes_group_pages(p) &&
            !partition_writes_arm(p, BLOCK_PAGES, err, sizeof(err)))
            return fail(s, err, msg, msg_size);
        if (!partition_writes_claim(p, LIVE_SNAPSHOT, err, sizeof(err)))
            return fail(s, err, msg, msg_size);
    } else {
        if (!partition_pause(p, &s->at, err, sizeof(err))) {
            fmt_snprintf(msg, msg_size, "snapshot: %s: %s: %s", name, file, err);
            kprintf("%s\n", msg);
            enum snapshot_result r = p->state == PART_DEAD ? SNAPSHOT_LOST : SNAPSHOT_NOT_RUNNING;
            fill_progress(s, &ended_job);
            ended_job.state = SNAPSHOT_ENDED_FAILED;
            ended_job.result = r;
            fmt_snprintf(ended_job.line, sizeof(ended_job.line), "%s", msg);
            save_free(s);
            job = NULL;
            return r;
        }
        s->paused = true;
        partition_console_flush(p, true);
        if (!capture(s)) {      /* it printed why and resumed p */
            fmt_snprintf(msg, msg_size, "%s", ended_job.line);
            return ended_job.result;
        }
    }
    if (!snapshot_pool_create(&pool_file, file, &s->io, err, sizeof(err)))
        return fail(s, err, msg, msg_size);
    __atomic_store_n(&s->pf, &pool_file, __ATOMIC_RELEASE);
    s->created = true;
    snap_writer_init(&s->w, &s->io, p->mem.size, name, s->index);
    if (s->w.failed)
        return fail(s, s->w.err, msg, msg_size);
    if (live)
        harvest(s);             /* every write from now on is seen: the copy begins after */
    memset(s->todo, 0, s->todo_words * 8);
    for (uint32_t b = 0; b < s->w.h.block_count; b++)
        s->todo[b / 64] |= 1ull << (b % 64);
    begin_pass(s, s->w.h.block_count);
    hand_out(s);
    *id = s->id;
    fmt_snprintf(msg, msg_size, "snapshot: %s: %s: %s, writing %lu MiB of RAM", name, file,
                 live ? "live" : "paused", p->mem.size >> 20);
    return SNAPSHOT_STARTED;
}
