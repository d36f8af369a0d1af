/*
 * The source half of a live migration (hv/core/migrate.h): a state machine the network
 * poll moves on, a few milliseconds at a time, so the partition keeps running while its
 * RAM is copied.  One migration at a time.
 */
#include "hv/core/migrate.h"

#include <string.h>
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/lapic.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/checkpoint.h"
#include "hv/core/migrate_chan.h"
#include "hv/core/partition_console.h"
#include "hv/core/partition_disks.h"
#include "hv/core/partition_pause.h"
#include "hv/core/partition_writes.h"
#include "hv/core/run.h"
#include "hv/core/sched.h"
#include "hv/core/write_track.h"
#include "hv/lib/crc32c.h"
#include "hv/lib/format.h"
#include "hv/migrate/mig_choice.h"
#include "hv/migrate/mig_converge.h"
#include "hv/migrate/mig_learn.h"
#include "hv/mm/kmem.h"
#include "hv/snapshot/snap_codec.h"

#define POLL_BUDGET_NS 1000000ull
#define MANIFEST_MAX   4096u

static const char MIGRATION[] = "a migration";  /* collects the written pages */

enum stage { S_IDLE, S_READY, S_ROUNDS, S_STOP_COPY, S_DONE_WAIT };

static const char *const stage_names[] = { "idle", "connecting", "pre-copy", "stop-and-copy",
                                           "resuming" };

struct source {
    enum stage stage;
    struct partition *p;
    char name[PARTITION_NAME_LEN], host[24];
    struct mig_chan ch;
    void *codec;
    size_t codec_pages;
    uint8_t *gather;                    /* MIG_BATCH_PAGES pages */
    uint64_t *groups, *more;            /* written groups: this round's, a later pass's */
    size_t group_words, bitmap_pages;
    uint32_t group_pages;
    uint64_t ram_pages, cursor;
    bool all;                           /* round 0: every page */
    bool round_told;                    /* the ROUND message of this round is queued */
    uint32_t round;
    uint64_t round_ns;                  /* when this round began */
    struct mig_learn learning;          /* round 0's learning passes (mig_learn.h) */
    uint64_t learn_ns;                  /* when round 0's last learning pass ran */
    bool carry;                         /* src.groups holds the learning pass's map */
    /* this round */
    uint64_t r_sent, r_zero, r_wire0, r_faults0, r_batches, r_dirty, r_unchanged;
    uint64_t r_codec[MIG_CODECS];       /* batches by the codec chosen */
    uint64_t r_skipped;                 /* pages left for the next round: written again */
    /* convergence (mig_converge.h) */
    uint64_t *hashes;                   /* per page: the hash of what was last sent, 0 never */
    size_t hash_alloc;                  /* pages of memory */
    struct region *regions;
    struct mig_region_size *sizes;      /* each region's group size */
    size_t region_count, region_alloc, sizes_alloc;
    uint32_t throttle;                  /* level of the round under way */
    /* all rounds */
    uint64_t sent_total;
    uint64_t later_sent, later_unchanged;   /* after round 0 (stop-and-copy's included) */
    uint64_t skipped;                   /* pages left to a later round, earlier rounds */
    uint64_t faults0;                   /* write faults before round 0 */
    uint64_t start_ns;
    uint64_t pause_ns, pause_halted;    /* at the stop-and-copy pause */
    uint64_t last_pages;                /* sent in stop-and-copy */
    bool paused;
    bool claimed;                       /* the tracking's passes are ours */
    bool cancelled;                     /* its disks' requests in flight were cancelled */
    unsigned cancelled_count;
    struct partition_pause at;
    uint32_t ram_crc;
    struct mig_choice choice;
    bool measuring;                     /* a PAGES message is being sent */
    uint64_t queued_ns, queued_len;
    char last[320];
};

/* A 2 MiB region: what its pages did this round. */
struct region {
    uint32_t sent, unchanged;
};

static struct source src;
const struct migrate_transport *migrate_transport;

void migrate_set_transport(const struct migrate_transport *t)
{
    migrate_transport = t;
}

