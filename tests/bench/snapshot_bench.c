/*
 * RAM snapshot pipeline bench (issue: RAM snapshots, "Measured"): real threads run the
 * portable pipeline (hv/snapshot) into a simulated disk that writes at a set rate, and the
 * time until the last byte is durable is compared between the adaptive policy and every
 * fixed level, same run, same RAM image.
 *
 * usage: snapshot-bench [--quick] [--csv FILE] VMLINUX INITRD_GZ
 *
 * Images: "linux" is a stand-in for a booted Debian partition until snapshots exist to
 * take a real RAM image from (Debian's vmlinux and its unpacked initramfs, the rest of
 * 64 MiB zero pages); "random" is 32 MiB that does not compress.  Disks: 2000 MB/s, 100
 * MB/s, and one that drops from 2000 to 100 MB/s when half the blocks are written.
 * Each row: ours = adaptive seconds to durable, anchor = the best fixed level's, ratio =
 * ours / anchor (lower is better; below 1 the adaptive policy beat every fixed level).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv/snapshot/snap_pipeline.h"

#define QUEUE_CAPACITY (4u << 20)       /* bytes the simulated write queue holds */
#define MB 1000000.0

struct disk_spec {
    const char *name;
    double first_rate, second_rate;     /* bytes per second, before and after half */
};

struct queued_block {
    uint32_t len;
    double arrival;
};

