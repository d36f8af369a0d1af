/*
 * RAM snapshot pipeline bench (issue: RAM snapshots, "Measured"): real threads run the
 * portable pipeline (hv/snapshot) into a simulated disk that writes at a set rate, and the
 * time until the last byte is durable is compared between the adaptive policy, every
 * fixed level and a plain copy of RAM to the same disk.
 *
 * usage: snapshot-bench [--quick] [--rounds N] [--only TEXT] [--csv FILE] [--trace DIR]
 *                       DEBIAN_RAM
 *
 * Images: "debian" is real memory, the RAM of Debian's kernel booted to its shell and in
 * the middle of writing files, extracted (tools/snapshot extract) from the snapshot that
 * the scenario bochs-grub-snapshot-linux-disk takes and keeps (the make rule in
 * hv/snapshot/snapshot.mk makes DEBIAN_RAM, running that scenario once when the snapshot
 * is missing); when DEBIAN_RAM is missing the bench says so in one line and runs without
 * it.  "random" is 32 MiB that does not compress.  Disks: 2000 MB/s, 100 MB/s, and one
 * that drops from 2000 to 100 MB/s when half the blocks have been written.  Workers: 1,
 * 2, 4 (on a 2-core machine 4 oversubscribe it).
 *
 * The disk is virtual: a block put on the queue is given the time the disk would finish
 * it (after the blocks before it, at the rate of the moment), and it counts in the queue's
 * depth until then; a worker finding the queue full sleeps until enough has finished.  No
 * thread stands for the disk, so the disk needs no CPU (a real one does its own DMA), and
 * time to durable is the finish time of the last block.
 *
 * The ways (the adaptive policy, each fixed level, the plain copy) run interleaved: each
 * round (7 by default) runs every way once per configuration, in an order that changes
 * each round (which way runs first, and which runs after which: WAYS is prime, and the
 * stride through the ways changes too), and the rows give medians over the rounds, so that other processes on the
 * machine slow all ways alike.  After 2 rounds a way whose fastest run is over twice the
 * slowest run of the best fixed level so far runs no more (it cannot be the anchor; the
 * LZ4HC levels take seconds where the others take milliseconds).  Each row: ours = the
 * adaptive policy's median ms to durable, anchor = the best fixed level's median, ratio =
 * ours / anchor (below 1: adaptive beat every fixed level).  Notes under the table give,
 * per row, every way's median, spread and number of runs, the ratio round by round (each
 * round's adaptive run over the best fixed level's run of the same round: the median of
 * those, which other work on the machine shifts less), the bytes each way wrote, the
 * queue's mean depth and the disk's idle time by tenth of the blocks put (the adaptive run
 * and the best fixed level's run closest to their medians), the level mix the adaptive
 * workers chose, the CPU time per level, the share of zero pages and the time against the
 * plain copy.  The workers' count is in the sink, so the policy knows how many feed the
 * queue, and so is each worker thread's CPU clock, by which the policy prices its levels
 * (with SNAP_WALL_CLOCK set in the environment it is left out, and the policy prices them
 * by wall time, preemption included).  With ADAPTIVE_IS_STORE set in the environment the
 * adaptive way runs fixed storing instead: the rows then show the bench's own noise on the
 * fast disk (the anchor there is storing).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>

#include "hv/snapshot/snap_pipeline.h"
#include "tests/bench/bench_cli.h"

#define QUEUE_CAPACITY (4u << 20)       /* bytes the simulated write queue holds */
#define BLOCK_HEADER   16u              /* a block record's header on disk */
#define MB 1000000.0
#define MAX_WORKERS 8
#define MAX_ROUNDS 31
#define WAY_ADAPTIVE SNAP_LEVELS
#define WAY_COPY (SNAP_LEVELS + 1)
#define WAYS (SNAP_LEVELS + 2)
#define PROFILE 10                      /* the depth profile: tenths of the blocks put */
#define PRUNE_AFTER 2                   /* rounds every way runs */
#define PRUNE_FACTOR 2.0

struct disk_spec {
    const char *name;                   /* MB/s */
    double first_rate, second_rate;     /* bytes per second, before and after half */
};