static uint64_t popcount64(uint64_t x)
{
    uint64_t n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

static void say(const char *fmt, const char *detail)
{
    fmt_snprintf(src.last, sizeof(src.last), fmt, src.name, src.host, detail);
    kprintf("%s\n", src.last);
}

static void release(void)
{
    mig_chan_close(&src.ch);
    if (src.codec)
        kmem_free_pages(src.codec, src.codec_pages);
    if (src.gather)
        kmem_free_pages(src.gather, MIG_BATCH_PAGES);
    if (src.groups)
        kmem_free_pages(src.groups, src.bitmap_pages);
    if (src.more)
        kmem_free_pages(src.more, src.bitmap_pages);
    if (src.hashes)
        kmem_free_pages(src.hashes, src.hash_alloc);
    if (src.regions) {
        if (src.claimed && src.p->writes)   /* faults open the tracking's own groups again */
            for (size_t i = 0; i < src.region_count; i++)
                partition_writes_set_region_pages(src.p, i, src.group_pages);
        kmem_free_pages(src.regions, src.region_alloc);
    }
    if (src.sizes)
        kmem_free_pages(src.sizes, src.sizes_alloc);
    sched_throttle(NULL, 0);
    src.codec = src.gather = NULL;
    src.groups = src.more = NULL;
    src.hashes = NULL;
    src.regions = NULL;
    src.sizes = NULL;
    src.stage = S_IDLE;
    src.p = NULL;
}

/* Before the acknowledgement: the source goes on as if nothing had happened. */
static void fail(const char *why)
{
    struct partition *p = src.p;
    bool alive = p && p->state != PART_DEAD;
    if (alive && src.claimed)
        partition_writes_unclaim(p, MIGRATION);
    if (src.paused && alive)
        partition_resume(p, &src.at);   /* its disks start the cancelled requests again */
    else if (src.cancelled && alive)
        partition_disks_resume(p);
    src.paused = false;
    char restarted[64] = "";
    if (src.cancelled_count && alive)
        fmt_snprintf(restarted, sizeof(restarted), " (its %u cancelled disk request%s start "
                     "again)", src.cancelled_count, src.cancelled_count == 1 ? "" : "s");
    char line[240];
    fmt_snprintf(line, sizeof(line), "%s; %s%s", why, alive ? "still running here"
                                                            : "it has ended here meanwhile",
                 restarted);
    say("migrate: %s: to %s: refused: %s", line);
    release();
}

static bool setup(struct partition *p, char *err, size_t err_size)
{
    src.p = p;
    src.ram_pages = p->mem.size / MIG_PAGE_SIZE;
    src.codec_pages = (snap_codec_state_size() + 4095) / 4096;
    src.codec = kmem_alloc_pages(src.codec_pages);
    src.gather = kmem_alloc_pages(MIG_BATCH_PAGES);
    src.hash_alloc = (src.ram_pages * sizeof(uint64_t) + 4095) / 4096;
    src.hashes = kmem_alloc_pages(src.hash_alloc);
    src.region_count = (src.ram_pages + MIG_REGION_PAGES - 1) / MIG_REGION_PAGES;
    src.region_alloc = (src.region_count * sizeof(struct region) + 4095) / 4096;
    src.regions = kmem_alloc_pages(src.region_alloc);
    src.sizes_alloc = (src.region_count * sizeof(struct mig_region_size) + 4095) / 4096;
    src.sizes = kmem_alloc_pages(src.sizes_alloc);
    if (!src.codec || !src.gather || !src.hashes || !src.regions || !src.sizes) {
        fmt_snprintf(err, err_size, "out of memory");
        return false;
    }
    if (!p->writes) {                   /* arm tracking, paused so that no write escapes */
        struct partition_pause at;
        if (!partition_pause(p, &at, err, err_size))
            return false;
        bool ok = partition_writes_arm(p, 1, err, err_size);
        partition_resume(p, &at);
        if (!ok)
            return false;
    }
    /* Claimed before anything of the tracking changes: while a live snapshot or the vGPU
     * holds it, its region sizes stay as they are. */
    if (!partition_writes_claim(p, MIGRATION, err, err_size))
        return false;
    src.claimed = true;
    struct write_track t;
    partition_writes_stats(p, &t);
    src.group_pages = 1u << (t.group_shift - 12);
    memset(src.hashes, 0, src.hash_alloc * 4096);
    /* Until round 0's learning passes fit a region (or lend it a neighbour's size), its
     * faults open the tracking's own groups: its map is then exact, and its group is
     * fitted to it (mig_learn.h). */
    mig_learn_init(&src.learning, src.sizes, src.region_count, src.group_pages);
    for (size_t i = 0; i < src.region_count; i++) {
        src.regions[i] = (struct region){ 0 };
        partition_writes_set_region_pages(p, i, src.sizes[i].group_pages);
    }
    src.group_words = write_track_words(p->mem.size, src.group_pages);
    src.bitmap_pages = (src.group_words * 8 + 4095) / 4096;
    src.groups = kmem_alloc_pages(src.bitmap_pages);
    src.more = kmem_alloc_pages(src.bitmap_pages);
    if (!src.groups || !src.more || !src.group_words) {
        fmt_snprintf(err, err_size, "out of memory");
        return false;
    }
    return true;
}

static void begin_round(uint32_t round)
{
    struct write_track t;
    partition_writes_stats(src.p, &t);
    src.round = round;
    src.cursor = 0;
    src.round_told = false;
    src.round_ns = time_ns();
    src.r_sent = src.r_zero = src.r_batches = src.r_unchanged = 0;
    memset(src.r_codec, 0, sizeof(src.r_codec));
    src.skipped += src.r_skipped;
    src.r_skipped = 0;
    for (size_t i = 0; i < src.region_count; i++)
        src.regions[i].sent = src.regions[i].unchanged = 0;
    src.r_wire0 = src.ch.wire_bytes;
    src.r_faults0 = t.faults;
}

/* In a pre-copy round, a page written again since this round's pass goes in the next
 * round (or stop-and-copy) anyway: sent now, it would be sent twice, the second time often
 * unchanged.  In round 0, so does a page the learning pass saw written. */
static bool written_again(uint64_t page)
{
    if (src.stage != S_ROUNDS)
        return false;
    if (src.carry) {
        uint64_t g = page / src.group_pages;
        if (src.groups[g / 64] >> (g % 64) & 1)
            return true;
    }
    return partition_writes_written(src.p, page * MIG_PAGE_SIZE);
}

/* Up to MIG_BATCH_PAGES pages of this round from the cursor on: their numbers into pfn. */
static uint32_t next_pages(uint32_t *pfn)
{
    uint32_t n = 0;
    while (n < MIG_BATCH_PAGES && src.cursor < src.ram_pages) {
        uint64_t g = src.cursor / src.group_pages;
        if (src.all || (src.groups[g / 64] >> (g % 64) & 1)) {
            if (written_again(src.cursor)) {
                src.r_skipped++;
                src.cursor++;
                continue;
            }
            pfn[n++] = (uint32_t)src.cursor++;
        } else {
            src.cursor = (g + 1) * src.group_pages;
        }
    }
    return n;
}

/* Queues the next batch of this round; false when the round has no pages left. */
static bool queue_batch(void)
{
    uint32_t pfn[MIG_BATCH_PAGES];
    uint32_t n = next_pages(pfn);
    if (!n)
        return false;
    uint64_t before = src.r_unchanged;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *page = src.gather + i * MIG_PAGE_SIZE;
        memcpy(page, guest_mem_ptr(&src.p->mem, (uint64_t)pfn[i] * MIG_PAGE_SIZE), MIG_PAGE_SIZE);
        /* counted only: a page is sent even when its hash says it is unchanged, so that a
         * collision can never lose a write */
        bool same = mig_page_sent(&src.hashes[pfn[i]], page);
        struct region *r = &src.regions[pfn[i] / MIG_REGION_PAGES];
        r->sent++;
        r->unchanged += same;
        src.r_unchanged += same;
    }
    if (src.round > 0) {
        src.later_sent += n;
        src.later_unchanged += src.r_unchanged - before;
    }
    enum mig_codec k = mig_choice_next(&src.choice);
    struct mig_batch b;
    uint64_t t0 = time_ns();
    size_t len = mig_batch_encode(src.codec, mig_codec_level(k), pfn, n, src.gather,
                                  mig_chan_payload(&src.ch), &b);
    if (k != MIG_RAW && b.raw_len)
        mig_choice_codec(&src.choice, k, b.raw_len, b.data_len, time_ns() - t0);
    mig_chan_queue(&src.ch, MIG_MSG_PAGES, (uint32_t)len);
    src.measuring = true;
    src.queued_ns = time_ns();
    src.queued_len = MIG_HEADER_SIZE + len;
    src.r_sent += n;
    src.r_zero += snap_mask_pages(b.zero_mask);
    src.r_batches++;
    src.r_codec[k]++;
    src.sent_total += n;
    return true;
}