struct sim_disk {
    pthread_mutex_t lock;
    pthread_cond_t room, work;
    struct queued_block *ring;
    unsigned ring_cap, head, count;
    uint64_t queued_bytes, written_bytes, written_blocks, half_blocks;
    double first_rate, second_rate;
    double busy_until;                  /* when the disk finishes what it has taken */
    bool done_producing;
    double durable_at;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
    struct timespec ts = { (time_t)t, (long)((t - (double)(time_t)t) * 1e9) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static uint64_t sink_queued(void *ctx)
{
    struct sim_disk *d = ctx;
    return __atomic_load_n(&d->queued_bytes, __ATOMIC_RELAXED);
}

static bool sink_put(void *ctx, uint64_t index, const struct snap_encoded *e, const uint8_t *data)
{
    (void)index;
    (void)data;                         /* the simulated disk needs only the length */
    struct sim_disk *d = ctx;
    uint32_t len = e->len + 16;         /* a block header on disk */
    pthread_mutex_lock(&d->lock);
    while (d->queued_bytes + len > QUEUE_CAPACITY && d->count)
        pthread_cond_wait(&d->room, &d->lock);
    d->ring[(d->head + d->count) % d->ring_cap] = (struct queued_block){ len, now_s() };
    d->count++;
    __atomic_store_n(&d->queued_bytes, d->queued_bytes + len, __ATOMIC_RELAXED);
    pthread_cond_signal(&d->work);
    pthread_mutex_unlock(&d->lock);
    return true;
}

/* The disk: each block takes len / rate after it arrives and the disk is free; the block
 * stays queued (counted in the depth the workers read) until the disk is done with it. */
static void *disk_thread(void *arg)
{
    struct sim_disk *d = arg;
    pthread_mutex_lock(&d->lock);
    for (;;) {
        while (!d->count && !d->done_producing)
            pthread_cond_wait(&d->work, &d->lock);
        if (!d->count)
            break;
        struct queued_block b = d->ring[d->head];
        double rate = d->written_blocks < d->half_blocks ? d->first_rate : d->second_rate;
        double start = b.arrival > d->busy_until ? b.arrival : d->busy_until;
        d->busy_until = start + b.len / rate;
        pthread_mutex_unlock(&d->lock);
        sleep_until(d->busy_until);
        pthread_mutex_lock(&d->lock);
        d->head = (d->head + 1) % d->ring_cap;
        d->count--;
        d->written_bytes += b.len;
        d->written_blocks++;
        __atomic_store_n(&d->queued_bytes, d->queued_bytes - b.len, __ATOMIC_RELAXED);
        pthread_cond_broadcast(&d->room);
    }
    d->durable_at = d->busy_until;
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

struct run_result {
    double seconds;
    uint64_t written, zero_pages, blocks, data_blocks;
    uint64_t at_level[SNAP_LEVELS];
};

struct worker_arg {
    struct snap_worker w;
    struct snap_scan *scan;
    struct snap_sink *sink;
};

static void *worker_thread(void *arg)
{
    struct worker_arg *a = arg;
    snap_worker_run(&a->w, a->scan, a->sink);
    return NULL;
}

/* adaptive: level < 0; otherwise that fixed level. */
static struct run_result run_once(const uint8_t *ram, uint64_t size, const struct disk_spec *ds,
                                  unsigned workers, int level)
{
    struct sim_disk d = { .first_rate = ds->first_rate, .second_rate = ds->second_rate,
                          .half_blocks = size / SNAP_BLOCK_SIZE / 2, .ring_cap = 4096 };
    pthread_mutex_init(&d.lock, NULL);
    pthread_cond_init(&d.room, NULL);
    pthread_cond_init(&d.work, NULL);
    d.ring = calloc(d.ring_cap, sizeof(*d.ring));
    struct snap_scan scan;
    snap_scan_init(&scan, ram, size);
    struct snap_sink sink = { &d, QUEUE_CAPACITY, sink_queued, sink_put };
    struct worker_arg args[8];
    pthread_t disk, th[8];
    double t0 = now_s();
    d.busy_until = t0;
    pthread_create(&disk, NULL, disk_thread, &d);
    for (unsigned i = 0; i < workers; i++) {
        memset(&args[i], 0, sizeof(args[i]));
        args[i].scan = &scan;
        args[i].sink = &sink;
        args[i].w.codec_state = aligned_alloc(64, (snap_codec_state_size() + 63) / 64 * 64);
        args[i].w.out = malloc(SNAP_ENCODED_MAX);
        if (level < 0)
            snap_policy_init(&args[i].w.policy, SNAP_LZ4);
        else
            snap_policy_fixed(&args[i].w.policy, (enum snap_level)level);
        pthread_create(&th[i], NULL, worker_thread, &args[i]);
    }
    struct run_result r = { 0 };
    for (unsigned i = 0; i < workers; i++) {
        pthread_join(th[i], NULL);
        r.zero_pages += args[i].w.zero_pages;
        r.blocks += args[i].w.blocks;
        r.data_blocks += args[i].w.blocks - args[i].w.zero_blocks;
        for (unsigned l = 0; l < SNAP_LEVELS; l++)
            r.at_level[l] += args[i].w.at_level[l];
        free(args[i].w.codec_state);
        free(args[i].w.out);
    }
    pthread_mutex_lock(&d.lock);
    d.done_producing = true;
    pthread_cond_signal(&d.work);
    pthread_mutex_unlock(&d.lock);
    pthread_join(disk, NULL);
    r.seconds = d.durable_at - t0;
    r.written = d.written_bytes;
    free(d.ring);
    return r;
}

static uint8_t *load_linux_image(const char *vmlinux, const char *initrd, uint64_t size)
{
    uint8_t *ram = calloc(1, size);
    FILE *f = fopen(vmlinux, "rb");
    if (!ram || !f) {
        fprintf(stderr, "snapshot-bench: cannot read %s\n", vmlinux);
        exit(2);
    }
    size_t n = fread(ram, 1, size / 2, f);
    fclose(f);
    n = (n + 4095) & ~(size_t)4095;
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "gzip -dc '%s'", initrd);
    FILE *p = popen(cmd, "r");
    if (p) {
        n += fread(ram + n, 1, size - n, p);
        pclose(p);
    }
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

static void level_mix(char *out, size_t cap, const uint64_t *at, uint64_t blocks)
{
    size_t used = 0;
    out[0] = 0;
    for (unsigned l = 0; l < SNAP_LEVELS; l++)
        if (at[l])
            used += (size_t)snprintf(out + used, cap - used, "%s%s %.0f%%", used ? ", " : "",
                                     snap_level_name((enum snap_level)l),
                                     100.0 * (double)at[l] / (double)blocks);
}

int main(int argc, char **argv)
{
    bool quick = false;
    const char *csv_path = NULL;
    int a = 1;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (!strcmp(argv[a], "--quick"))
            quick = true;
        else if (!strcmp(argv[a], "--csv") && a + 1 < argc)
            csv_path = argv[++a];
        else if (!strcmp(argv[a], "--help")) {
            printf("usage: snapshot-bench [--quick] [--csv FILE] VMLINUX INITRD_GZ\n");
            return 0;
        } else {
            fprintf(stderr, "snapshot-bench: unknown option %s (try --help)\n", argv[a]);
            return 2;
        }
    }
    if (argc - a != 2) {
        fprintf(stderr, "usage: snapshot-bench [--quick] [--csv FILE] VMLINUX INITRD_GZ\n");
        return 2;
    }
    struct { const char *name; uint8_t *ram; uint64_t size; } images[] = {
        { "linux", load_linux_image(argv[a], argv[a + 1], 64ull << 20), 64ull << 20 },
        { "random", random_image(32ull << 20), 32ull << 20 },
    };
    static const struct disk_spec disks[] = {
        { "2000MB/s", 2000 * MB, 2000 * MB },
        { "100MB/s", 100 * MB, 100 * MB },
        { "2000->100MB/s", 2000 * MB, 100 * MB },
    };
    static const unsigned worker_counts[] = { 1, 2, 4 };
    FILE *csv = csv_path ? fopen(csv_path, "w") : NULL;
    if (csv)
        fprintf(csv, "image,disk,workers,policy,seconds,bytes_written,ram_bytes,zero_pages\n");
    for (size_t im = 0; im < sizeof(images) / sizeof(images[0]); im++) {
        for (size_t di = 0; di < sizeof(disks) / sizeof(disks[0]); di++) {
            for (size_t wi = 0; wi < (quick ? 1 : 3); wi++) {
                unsigned workers = worker_counts[wi];
                struct run_result fixed[SNAP_LEVELS], adaptive;
                int best = 0;
                for (int l = 0; l < SNAP_LEVELS; l++) {
                    fixed[l] = run_once(images[im].ram, images[im].size, &disks[di], workers,
                                        l);
                    if (fixed[l].seconds < fixed[best].seconds)
                        best = l;
                }
                adaptive = run_once(images[im].ram, images[im].size, &disks[di], workers, -1);
                char name[64], mix[160];
                snprintf(name, sizeof(name), "snapshot %s, %s, %u worker%s (s)",
                         images[im].name, disks[di].name, workers, workers > 1 ? "s" : "");
                level_mix(mix, sizeof(mix), adaptive.at_level, adaptive.data_blocks);
                printf("%-44s %16.3f %16.3f %7.2fx\n", name, adaptive.seconds,
                       fixed[best].seconds, adaptive.seconds / fixed[best].seconds);
                printf("  best fixed %s; fixed:", snap_level_name((enum snap_level)best));
                for (int l = 0; l < SNAP_LEVELS; l++)
                    printf(" %s %.3f", snap_level_name((enum snap_level)l), fixed[l].seconds);
                printf("\n  adaptive mix (blocks with data): %s; written %.1f%% of RAM (best fixed %.1f%%); zero "
                       "pages %.1f%%; plain copy of RAM at this disk's rate %.3f s\n", mix,
                       100.0 * (double)adaptive.written / (double)images[im].size,
                       100.0 * (double)fixed[best].written / (double)images[im].size,
                       100.0 * (double)adaptive.zero_pages * SNAP_PAGE_SIZE /
                           (double)images[im].size,
                       (double)images[im].size / disks[di].first_rate * 0.5 +
                       (double)images[im].size / disks[di].second_rate * 0.5);
                if (csv) {
                    for (int l = 0; l <= SNAP_LEVELS; l++) {
                        const struct run_result *r = l < SNAP_LEVELS ? &fixed[l] : &adaptive;
                        fprintf(csv, "%s,%s,%u,%s,%.4f,%llu,%llu,%llu\n", images[im].name,
                                disks[di].name, workers,
                                l < SNAP_LEVELS ? snap_level_name((enum snap_level)l) : "adaptive",
                                r->seconds, (unsigned long long)r->written,
                                (unsigned long long)images[im].size,
                                (unsigned long long)r->zero_pages);
                    }
                }
                fflush(stdout);
            }
        }
    }
    if (csv)
        fclose(csv);
    return 0;
}