/* ---- the virtual disk ---- */

struct pending {
    double done_at;
    uint32_t len;
};

struct vdisk {
    pthread_mutex_t lock;
    struct pending *ring;               /* blocks not finished, oldest first */
    unsigned ring_cap, head, count;
    uint64_t queued_bytes, drained_bytes, started_blocks, half_blocks;
    double first_rate, second_rate;
    double busy_until;                  /* when the disk finishes the last block it took */
    double idle;                        /* seconds the disk waited for a block */
    double t0;
    uint32_t header;                    /* bytes added to every block on disk */
    uint64_t blocks;                    /* the image's blocks: for the profile's tenths */
    double depth_sum[PROFILE], idle_at[PROFILE];    /* by tenth of the blocks put */
    unsigned depth_n[PROFILE];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
    struct timespec ts = { (time_t)t, (long)((t - (double)(time_t)t) * 1e9) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* Drops the blocks finished by `now`; called with the lock held. */
static void vdisk_retire(struct vdisk *d, double now)
{
    while (d->count && d->ring[d->head].done_at <= now) {
        d->queued_bytes -= d->ring[d->head].len;
        d->drained_bytes += d->ring[d->head].len;
        d->head = (d->head + 1) % d->ring_cap;
        d->count--;
    }
}

static uint64_t sink_queued(void *ctx)
{
    struct vdisk *d = ctx;
    pthread_mutex_lock(&d->lock);
    vdisk_retire(d, now_s());
    uint64_t q = d->queued_bytes;
    pthread_mutex_unlock(&d->lock);
    return q;
}

static uint64_t sink_drained(void *ctx)
{
    struct vdisk *d = ctx;
    pthread_mutex_lock(&d->lock);
    vdisk_retire(d, now_s());
    uint64_t n = d->drained_bytes;
    pthread_mutex_unlock(&d->lock);
    return n;
}

static uint64_t sink_now_ns(void *ctx)
{
    (void)ctx;
    return (uint64_t)(now_s() * 1e9);
}

/* The worker thread's own CPU time: what the policy prices its rungs by. */
static uint64_t sink_cpu_ns(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Per thread: the worker it runs and its trace, for sink_put to record the block. */
struct trace_rec {
    float t_ms, queued_kib, encode_us, cpu_us, idle_us;
    uint8_t worker, tried, used;
    uint32_t raw, len;
};

struct worker_arg {
    struct snap_worker w;
    struct snap_scan *scan;
    struct snap_sink *sink;
    unsigned id;
    bool copy;                          /* the plain copy: every block raw, zero pages too */
    double cpu_mark;                    /* thread CPU time at the last put */
    double cpu_at[SNAP_LEVELS];         /* thread CPU seconds by the level chosen */
    struct trace_rec *trace;            /* NULL: not traced */
    uint64_t traced, trace_cap;
};

static __thread struct worker_arg *self;

static bool sink_put(void *ctx, uint64_t index, const struct snap_encoded *e, const uint8_t *data)
{
    (void)index;
    (void)data;                         /* the virtual disk needs only the length */
    struct vdisk *d = ctx;
    uint32_t len = e->len + d->header;
    double cpu = thread_cpu_s();
    if (self && e->raw_len && !self->copy)
        self->cpu_at[self->w.last_tried] += cpu - self->cpu_mark;
    pthread_mutex_lock(&d->lock);
    double now = now_s();
    vdisk_retire(d, now);
    if (self && self->trace && self->traced < self->trace_cap)
        self->trace[self->traced++] = (struct trace_rec){
            .t_ms = (float)((now - d->t0) * 1e3), .queued_kib = (float)d->queued_bytes / 1024.0f,
            .encode_us = (float)self->w.last_ns / 1e3f,
            .cpu_us = (float)((cpu - self->cpu_mark) * 1e6), .worker = (uint8_t)self->id,
            .tried = (uint8_t)self->w.last_tried, .used = (uint8_t)e->level,
            .raw = e->raw_len, .len = e->len };
    while (d->queued_bytes + len > QUEUE_CAPACITY && d->count) {
        /* sleep until the oldest blocks that make room have finished */
        uint64_t freed = 0;
        unsigned i = 0;
        while (i < d->count - 1 && d->queued_bytes - freed + len > QUEUE_CAPACITY)
            freed += d->ring[(d->head + i++) % d->ring_cap].len;
        double until = d->ring[(d->head + i) % d->ring_cap].done_at;
        pthread_mutex_unlock(&d->lock);
        sleep_until(until);
        pthread_mutex_lock(&d->lock);
        now = now_s();
        vdisk_retire(d, now);
    }
    double rate = d->started_blocks < d->half_blocks ? d->first_rate : d->second_rate;
    double start = now > d->busy_until ? now : d->busy_until;
    d->idle += start - d->busy_until;
    unsigned tenth = (unsigned)(d->started_blocks * PROFILE / (d->blocks ? d->blocks : 1));
    tenth = tenth < PROFILE ? tenth : PROFILE - 1;
    d->depth_sum[tenth] += (double)d->queued_bytes;
    d->depth_n[tenth]++;
    d->idle_at[tenth] += start - d->busy_until;
    if (self && self->trace && self->traced)
        self->trace[self->traced - 1].idle_us = (float)((start - d->busy_until) * 1e6);
    d->busy_until = start + len / rate;
    d->ring[(d->head + d->count) % d->ring_cap] = (struct pending){ d->busy_until, len };
    d->count++;
    d->started_blocks++;
    d->queued_bytes += len;
    pthread_mutex_unlock(&d->lock);
    if (self)
        self->cpu_mark = thread_cpu_s();
    return true;
}

/* ---- one run ---- */

struct run_result {
    bool ran;
    double seconds, idle;
    double depth_pct[PROFILE], idle_ms[PROFILE];    /* the queue's mean fill, disk idle */
    uint64_t written, zero_pages, data_blocks;
    uint64_t at_level[SNAP_LEVELS], tried[SNAP_LEVELS];
    double cpu_at[SNAP_LEVELS];
};

static void copy_worker(struct worker_arg *a)
{
    uint64_t i;
    struct snap_encoded e = { .level = SNAP_STORE, .raw_len = SNAP_BLOCK_SIZE,
                              .len = SNAP_BLOCK_SIZE };
    while (snap_scan_take(a->scan, &i)) {
        memcpy(a->w.out, a->scan->ram + i * SNAP_BLOCK_SIZE, SNAP_BLOCK_SIZE);
        a->sink->put(a->sink->ctx, i, &e, a->w.out);
        a->w.blocks++;
    }
}

static void *worker_thread(void *arg)
{
    struct worker_arg *a = arg;
    self = a;
    a->cpu_mark = thread_cpu_s();
    if (a->copy)
        copy_worker(a);
    else
        snap_worker_run(&a->w, a->scan, a->sink);
    self = NULL;
    return NULL;
}

static const char *trace_dir;

static void write_trace(const char *config, struct worker_arg *args, unsigned workers)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s.csv", trace_dir, config);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "snapshot-bench: %s: %s\n", path, strerror(errno));
        return;
    }
    fprintf(f, "t_ms,worker,queued_kib,tried,used,raw,len,encode_us,cpu_us,disk_idle_us\n");
    for (unsigned w = 0; w < workers; w++)
        for (uint64_t i = 0; i < args[w].traced; i++) {
            const struct trace_rec *r = &args[w].trace[i];
            fprintf(f, "%.3f,%u,%.0f,%s,%s,%u,%u,%.1f,%.1f,%.1f\n", r->t_ms, r->worker,
                    r->queued_kib, snap_level_name((enum snap_level)r->tried),
                    snap_level_name((enum snap_level)r->used), r->raw, r->len, r->encode_us,
                    r->cpu_us, r->idle_us);
        }
    fclose(f);
}

/* way: a fixed level, WAY_ADAPTIVE or WAY_COPY; trace_name: write a trace under it. */
static struct run_result run_once(const uint8_t *ram, uint64_t size, const struct disk_spec *ds,
                                  unsigned workers, unsigned way, const char *trace_name)
{
    uint64_t blocks = size / SNAP_BLOCK_SIZE;
    struct vdisk d = { .first_rate = ds->first_rate, .second_rate = ds->second_rate,
                       .half_blocks = blocks / 2, .ring_cap = (unsigned)blocks + 1,
                       .blocks = blocks,
                       .header = way == WAY_COPY ? 0 : BLOCK_HEADER };
    pthread_mutex_init(&d.lock, NULL);
    d.ring = calloc(d.ring_cap, sizeof(*d.ring));
    struct snap_scan scan;
    snap_scan_init(&scan, ram, size);
    struct snap_sink sink = { .ctx = &d, .capacity = QUEUE_CAPACITY, .queued = sink_queued,
                              .put = sink_put, .drained = sink_drained, .now_ns = sink_now_ns,
                              .cpu_ns = getenv("SNAP_WALL_CLOCK") ? NULL : sink_cpu_ns,
                              .workers = workers };
    struct worker_arg args[MAX_WORKERS];
    pthread_t th[MAX_WORKERS];
    for (unsigned i = 0; i < workers; i++) {
        memset(&args[i], 0, sizeof(args[i]));
        args[i].scan = &scan;
        args[i].sink = &sink;
        args[i].id = i;
        args[i].copy = way == WAY_COPY;
        args[i].w.codec_state = aligned_alloc(64, (snap_codec_state_size() + 63) / 64 * 64);
        args[i].w.out = malloc(SNAP_ENCODED_MAX);
        memset(args[i].w.out, 0, SNAP_ENCODED_MAX);
        if (way == WAY_ADAPTIVE && getenv("ADAPTIVE_IS_STORE"))
            snap_policy_fixed(&args[i].w.policy, SNAP_STORE);
        else if (way == WAY_ADAPTIVE)
            snap_policy_init(&args[i].w.policy, SNAP_LZ4);
        else
            snap_policy_fixed(&args[i].w.policy, way < SNAP_LEVELS ? (enum snap_level)way
                                                                   : SNAP_STORE);
        if (trace_name) {
            args[i].trace_cap = blocks;
            args[i].trace = calloc(blocks, sizeof(*args[i].trace));
        }
    }
    d.t0 = now_s();
    d.busy_until = d.t0;
    for (unsigned i = 0; i < workers; i++)
        pthread_create(&th[i], NULL, worker_thread, &args[i]);
    struct run_result r = { .ran = true };
    for (unsigned i = 0; i < workers; i++) {
        pthread_join(th[i], NULL);
        r.zero_pages += args[i].w.zero_pages;
        r.data_blocks += args[i].w.blocks - args[i].w.zero_blocks;
        for (unsigned l = 0; l < SNAP_LEVELS; l++) {
            r.at_level[l] += args[i].w.at_level[l];
            r.tried[l] += args[i].w.tried[l];
            r.cpu_at[l] += args[i].cpu_at[l];
        }
    }
    for (unsigned t = 0; t < PROFILE; t++) {
        r.depth_pct[t] = d.depth_n[t] ? 100.0 * d.depth_sum[t] / d.depth_n[t] / QUEUE_CAPACITY : 0;
        r.idle_ms[t] = d.idle_at[t] * 1e3;
    }
    r.seconds = d.busy_until - d.t0;
    r.idle = d.idle;
    r.written = d.queued_bytes + d.drained_bytes;
    if (trace_name)
        write_trace(trace_name, args, workers);
    for (unsigned i = 0; i < workers; i++) {
        free(args[i].w.codec_state);
        free(args[i].w.out);
        free(args[i].trace);
    }
    free(d.ring);
    pthread_mutex_destroy(&d.lock);
    return r;
}

/* ---- images ---- */

/* The raw RAM image at path, read whole (its pages touched, as a guest's are), or NULL with
 * why in `why`. */
static uint8_t *load_ram_image(const char *path, uint64_t *size, char *why, size_t why_size)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &st)) {
        snprintf(why, why_size, "%s", strerror(errno));
        if (f)
            fclose(f);
        return NULL;
    }
    uint64_t n = (uint64_t)st.st_size;
    if (!n || n % SNAP_BLOCK_SIZE) {
        snprintf(why, why_size, "%llu bytes, not a non-zero multiple of %u",
                 (unsigned long long)n, SNAP_BLOCK_SIZE);
        fclose(f);
        return NULL;
    }
    uint8_t *ram = malloc(n);
    if (!ram || fread(ram, 1, n, f) != n) {
        snprintf(why, why_size, "%s", ram ? "short read" : "out of memory");
        free(ram);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *size = n;
    return ram;
}

