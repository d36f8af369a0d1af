/*
 * Guest request latency while a merge runs on the guest's disk (issue 14): an idle disk,
 * a merge unthrottled, a merge throttled; goal: throttled p99 within 2x of idle.
 *
 * Host-side, with the kernel's code for everything but the hardware: the disk's block
 * queue (hv/storage/block.c: GUEST class weight 64 against BACKGROUND's 8, deficit
 * round-robin), the merge job (hv/storage/disk_job.c on a differencing VHDX on real files,
 * each step one 1 MiB unit ending with the parent flushed), its token bucket
 * (hv/storage/rate_limit.c, taken before a step is queued, as disk_ops.c's next_step) and
 * the disk's worker, which runs one request at a time to its end (as partition_disks.c's
 * item runs a piece done under the pool's lock).  READY finishes the job there and then
 * (the partition's pause: the requests behind it wait).  The guest is simulated: an open
 * loop of 4 KiB requests at fixed arrival times (70% reads, 30% writes, random over the
 * disk, a flush after every 16th write), each write noted to the job as the disk path
 * does.  Time is virtual: the worker's clock advances by the thread CPU time each request
 * takes (CLOCK_THREAD_CPUTIME_ID, system time included), and jumps to the next arrival
 * or token when the queue is empty, so the figures hold on a loaded machine; the files
 * are on tmpfs, so the device is memory and a flush costs nothing: what is measured is
 * how the queue and the job's steps delay the guest, not a disk's latency.  Latency =
 * completion - arrival on that clock (not a Bochs guest's TSC: the emulator's time is its
 * instruction count, no measure of a disk); only requests that arrive while the job runs
 * count (all of them on the idle disk).
 *
 *   disk-merge-bench WORKDIR [--quick]
 * Prints `NAME OURS ANCHOR RATIO` rows (microseconds; anchor: the idle disk).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hv/storage/block.h"
#include "hv/storage/disk_job.h"
#include "hv/storage/rate_limit.h"
#include "tests/bench/bench_cli.h"
#include "tests/bench/bench_dir.h"
#include "tools/vhdx/vhdx_file.h"

#define NAME "disk-merge-bench"

#define MIB          (1ull << 20)
#define DISK_BYTES   (256 * MIB)
#define REQ_BYTES    4096u
#define SECTOR       512u
#define GUEST_DEPTH  64u
#define MAX_SAMPLES  200000u

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t vt;     /* the worker's virtual clock, ns */

/* Charges the CPU time since *mark to the virtual clock. */
static void charge(uint64_t *mark)
{
    uint64_t now = cpu_ns();
    vt += now - *mark;
    *mark = now;
}

static void die(const char *what, const struct vhdx_err *err)
{
    fprintf(stderr, NAME ": %s: %s\n", what, err ? err->msg : "failed");
    exit(1);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

/* ---- the images: a parent with 64 MiB of data, a child holding 96 MiB of its own ---- */

static void fill_random(uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = next_rand();
        memcpy(b + i, &v, 8);
    }
}

static struct vhdx *create_image(const char *path, struct vhdx *parent, struct vhdx_io *io)
{
    struct vhdx_err err;
    if (vhdx_file_open(path, true, true, io))
        die(path, NULL);
    struct vhdx_create_params p = { .disk_size = DISK_BYTES, .block_size = parent ? MIB : 0,
                                    .parent = parent, .parent_relative_path = "parent.vhdx" };
    if (vhdx_create(&vhdx_host_env, io, &p, &err))
        die("create", &err);
    struct vhdx *d;
    if (vhdx_open(&vhdx_host_env, io, path, 0, &d, &err))
        die("open", &err);
    return d;
}

static void make_templates(const char *dir)
{
    char pp[512], cp[512];
    snprintf(pp, sizeof(pp), "%s/t/parent.vhdx", dir);
    snprintf(cp, sizeof(cp), "%s/t/child.vhdx", dir);
    uint8_t *buf = malloc(MIB);
    struct vhdx_io pio, cio;
    struct vhdx_err err;
    struct vhdx *p = create_image(pp, NULL, &pio);
    for (uint64_t u = 0; u < DISK_BYTES / MIB; u += 4) {       /* every 4th MiB */
        fill_random(buf, MIB);
        if (vhdx_write(p, u * MIB, buf, MIB, &err))
            die("write parent", &err);
    }
    vhdx_close(p, NULL);
    vhdx_file_close(&pio);
    struct vhdx *ro;
    if (vhdx_host_open(pp, VHDX_OPEN_READ_ONLY, &ro, &pio, &err))
        die("reopen parent", &err);
    struct vhdx *c = create_image(cp, ro, &cio);
    vhdx_host_close(ro, &pio, NULL);
    for (uint64_t u = 0; u < DISK_BYTES / MIB; u++)            /* 3 MiB of every 8 */
        if (u % 8 < 3) {
            fill_random(buf, MIB);
            if (vhdx_write(c, u * MIB + (u % 3) * 4096, buf, MIB - 16384, &err))
                die("write child", &err);
        }
    vhdx_close(c, NULL);
    vhdx_file_close(&cio);
    free(buf);
}