/* The written groups since the last pass into src.groups (or ORed in); dirty pages. */
static uint64_t harvest(bool accumulate)
{
    uint64_t *out = accumulate ? src.more : src.groups;
    partition_writes_pass(src.p, out);
    uint64_t groups = 0;
    for (size_t i = 0; i < src.group_words; i++) {
        if (accumulate)
            src.groups[i] |= src.more[i];
        groups += popcount64(src.groups[i]);
    }
    uint64_t pages = groups * src.group_pages;
    return pages < src.ram_pages ? pages : src.ram_pages;
}

static void sizes_line(char *out, size_t size, const uint32_t sizes[7])
{
    fmt_snprintf(out, size, "1:%u 2:%u 4:%u 8:%u 16:%u 32:%u 64:%u", sizes[0], sizes[1],
                 sizes[2], sizes[3], sizes[4], sizes[5], sizes[6]);
}

static void set_region_pages(void *ctx, size_t region, uint32_t pages)
{
    partition_writes_set_region_pages(ctx, region, pages);
}

/* Round 0's learning passes (mig_learn.h), every MIGRATE_LEARN_NS until they settle, and
 * one at its end, on the map of round 0 so far (src.groups, each pass adding to it).  The
 * map stays in src.groups for round 0's end to add to (those pages were written, perhaps
 * after round 0 sent them).  The first pass says what it did. */