static uint8_t *random_image(uint64_t size)
{
    uint8_t *ram = malloc(size);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (uint64_t i = 0; i < size; i += 8) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        memcpy(ram + i, &x, 8);
    }
    return ram;
}

/* ---- statistics and output ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct stats {
    double median, min, max;
};

static struct stats stats_of(const double *v, unsigned n)
{
    double s[MAX_ROUNDS];
    memcpy(s, v, n * sizeof(*v));
    qsort(s, n, sizeof(*s), cmp_double);
    return (struct stats){ n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2, s[0], s[n - 1] };
}

static const char *way_name(unsigned way)
{
    if (way == WAY_ADAPTIVE)
        return "adaptive";
    return way == WAY_COPY ? "copy" : snap_level_name((enum snap_level)way);
}

static void level_mix(char *out, size_t cap, const uint64_t *at, uint64_t blocks)
{
    size_t used = 0;
    out[0] = 0;
    for (unsigned l = 0; l < SNAP_LEVELS && used < cap; l++)
        if (at[l])
            used += (size_t)snprintf(out + used, cap - used, "%s%s %.0f%%", used ? " " : "",
                                     snap_level_name((enum snap_level)l),
                                     100.0 * (double)at[l] / (double)(blocks ? blocks : 1));
}

struct config {
    const char *image;
    const uint8_t *ram;
    uint64_t size;
    const struct disk_spec *disk;
    unsigned workers;
    char name[64], label[64];           /* the row's name; a short label for notes, files */
    struct run_result r[MAX_ROUNDS][WAYS];
};