/* IN to OUT as `cp` copies: 4 KiB of zeros left a hole.  0, or -1 with errno. */
static int copy_sparse(int in, int out)
{
    static uint8_t buf[MIB], zero[4096];
    off_t at = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n <= 0)
            return n < 0 ? -1 : ftruncate(out, at);
        ssize_t run = 0;                /* where the blocks not zero since the last hole start */
        for (ssize_t i = 0; i < n + 4096; i += 4096) {
            ssize_t end = i < n ? i : n;
            if (i < n && memcmp(buf + i, zero, (size_t)(n - i < 4096 ? n - i : 4096)))
                continue;
            if (end > run && pwrite(out, buf + run, (size_t)(end - run), at + run) != end - run)
                return -1;
            run = i + 4096;
        }
        at += n;
    }
}

/* DIR/t/NAME to DIR/NAME. */
static void copy_template(const char *dir, const char *name)
{
    char from[512], to[512];
    snprintf(from, sizeof(from), "%s/t/%s", dir, name);
    snprintf(to, sizeof(to), "%s/%s", dir, name);
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (in < 0 || out < 0 || copy_sparse(in, out) || close(out)) {
        fprintf(stderr, NAME ": copying %s to %s: %s\n", from, to, strerror(errno));
        exit(1);
    }
    close(in);
}

/* ---- the disk: its queue, the worker running each request to its end ---------------- */

struct guest_req {
    struct block_request br;
    uint64_t arrival_ns, done_ns;
    bool used;
    uint8_t buf[REQ_BYTES];
};

struct sim {
    struct block_device dev;
    struct vhdx *child;
    struct disk_job *job;
    bool job_over;
    uint64_t finish_held_ns;
    struct block_request step;
    bool step_inflight;
    struct guest_req g[GUEST_DEPTH];
    uint64_t *lat;
    unsigned nlat;
    bool counting;
    unsigned dropped;           /* arrivals with no free request: the guest's queue full */
};

static uint8_t step_token;

static bool worker_start(struct block_device *d, struct block_request *r)
{
    struct sim *s = d->driver;
    struct vhdx_err err;
    int rc = 0;
    uint64_t mark = cpu_ns();
    if (r->cls == BLOCK_CLASS_BACKGROUND) {
        int st = disk_job_step(s->job, DISK_JOB_UNIT, &err);
        if (st == DISK_JOB_READY) {             /* the pause: the guest waits behind it */
            uint64_t t0 = vt;
            charge(&mark);
            st = disk_job_finish(s->job, &err);
            charge(&mark);
            s->finish_held_ns = vt - t0;
        }
        if (st < 0)
            die("merge step", &err);
        s->job_over = st == DISK_JOB_DONE || st == DISK_JOB_CANCELLED;
    } else if (r->op == BLOCK_READ) {
        rc = vhdx_read(s->child, r->lba * SECTOR, r->buf, REQ_BYTES, &err);
    } else if (r->op == BLOCK_WRITE) {
        rc = vhdx_write(s->child, r->lba * SECTOR, r->buf, REQ_BYTES, &err);
        if (s->job)
            disk_job_note_write(s->job, r->lba * SECTOR, REQ_BYTES);
    } else {
        rc = vhdx_flush(s->child, &err);
    }
    if (rc)
        die("guest request", &err);
    charge(&mark);
    if (r->cls == BLOCK_CLASS_GUEST)
        ((struct guest_req *)r->ctx)->done_ns = vt;
    block_complete(d, r, BLOCK_OK);
    return true;
}

static const struct block_driver_ops worker_ops = { worker_start, NULL };

static struct sim *sim_of_guest; /* the done callbacks' */

static void guest_done(struct block_request *r, int status)
{
    struct guest_req *g = r->ctx;
    struct sim *s = sim_of_guest;
    if (s->counting && s->nlat < MAX_SAMPLES)
        s->lat[s->nlat++] = g->done_ns - g->arrival_ns;
    g->used = false;
}

static void step_done(struct block_request *r, int status)
{
    ((struct sim *)r->ctx)->step_inflight = false;
}