static void learn(void)
{
    uint64_t after_ms = (time_ns() - src.round_ns) / 1000000;
    uint64_t written = harvest(src.carry);
    uint64_t group_count = (src.ram_pages + src.group_pages - 1) / src.group_pages;
    bool first = !src.learning.passes;
    mig_learn_pass(&src.learning, src.sizes, src.region_count, src.groups, group_count,
                   src.group_pages, set_region_pages, src.p);
    src.carry = true;
    src.learn_ns = time_ns();
    if (!first)
        return;
    uint32_t sizes[7] = { 0 };
    for (size_t i = 0; i < src.region_count; i++)
        sizes[mig_group_index(src.sizes[i].group_pages)]++;
    char h[64], d[200];
    sizes_line(h, sizeof(h), sizes);
    fmt_snprintf(d, sizeof(d), "round 0: learning pass after %lu ms: %lu pages written, group "
                 "sizes fitted by region %s", after_ms, written, h);
    say("migrate: %s: to %s: %s", d);
}

static void report_round(void)
{
    struct write_track t;
    partition_writes_stats(src.p, &t);
    char d[256];
    fmt_snprintf(d, sizeof(d), "round %u: sent %lu pages (%lu zero; %lu written again, left to "
                 "the next round), dirty %lu pages, faults %lu, groups of %u pages, wire %lu "
                 "bytes, batches raw %lu, lz4-accel %lu, lz4 %lu of %lu", src.round, src.r_sent,
                 src.r_zero, src.r_skipped, src.r_dirty,
                 t.faults - src.r_faults0, src.group_pages, src.ch.wire_bytes - src.r_wire0,
                 src.r_codec[MIG_RAW], src.r_codec[MIG_LZ4_ACCEL], src.r_codec[MIG_LZ4],
                 src.r_batches);
    say("migrate: %s: to %s: %s", d);
}