/* The rounds a way ran in (a way pruned after PRUNE_AFTER rounds ran fewer), their times. */
static unsigned way_seconds(const struct config *c, unsigned way, unsigned rounds, double *secs)
{
    unsigned n = 0;
    for (unsigned k = 0; k < rounds; k++)
        if (c->r[k][way].ran)
            secs[n++] = c->r[k][way].seconds;
    return n;
}

/* The round whose run of `way` is closest to the median: it stands for that way's mix,
 * bytes, CPU and profile. */
static unsigned median_round(const struct config *c, unsigned way, unsigned rounds, double median)
{
    unsigned mid = 0;
    double best = -1;
    for (unsigned k = 0; k < rounds; k++) {
        double dist = c->r[k][way].seconds - median;
        if (c->r[k][way].ran && (best < 0 || dist * dist < best)) {
            best = dist * dist;
            mid = k;
        }
    }
    return mid;
}

/* Whether `way` (a fixed level or the copy) has lost so clearly that it need not run again:
 * after PRUNE_AFTER rounds, its fastest run is PRUNE_FACTOR times the slowest run of the
 * fixed level with the best median so far.  It then cannot be the anchor. */
static bool pruned(const struct config *c, unsigned way, unsigned rounds_done)
{
    if (way == WAY_ADAPTIVE || rounds_done < PRUNE_AFTER)
        return false;
    double secs[MAX_ROUNDS];
    unsigned best = WAYS;
    double best_median = 0, best_max = 0;
    for (unsigned w = 0; w < SNAP_LEVELS; w++) {
        unsigned n = way_seconds(c, w, rounds_done, secs);
        struct stats st = stats_of(secs, n);
        if (best == WAYS || st.median < best_median) {
            best = w;
            best_median = st.median;
            best_max = st.max;
        }
    }
    unsigned n = way_seconds(c, way, rounds_done, secs);
    return way != best && stats_of(secs, n).min > PRUNE_FACTOR * best_max;
}