static void guest_arrival(struct sim *s, uint64_t arrival, unsigned i)
{
    struct guest_req *g = NULL;
    for (unsigned k = 0; k < GUEST_DEPTH && !g; k++)
        if (!s->g[k].used)
            g = &s->g[k];
    if (!g) {
        s->dropped++;
        return;
    }
    uint64_t x = next_rand();
    enum block_op op = x % 10 < 7 ? BLOCK_READ : (i % 17 == 16 ? BLOCK_FLUSH : BLOCK_WRITE);
    g->used = true;
    g->arrival_ns = arrival;
    g->br = (struct block_request){
        .op = op, .cls = BLOCK_CLASS_GUEST,
        .lba = (x >> 8) % (DISK_BYTES / REQ_BYTES) * (REQ_BYTES / SECTOR),
        .count = op == BLOCK_FLUSH ? 0 : REQ_BYTES / SECTOR, .buf = g->buf,
        .done = guest_done, .ctx = g,
    };
    if (op == BLOCK_WRITE)
        memset(g->buf, (int)(i & 0xff), REQ_BYTES);
    if (block_submit(&s->dev, &g->br))
        g->used = false, s->dropped++;
}

/*
 * One row: the templates copied, the child opened with its parent writable, the merge
 * (mbps 0: unthrottled; -1: no merge) running while the guest sends a request every
 * interval_ns; latencies of what arrives while the job runs (at most window_ns).
 */
static void run(const char *dir, int mbps, uint64_t interval_ns, uint64_t window_ns,
                struct sim *s, uint64_t *merged_ms)
{
    char cp[512];
    copy_template(dir, "parent.vhdx");
    copy_template(dir, "child.vhdx");
    sync();
    snprintf(cp, sizeof(cp), "%s/child.vhdx", dir);
    struct vhdx_io io;
    struct vhdx_err err;
    uint64_t *lat = s->lat;
    unsigned nlat = s->nlat;        /* a row of several runs adds to its samples */
    memset(s, 0, sizeof(*s));
    s->lat = lat, s->nlat = nlat;
    sim_of_guest = s;
    if (vhdx_host_open(cp, VHDX_OPEN_PARENT_RW, &s->child, &io, &err))
        die("open child", &err);
    s->dev = (struct block_device){ .sector_size = SECTOR, .sectors = DISK_BYTES / SECTOR,
                                    .max_sectors = DISK_JOB_UNIT / SECTOR, .ops = &worker_ops,
                                    .driver = s };
    snprintf(s->dev.name, sizeof(s->dev.name), "bench");
    block_device_init(&s->dev);
    block_set_limit(&s->dev, BLOCK_CLASS_GUEST, GUEST_DEPTH);
    struct rate_limit rl;
    vt = 0;
    rate_limit_init(&rl, 0, mbps > 0 ? (uint64_t)mbps * MIB : 0, vt);
    if (mbps >= 0) {
        struct disk_job_params jp = { .op = DISK_JOB_MERGE, .src = s->child,
                                      .ready_dirty_units = 2 };
        if (disk_job_start(&jp, &s->job, &err))
            die("merge start", &err);
    }
    uint64_t next = 0;
    unsigned i = 0;
    s->counting = true;
    for (;;) {
        bool job_running = s->job && !s->job_over;
        if (vt >= window_ns || (s->job && !job_running))
            break;
        while (next <= vt) {
            guest_arrival(s, next, i++);
            next += interval_ns;
        }
        uint64_t wake = next;
        if (job_running && !s->step_inflight) {
            if (mbps <= 0 || rate_limit_take(&rl, DISK_JOB_UNIT, vt)) {
                s->step = (struct block_request){ .op = BLOCK_WRITE,
                                                  .cls = BLOCK_CLASS_BACKGROUND,
                                                  .count = DISK_JOB_UNIT / SECTOR,
                                                  .buf = &step_token, .done = step_done,
                                                  .ctx = s };
                s->step_inflight = true;
                if (block_submit(&s->dev, &s->step))
                    s->step_inflight = false;
            } else {
                uint64_t w = rate_limit_wait_ns(&rl, DISK_JOB_UNIT, vt);
                wake = vt + w < wake ? vt + w : wake;
            }
        }
        uint64_t before = vt;
        block_poll(&s->dev);
        if (vt == before && wake > vt)
            vt = wake;                          /* nothing ran: idle until then */
    }
    s->counting = false;
    *merged_ms = vt / 1000000;
    while (block_poll(&s->dev))
        ;
    if (s->job) {
        disk_job_cancel(s->job);                /* a throttled one cut at the window: whole */
        disk_job_free(s->job);
    }
    vhdx_host_close(s->child, &io, NULL);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(uint64_t *v, unsigned n, double p)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof(*v), cmp_u64);
    unsigned k = (unsigned)(p * (n - 1));
    return (double)v[k] / 1000.0;
}