/* Each region's group size for the next round, from the runs of written groups its pass
 * found and the pages it sent, applied to write tracking: its next faults that continue a
 * run open up to that many pages (never fewer than the tracking's own groups).  Counts of
 * regions by size into sizes (1, 2, 4 .. 64 pages). */
static void decide_groups(uint32_t sizes[7])
{
    memset(sizes, 0, 7 * sizeof(uint32_t));
    if (src.round == 0 && src.learning.passes) {    /* its learning passes decided */
        for (size_t i = 0; i < src.region_count; i++)
            sizes[mig_group_index(src.sizes[i].group_pages)]++;
        return;
    }
    uint64_t group_count = (src.ram_pages + src.group_pages - 1) / src.group_pages;
    for (size_t i = 0; i < src.region_count; i++) {
        struct region *reg = &src.regions[i];
        struct mig_region_round r;
        mig_region_scan(src.groups, group_count, src.group_pages, i * MIG_REGION_PAGES, &r);
        r.sent = reg->sent;
        r.unchanged = reg->unchanged;
        struct mig_region_size *size = &src.sizes[i];
        uint32_t next = mig_group_next(size->group_pages, &r);
        if (next < src.group_pages)
            next = src.group_pages;
        if (next != size->group_pages)
            partition_writes_set_region_pages(src.p, i, next);
        size->group_pages = (uint8_t)next;
        sizes[mig_group_index(size->group_pages)]++;
    }
}

static void report_convergence(uint32_t next_throttle)
{
    struct write_track t;
    partition_writes_stats(src.p, &t);
    uint32_t sizes[7];
    decide_groups(sizes);
    uint32_t now = mig_throttle_permille(src.throttle), next = mig_throttle_permille(next_throttle);
    char d[240];
    fmt_snprintf(d, sizeof(d), "round %u: faults %lu, pages sent %lu, sent unchanged %lu, "
                 "throttle %u.%u%% (next %u.%u%%), group sizes decided by region "
                 "1:%u 2:%u 4:%u 8:%u 16:%u 32:%u 64:%u", src.round, t.faults - src.r_faults0,
                 src.r_sent, src.r_unchanged, now / 10, now % 10, next / 10, next % 10,
                 sizes[0], sizes[1], sizes[2], sizes[3], sizes[4], sizes[5], sizes[6]);
    say("migrate: %s: to %s: %s", d);
}

static uint32_t ram_crc(const struct guest_mem *m)
{
    uint32_t crc = 0;
    for (uint64_t gpa = 0; gpa < m->size; gpa += MIG_PAGE_SIZE)
        crc = crc32c(crc, guest_mem_ptr(m, gpa), MIG_PAGE_SIZE);
    return crc;
}

/* The round's pages are all queued: report it, then another round or stop-and-copy. */
static bool end_round(char *err, size_t err_size)
{
    src.all = false;
    if (src.round == 0) {
        learn();
        mig_learn_end(&src.learning, src.sizes, src.region_count, src.group_pages,
                      set_region_pages, src.p);
    }
    src.r_dirty = harvest(src.carry);
    src.carry = false;
    report_round();
    bool more = src.r_dirty > MIGRATE_STOP_PAGES && src.round + 1 < MIGRATE_MAX_ROUNDS;
    uint32_t next = more ? mig_throttle_next(src.throttle, src.r_dirty, src.r_sent) : 0;
    report_convergence(next);
    if (more) {
        src.throttle = next;
        sched_throttle(src.p, mig_throttle_permille(next));
        begin_round(src.round + 1);
        return true;
    }
    char d[160];
    if (src.r_dirty <= MIGRATE_STOP_PAGES)
        fmt_snprintf(d, sizeof(d), "converged after round %u: dirty %lu pages, at most %u",
                     src.round, src.r_dirty, MIGRATE_STOP_PAGES);
    else
        fmt_snprintf(d, sizeof(d), "did not converge: round limit (%u rounds), dirty %lu "
                     "pages, above %u", MIGRATE_MAX_ROUNDS, src.r_dirty, MIGRATE_STOP_PAGES);
    say("migrate: %s: to %s: %s", d);
    /* Disk requests in flight are cancelled, not waited for: the target starts them again
     * from the state (virtio_blk_cancel); the pause then waits only for pieces already at
     * the pool disk. */
    src.cancelled = true;
    src.cancelled_count = partition_disks_cancel(src.p);
    if (!partition_pause(src.p, &src.at, err, err_size))
        return false;
    src.paused = true;
    src.pause_ns = time_ns();
    src.pause_halted = lapic_halted_tsc();
    sched_throttle(NULL, 0);            /* paused now: the throttle has done its work */
    partition_console_flush(src.p, true);
    harvest(true);
    begin_round(src.round + 1);
    src.stage = S_STOP_COPY;
    return true;
}