static void report(struct config *c, unsigned rounds, FILE *csv)
{
    double secs[WAYS][MAX_ROUNDS];
    struct stats st[WAYS];
    unsigned runs[WAYS];
    for (unsigned w = 0; w < WAYS; w++) {
        runs[w] = way_seconds(c, w, rounds, secs[w]);
        st[w] = stats_of(secs[w], runs[w]);
    }
    unsigned best = 0;
    for (unsigned w = 1; w < SNAP_LEVELS; w++)
        if (st[w].median < st[best].median)
            best = w;
    /* the adaptive run closest to the median stands for the level mix and CPU */
    unsigned mid = median_round(c, WAY_ADAPTIVE, rounds, st[WAY_ADAPTIVE].median);
    const struct run_result *a = &c->r[mid][WAY_ADAPTIVE];
    const struct run_result *b = &c->r[median_round(c, best, rounds, st[best].median)][best];
    printf("%-44s %10.2f ms %10.2f ms %8.3fx\n", c->name, st[WAY_ADAPTIVE].median * 1e3,
           st[best].median * 1e3, st[WAY_ADAPTIVE].median / st[best].median);
    char line[512];
    size_t n = (size_t)snprintf(line, sizeof(line), "  %s: ms median (min-max, runs):", c->label);
    for (unsigned w = 0; w < WAYS && n < sizeof(line); w++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, " %s%s %.1f (%.1f-%.1f, %u)",
                              w == best ? "*" : "", way_name(w), st[w].median * 1e3,
                              st[w].min * 1e3, st[w].max * 1e3, runs[w]);
    puts(line);
    n = (size_t)snprintf(line, sizeof(line), "  %s: adaptive / each way:", c->label);
    for (unsigned w = 0; w < WAYS && n < sizeof(line); w++)
        if (w != WAY_ADAPTIVE)
            n += (size_t)snprintf(line + n, sizeof(line) - n, " %s %.3fx", way_name(w),
                                  st[WAY_ADAPTIVE].median / st[w].median);
    n += (size_t)snprintf(line + n, sizeof(line) - n, "; written / RAM:");
    for (unsigned w = 0; w < WAYS && n < sizeof(line); w++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, " %s %.1f%%", way_name(w),
                              100.0 * (double)c->r[median_round(c, w, rounds, st[w].median)][w]
                                          .written / (double)c->size);
    puts(line);
    /* the same ratio round by round: each round's adaptive run against the best fixed
     * level's run of that round (minutes of other work on the machine shift both) */
    double paired[MAX_ROUNDS];
    unsigned np = 0;
    for (unsigned k = 0; k < rounds; k++)
        if (c->r[k][WAY_ADAPTIVE].ran && c->r[k][best].ran)
            paired[np++] = c->r[k][WAY_ADAPTIVE].seconds / c->r[k][best].seconds;
    if (np) {
        struct stats ps = stats_of(paired, np);
        printf("  %s: adaptive / %s round by round: median %.3fx (%.3f-%.3f, %u rounds)\n",
               c->label, way_name(best), ps.median, ps.min, ps.max, np);
    }
    for (unsigned pass = 0; pass < 2; pass++) {
        const struct run_result *r = pass ? b : a;
        n = (size_t)snprintf(line, sizeof(line), "  %s: %s by tenth of the blocks: queue %% full",
                             c->label, pass ? way_name(best) : "adaptive");
        for (unsigned t = 0; t < PROFILE && n < sizeof(line); t++)
            n += (size_t)snprintf(line + n, sizeof(line) - n, " %.0f", r->depth_pct[t]);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "; disk idle ms");
        for (unsigned t = 0; t < PROFILE && n < sizeof(line); t++)
            n += (size_t)snprintf(line + n, sizeof(line) - n, " %.1f", r->idle_ms[t]);
        puts(line);
    }
    char mix[160], cpu[200];
    level_mix(mix, sizeof(mix), a->tried, a->data_blocks);
    n = 0;
    cpu[0] = 0;
    for (unsigned l = 0; l < SNAP_LEVELS && n < sizeof(cpu); l++)
        if (a->tried[l])
            n += (size_t)snprintf(cpu + n, sizeof(cpu) - n, "%s%s %.1f (%.0f us/block)",
                                  n ? " " : "", snap_level_name((enum snap_level)l),
                                  a->cpu_at[l] * 1e3, a->cpu_at[l] * 1e6 / (double)a->tried[l]);
    printf("  %s: adaptive chose %s; CPU ms by level %s; written %.1f%% of RAM (best fixed "
           "%.1f%%, copy 100%%); disk idle %.1f ms (best fixed %.1f); zero pages %.1f%%; "
           "vs copy %.2fx\n", c->label, mix, cpu,
           100.0 * (double)a->written / (double)c->size,
           100.0 * (double)b->written / (double)c->size, a->idle * 1e3, b->idle * 1e3,
           100.0 * (double)a->zero_pages * SNAP_PAGE_SIZE / (double)c->size,
           st[WAY_ADAPTIVE].median / st[WAY_COPY].median);
    if (csv)
        for (unsigned w = 0; w < WAYS; w++) {
            const struct run_result *r = &c->r[median_round(c, w, rounds, st[w].median)][w];
            fprintf(csv, "%s,%s,%u,%s,%.5f,%.5f,%.5f,%llu,%llu,%llu\n", c->image, c->disk->name,
                    c->workers, way_name(w), st[w].median, st[w].min, st[w].max,
                    (unsigned long long)r->written, (unsigned long long)c->size,
                    (unsigned long long)r->zero_pages);
        }
    fflush(stdout);
}