static const char usage[] =
    "usage: disk-merge-bench WORKDIR [--quick]\n"
    "\n"
    "Guest request latency while a merge runs on the guest's disk: the kernel's block queue,\n"
    "merge job and token bucket on a differencing VHDX in WORKDIR (a 256 MiB disk), a\n"
    "simulated guest sending 4 KiB requests every millisecond; time is the worker's CPU time.\n"
    "Rows: p50 and p99 latency with a merge unthrottled and throttled to 4 MiB/s (ours)\n"
    "against the idle disk (anchor), in microseconds; goal: throttled p99 within 2x of idle.\n"
    "WORKDIR is removed (as rm -rf, never the root, \".\" or \"..\") and made again first,\n"
    "and removed at the end; make bench uses /dev/shm/atoll-disk-merge-work.\n"
    "\n"
    "  --quick    1 s windows (idle disk, throttled merge) instead of 3 s\n"
    "  --help     this text\n"
    "  --version  the version\n";

int main(int argc, char **argv)
{
    const char *dir = NULL;
    bool quick = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = true;
        else if (!bench_cli_option(NAME, usage, argv[i]) && !dir)
            dir = argv[i];
        else
            bench_cli_usage_error(NAME, usage, "one WORKDIR only");
    }
    bench_dir_workdir(NAME, usage, dir);
    char templates[512];
    snprintf(templates, sizeof(templates), "%s/t", dir);
    if (bench_dir_remove(dir) || bench_dir_make(templates)) {
        fprintf(stderr, NAME ": %s: %s\n", templates, strerror(errno));
        return 1;
    }
    make_templates(dir);
    const uint64_t interval = 1000000;          /* a guest request a millisecond */
    const uint64_t window = quick ? 1000000000ull : 3000000000ull;
    const int throttle_mbps = 4;
    static struct sim s;
    s.lat = malloc(MAX_SAMPLES * sizeof(uint64_t));
    double p50[3], p99[3];
    unsigned n[3];
    uint64_t ms[3], held[3];
    int modes[3] = { -1, 0, throttle_mbps };
    unsigned merges = 0;
    for (int m = 0; m < 3; m++) {
        s.nlat = 0;
        ms[m] = 0;
        do {        /* an unthrottled merge is short: merges until as many samples */
            uint64_t t;
            run(dir, modes[m], interval, m == 1 ? 60000000000ull : window, &s, &t);
            ms[m] += t;
            merges += m == 1;
        } while (m == 1 && s.nlat < n[0] && merges < 100);
        n[m] = s.nlat;
        held[m] = s.finish_held_ns;
        p50[m] = pct(s.lat, s.nlat, 0.50);
        p99[m] = pct(s.lat, s.nlat, 0.99);
    }
    const char *names[3] = { "idle", "unthrottled", "throttled" };
    for (int m = 1; m < 3; m++) {
        char row[64];
        snprintf(row, sizeof(row), "merge %s guest latency p50 vs idle", names[m]);
        printf("%-44s %10.1f us %10.1f us %8.2f\n", row, p50[m], p50[0], p50[m] / p50[0]);
        snprintf(row, sizeof(row), "merge %s guest latency p99 vs idle", names[m]);
        printf("%-44s %10.1f us %10.1f us %8.2f\n", row, p99[m], p99[0], p99[m] / p99[0]);
    }
    printf(" merge latency: host-side (the kernel's block queue, merge job and token bucket "
           "on files in %s, a simulated guest of 4 KiB requests every %llu us, time = the "
           "worker's CPU time: tmpfs, no device latency); requests "
           "counted: idle %u, unthrottled %u (%u merges of %llu ms on average, the last "
           "finish held %llu us), "
           "throttled at %d MiB/s %u (a %llu ms window); goal: throttled p99 <= 2x idle\n",
           dir, (unsigned long long)(interval / 1000), n[0], n[1], merges,
           (unsigned long long)(ms[1] / (merges ? merges : 1)),
           (unsigned long long)(held[1] / 1000), throttle_mbps, n[2],
           (unsigned long long)ms[2]);
    if (bench_dir_remove(dir)) {
        fprintf(stderr, NAME ": removing %s: %s\n", dir, strerror(errno));
        return 1;
    }
    return 0;
}