/* The last pages are queued: the state follows. */
static bool queue_state(char *err, size_t err_size)
{
    struct partition *p = src.p;
    src.last_pages = src.r_sent;
    src.ram_crc = ram_crc(&p->mem);
    struct checkpoint_saved st = { 0 };
    if (!checkpoint_save_stream(p, &src.at, src.ram_crc, &st, err, err_size))
        return false;
    struct mig_state ms = { .guest_tsc0 = src.at.host_tsc + p->vcpus[0]->msrs.tsc_offset,
                            .ram_crc = src.ram_crc, .stream = st.stream,
                            .stream_len = (uint32_t)st.len };
    size_t len = st.len < MIG_MAX_PAYLOAD ? mig_state_encode(&ms, mig_chan_payload(&src.ch),
                                                             src.ch.tx_cap - MIG_HEADER_SIZE)
                                          : 0;
    checkpoint_saved_free(&st);
    if (!len) {
        fmt_snprintf(err, err_size, "its state stream (%lu bytes) is too large", st.len);
        return false;
    }
    char d[160];
    fmt_snprintf(d, sizeof(d), "stop-and-copy: paused, RAM crc32c 0x%08x, last %lu pages, "
                 "state %lu bytes", src.ram_crc, src.r_sent, (unsigned long)len);
    say("migrate: %s: to %s: %s", d);
    fmt_snprintf(d, sizeof(d), "stop-and-copy: %u disk request%s in flight cancelled here, "
                 "for the target to start again", src.cancelled_count,
                 src.cancelled_count == 1 ? "" : "s");
    say("migrate: %s: to %s: %s", d);
    mig_chan_queue(&src.ch, MIG_MSG_STATE, (uint32_t)len);
    src.stage = S_DONE_WAIT;
    return true;
}

static bool queue_hello(struct partition *p, char *err, size_t err_size)
{
    static char manifest[MANIFEST_MAX];
    size_t mlen = manifest_section_text(p->manifest_index, manifest, sizeof(manifest));
    if (!mlen) {
        fmt_snprintf(err, err_size, "its manifest section is missing or too long");
        return false;
    }
    struct mig_hello h = { .version = MIG_VERSION, .ram_bytes = p->mem.size,
                           .vcpus = p->vcpu_count, .manifest = manifest,
                           .manifest_len = (uint32_t)mlen };
    strlcpy(h.name, p->name, sizeof(h.name));
    size_t len = mig_hello_encode(&h, mig_chan_payload(&src.ch), src.ch.tx_cap - MIG_HEADER_SIZE);
    mig_chan_queue(&src.ch, MIG_MSG_HELLO, (uint32_t)len);
    return len != 0;
}