static const char usage[] =
    "usage: snapshot-bench [--quick] [--rounds N] [--only TEXT] [--csv FILE] [--trace DIR]\n"
    "                      DEBIAN_RAM\n"
    "\n"
    "RAM snapshots: real threads run the snapshot pipeline (hv/snapshot) into a simulated\n"
    "disk (2000 MB/s, 100 MB/s, 2000 then 100 MB/s from half the blocks) with 1, 2 and 4\n"
    "workers; the time until the last byte is durable with the adaptive policy (ours)\n"
    "against the best fixed level (the anchor), every way's median over interleaved rounds.\n"
    "Images: DEBIAN_RAM (the RAM of Debian's kernel, build/bench/debian-ram.img; when it\n"
    "cannot be read, a note says so and only the other is measured) and 32 MiB of random\n"
    "data.  Rows in ms (lower is better), notes per row.\n"
    "\n"
    "  --quick       1 round, 1 worker\n"
    "  --rounds N    N rounds, 1 to 31 (default 7)\n"
    "  --only TEXT   only the configurations whose row name or label holds TEXT\n"
    "  --csv FILE    per configuration and way: seconds (median, min, max), bytes written\n"
    "  --trace DIR   the first round's adaptive picks, one CSV per configuration\n"
    "  --help        this text\n"
    "  --version     the version\n"
    "\n"
    "Environment: SNAP_WALL_CLOCK (the policy prices levels by wall time), ADAPTIVE_IS_STORE\n"
    "(the adaptive way stores: the bench's own noise).\n";