bool migrate_start(struct partition *p, const char *host, char *msg, size_t msg_size)
{
    uint32_t ip;
    uint16_t port;
    char err[160];
    if (src.stage != S_IDLE) {
        fmt_snprintf(msg, msg_size, "migrate: %s: refused: partition %s is migrating now",
                     p->name, src.name);
        kprintf("%s\n", msg);
        return false;
    }
    memset(&src, 0, sizeof(src));
    src.p = p;
    strlcpy(src.name, p->name, sizeof(src.name));
    strlcpy(src.host, host, sizeof(src.host));
    const char *why = NULL;
    if (p->state != PART_RUNNING)
        why = "it is not running";
    else if (!mig_parse_host(host, &ip, &port))
        why = "the host is not A.B.C.D[:PORT]";
    else if (!migrate_transport)
        why = "the network service is not up";
    if (why) {
        fmt_snprintf(msg, msg_size, "migrate: %s: to %s: refused: %s", p->name, host, why);
        kprintf("%s\n", msg);
        return false;
    }
    void *s = migrate_transport->connect(ip, port, err, sizeof(err));
    bool ok = s && mig_chan_open(&src.ch, migrate_transport, s, MIG_MAX_PAYLOAD, 512);
    if (s && !ok) {
        migrate_transport->close(s);
        fmt_snprintf(err, sizeof(err), "out of memory");
    }
    ok = ok && setup(p, err, sizeof(err)) && queue_hello(p, err, sizeof(err));
    if (!ok) {
        fail(err);
        fmt_snprintf(msg, msg_size, "%s", src.last);
        return false;
    }
    mig_choice_init(&src.choice);
    src.stage = S_READY;
    fmt_snprintf(msg, msg_size, "migrate: %s: to %s: started", src.name, src.host);
    kprintf("%s\n", msg);
    strlcpy(src.last, msg, sizeof(src.last));
    return true;
}

/* After the acknowledgement: the downtime, the pages sent again unchanged, the codecs. */
static void report_done(void)
{
    uint64_t ns = time_ns() - src.pause_ns;
    uint64_t ticks = ns * (tsc_hz() / 1000000) / 1000;
    uint64_t halted = lapic_halted_tsc() - src.pause_halted;
    char d[220];
    fmt_snprintf(d, sizeof(d), "downtime: %lu guest TSC ticks (%lu.%03lu ms) from the pause to "
                 "the acknowledgement, %lu of them not halted (emulated instructions under "
                 "Bochs); stop-and-copy %lu pages after %u pre-copy rounds", ticks,
                 ns / 1000000, ns / 1000 % 1000, ticks > halted ? ticks - halted : 0,
                 src.last_pages, src.round);
    say("migrate: %s: to %s: %s", d);
    uint64_t permille = src.later_sent ? src.later_unchanged * 1000 / src.later_sent : 0;
    struct write_track t;
    partition_writes_stats(src.p, &t);
    fmt_snprintf(d, sizeof(d), "after round 0: %lu pages sent, %lu of them unchanged "
                 "(%lu.%lu%%); %lu pages left to a later round, written again before their "
                 "turn; %lu write faults in all", src.later_sent, src.later_unchanged,
                 permille / 10, permille % 10, src.skipped + src.r_skipped,
                 t.faults - src.faults0);
    say("migrate: %s: to %s: %s", d);
    const uint64_t *c = src.choice.chose;
    uint64_t all = c[MIG_RAW] + c[MIG_LZ4_ACCEL] + c[MIG_LZ4];
    uint64_t ram = src.sent_total * MIG_PAGE_SIZE;
    uint64_t took_ms = (time_ns() - src.start_ns) / 1000000;
    uint64_t wire_pm = ram ? src.ch.wire_bytes * 1000 / ram : 0;
    fmt_snprintf(d, sizeof(d), "codecs chosen: raw %lu, lz4-accel %lu, lz4 %lu of %lu batches; "
                 "wire %lu bytes for %lu bytes of guest pages (%lu.%03lu), %lu KiB/s of guest pages "
                 "in all", c[MIG_RAW], c[MIG_LZ4_ACCEL], c[MIG_LZ4], all, src.ch.wire_bytes,
                 ram, wire_pm / 1000, wire_pm % 1000,
                 took_ms ? ram / 1024 * 1000 / took_ms : 0);
    say("migrate: %s: to %s: %s", d);
}

/* One step: 1 go on, 0 wait for the link, -1 failed (err). */
static int step(char *err, size_t err_size)
{
    int s = mig_chan_send(&src.ch, err, err_size);
    if (s < 0)
        return -1;
    if (s == 0)
        return 0;
    if (src.measuring) {
        mig_choice_link(&src.choice, src.queued_len, time_ns() - src.queued_ns);
        src.measuring = false;
    }
    struct mig_header h;
    const uint8_t *pl;
    struct mig_reply r;
    int got;
    switch (src.stage) {
    case S_READY:
    case S_DONE_WAIT:
        got = mig_chan_recv(&src.ch, &h, &pl, err, err_size);
        if (got <= 0)
            return got;
        if (h.type != (src.stage == S_READY ? MIG_MSG_READY : MIG_MSG_DONE) ||
            mig_reply_decode(pl, h.length, &r, err, err_size)) {
            if (h.type != MIG_MSG_READY && h.type != MIG_MSG_DONE)
                fmt_snprintf(err, err_size, "the target sent message type %u", h.type);
            return -1;
        }
        mig_chan_consume(&src.ch);
        if (r.status != MIG_OK) {
            fmt_snprintf(err, err_size, "the target says: %s", r.text);
            return -1;
        }
        if (src.stage == S_READY) {
            begin_round(0);
            src.start_ns = src.learn_ns = src.round_ns;
            src.faults0 = src.r_faults0;
            src.all = true;
            harvest(false);             /* round 0 sends everything written before it */
            src.stage = S_ROUNDS;
            return 1;
        }
        src.paused = false;
        char d[200];
        fmt_snprintf(d, sizeof(d), "done: the target resumed it, RAM crc32c 0x%08x (%s); "
                     "stopped here", r.ram_crc, r.ram_crc == src.ram_crc ? "equal" : "DIFFERENT");
        say("migrate: %s: to %s: %s", d);
        report_done();
        partition_stop(src.p, "migrated to %s", src.host);
        release();
        return 0;
    case S_ROUNDS:
    case S_STOP_COPY:
        if (src.round == 0 && mig_learn_due(&src.learning) &&
            time_ns() - src.learn_ns >= MIGRATE_LEARN_NS)
            learn();
        if (queue_batch())
            return 1;
        if (!src.round_told) {
            size_t n = mig_round_encode(src.round, (uint32_t)src.r_sent,
                                        mig_chan_payload(&src.ch), 8);
            mig_chan_queue(&src.ch, MIG_MSG_ROUND, (uint32_t)n);
            src.round_told = true;
            return 1;
        }
        if (src.stage == S_ROUNDS)
            return end_round(err, err_size) ? 1 : -1;
        return queue_state(err, err_size) ? 1 : -1;
    default:
        return 0;
    }
}

bool migrate_source_poll(void)
{
    if (src.stage == S_IDLE)
        return false;
    char err[200];
    if (src.p->state == PART_DEAD) {
        fail("the partition ended during the migration");
        return false;
    }
    uint64_t end = time_ns() + POLL_BUDGET_NS;
    int r;
    do {
        r = step(err, sizeof(err));
    } while (r > 0 && time_ns() < end);
    if (r < 0) {
        fail(err);
        return false;
    }
    if (src.stage != S_IDLE && mig_chan_stalled(&src.ch)) {
        fail("the link has moved nothing for 60 s");
        return false;
    }
    return src.stage != S_IDLE;
}

bool migrate_sending(const struct partition *p)
{
    return src.stage != S_IDLE && src.p == p;
}

void migrate_get_progress(struct migrate_progress *out)
{
    memset(out, 0, sizeof(*out));
    out->active = src.stage != S_IDLE;
    strlcpy(out->stage, stage_names[src.stage], sizeof(out->stage));
    strlcpy(out->last, src.last, sizeof(out->last));
    if (!out->active)
        return;
    out->round = src.round;
    out->ram_pages = src.ram_pages;
    out->pages_sent = src.sent_total;
    out->dirty_pages = src.r_dirty;
    out->pages_left = src.cursor < src.ram_pages ? src.ram_pages - src.cursor : 0;
    out->wire_bytes = src.ch.wire_bytes;
    out->link_bps = src.choice.link_ns ? src.choice.link_bytes * 1000000000ull /
                                         src.choice.link_ns : 0;
}

bool migrate_poll(void)
{
    bool a = migrate_source_poll();
    bool b = migrate_target_poll();
    return a || b;
}