/* The value of the option at argv[*a], which then moves past it. */
static const char *option_value(int argc, char **argv, int *a)
{
    if (*a + 1 >= argc) {
        fprintf(stderr, "snapshot-bench: %s takes a value\n", argv[*a]);
        bench_cli_usage_error("snapshot-bench", usage, NULL);
    }
    return argv[++*a];
}

int main(int argc, char **argv)
{
    bool quick = false;
    unsigned rounds = 7;
    const char *csv_path = NULL, *only = NULL;
    int a = 1;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (!strcmp(argv[a], "--quick")) {
            quick = true;
        } else if (!strcmp(argv[a], "--rounds")) {
            rounds = (unsigned)atoi(option_value(argc, argv, &a));
            if (rounds < 1 || rounds > MAX_ROUNDS) {
                fprintf(stderr, "snapshot-bench: --rounds takes 1 to %u\n", MAX_ROUNDS);
                return 2;
            }
        } else if (!strcmp(argv[a], "--only")) {
            only = option_value(argc, argv, &a);
        } else if (!strcmp(argv[a], "--csv")) {
            csv_path = option_value(argc, argv, &a);
        } else if (!strcmp(argv[a], "--trace")) {
            trace_dir = option_value(argc, argv, &a);
            mkdir(trace_dir, 0777);
        } else if (!bench_cli_option("snapshot-bench", usage, argv[a])) {
            break;                      /* "-": DEBIAN_RAM */
        }
    }
    if (argc - a != 1)
        bench_cli_usage_error("snapshot-bench", usage, NULL);
    if (quick)
        rounds = 1;
    prctl(PR_SET_TIMERSLACK, 1UL);      /* wake the workers when the disk makes room */
    struct { const char *name; uint8_t *ram; uint64_t size; } images[2];
    unsigned nimages = 0;
    char why[200];
    uint64_t debian_size = 0;
    uint8_t *debian = load_ram_image(argv[a], &debian_size, why, sizeof(why));
    if (debian)
        images[nimages++] = (typeof(images[0])){ "debian", debian, debian_size };
    else
        printf(" no Debian RAM image (%s: %s): only the random image is measured; make "
               "%s runs bochs-grub-snapshot-linux-disk to take one\n", argv[a], why, argv[a]);
    images[nimages++] = (typeof(images[0])){ "random", random_image(32ull << 20), 32ull << 20 };
    static const struct disk_spec disks[] = {
        { "2000", 2000 * MB, 2000 * MB },
        { "100", 100 * MB, 100 * MB },
        { "2000->100", 2000 * MB, 100 * MB },
    };
    static const unsigned worker_counts[] = { 1, 2, 4 };
    enum { NCONFIGS = 2 * 3 * 3 };
    static struct config configs[NCONFIGS];
    unsigned nc = 0;
    for (size_t im = 0; im < nimages; im++)
        for (size_t di = 0; di < 3; di++)
            for (size_t wi = 0; wi < (quick ? 1u : 3u); wi++) {
                struct config *c = &configs[nc];
                memset(c, 0, sizeof(*c));
                c->image = images[im].name;
                c->ram = images[im].ram;
                c->size = images[im].size;
                c->disk = &disks[di];
                c->workers = worker_counts[wi];
                snprintf(c->name, sizeof(c->name), "snap time %s %sMBps %u worker%s",
                         c->image, c->disk->name, c->workers, c->workers > 1 ? "s" : "");
                snprintf(c->label, sizeof(c->label), "%s-%s-%uw", c->image,
                         di == 2 ? "2000to100" : c->disk->name, c->workers);
                if (!only || strstr(c->name, only) || strstr(c->label, only))
                    nc++;
            }
    for (unsigned k = 0; k < rounds; k++)
        for (unsigned i = 0; i < nc; i++) {
            struct config *c = &configs[i];
            for (unsigned j = 0; j < WAYS; j++) {
                /* no way always runs first, nor always after the same way (after the
                 * LZ4HC levels' seconds of CPU the machine gives the next run less) */
                unsigned way = (j * (1 + (k + i) % (WAYS - 1)) + k + i) % WAYS;
                if (pruned(c, way, k))
                    continue;
                c->r[k][way] = run_once(c->ram, c->size, c->disk, c->workers, way,
                                        trace_dir && k == 0 && way == WAY_ADAPTIVE ? c->label
                                                                                   : NULL);
            }
        }
    FILE *csv = csv_path ? fopen(csv_path, "w") : NULL;
    if (csv)
        fprintf(csv, "image,disk_mbps,workers,way,seconds_median,seconds_min,seconds_max,"
                     "bytes_written,ram_bytes,zero_pages\n");
    for (unsigned i = 0; i < nc; i++)
        report(&configs[i], rounds, csv);
    printf("  (ms to durable; %u rounds, ways interleaved; a way whose fastest run is over "
           "%.1f times the best fixed level's slowest after %u rounds runs no more; * = best "
           "fixed level; copy = every RAM block written raw, zero pages too)\n", rounds,
           PRUNE_FACTOR, PRUNE_AFTER);
    if (csv)
        fclose(csv);
    return 0;
}
