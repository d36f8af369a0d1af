/*
 * De-duplication on a pool of similar disks (issue 14): four standalone VHDX disks cloned
 * from one template (48 MiB of data in 64 MiB: 3 MiB in every 4) and then diverged as
 * machines do (each: 10 writes of 4-256 KiB at random places, and 4 MiB of its own data);
 * one of them moves to a pool that holds the other three.  With the pool's SHA-256 index
 * (hv/storage/dedup_index.c, the three's 1 MiB units indexed by dedup_index_disk) a unit whose
 * content the destination already holds anywhere is not sent: storage migration fetches
 * it from the destination's own pool.  Anchor: a move without the index, which sends every
 * non-zero unit (both skip all-zero units).  Files on tmpfs (or WORKDIR).
 *
 *   dedup-pool-bench WORKDIR
 * Prints `NAME OURS ANCHOR RATIO` (MiB sent) and a note (MiB not sent, the index's size).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

#include "hv/storage/dedup_index.h"
#include "tests/bench/bench_cli.h"
#include "tests/bench/bench_dir.h"
#include "tools/vhdx/vhdx_file.h"

#define NAME "dedup-pool-bench"

#define MIB        (1ull << 20)
#define DISK_BYTES (64 * MIB)
#define DISKS      4u

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static void fill_random(uint8_t *b, size_t n)
{
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v = next_rand();
        memcpy(b + i, &v, 8);
    }
}

static void die(const char *what, const struct vhdx_err *err)
{
    fprintf(stderr, NAME ": %s: %s\n", what, err ? err->msg : "failed");
    exit(1);
}

static void sha256(void *ctx, const void *data, size_t len, uint8_t out[32])
{
    br_sha256_context c;
    br_sha256_init(&c);
    br_sha256_update(&c, data, len);
    br_sha256_out(&c, out);
}

static struct vhdx *create_disk(const char *path, struct vhdx_io *io)
{
    struct vhdx_err err;
    if (vhdx_file_open(path, true, true, io))
        die(path, NULL);
    struct vhdx_create_params p = { .disk_size = DISK_BYTES, .block_size = MIB };
    if (vhdx_create(&vhdx_host_env, io, &p, &err))
        die("create", &err);
    struct vhdx *d;
    if (vhdx_open(&vhdx_host_env, io, path, 0, &d, &err))
        die("open", &err);
    return d;
}

static bool all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static const char usage[] =
    "usage: dedup-pool-bench WORKDIR\n"
    "\n"
    "De-duplication on a pool of similar disks: in WORKDIR, four 64 MiB VHDX disks cloned\n"
    "from one template and each diverged; vm0 moves to a pool that holds the other three.\n"
    "Ours: with the pool's SHA-256 index, a 1 MiB unit the pool already holds is not sent.\n"
    "Anchor: the same move without the index (every non-zero unit sent).  Prints one row,\n"
    "MiB sent (ours, anchor, ratio), and a note.  WORKDIR is removed (as rm -rf, never the\n"
    "root, \".\" or \"..\") and made again first, and removed at the end; make bench uses\n"
    "/dev/shm/atoll-dedup-pool-work.\n"
    "\n"
    "  --help     this text\n"
    "  --version  the version\n";

int main(int argc, char **argv)
{
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!bench_cli_option(NAME, usage, argv[i]) && !dir)
            dir = argv[i];
        else
            bench_cli_usage_error(NAME, usage, "one WORKDIR only");
    }
    bench_dir_workdir(NAME, usage, dir);
    char path[DISKS][600];
    if (bench_dir_remove(dir) || bench_dir_make(dir)) {
        fprintf(stderr, NAME ": %s: %s\n", dir, strerror(errno));
        return 1;
    }
    uint8_t *tmpl = malloc(DISK_BYTES), *buf = malloc(MIB), *w = malloc(256 << 10);
    memset(tmpl, 0, DISK_BYTES);
    for (uint64_t u = 0; u < DISK_BYTES / MIB; u++)        /* 3 MiB of data in every 4 */
        if (u % 4 != 3)
            fill_random(tmpl + u * MIB, MIB);
    struct vhdx_err err;
    struct vhdx *d[DISKS];
    struct vhdx_io io[DISKS];
    for (unsigned k = 0; k < DISKS; k++) {
        snprintf(path[k], sizeof(path[k]), "%s/vm%u.vhdx", dir, k);
        d[k] = create_disk(path[k], &io[k]);
        for (uint64_t off = 0; off < DISK_BYTES; off += MIB)
            if (!all_zero(tmpl + off, MIB) && vhdx_write(d[k], off, tmpl + off, MIB, &err))
                die("clone", &err);
        for (unsigned i = 0; i < 10; i++) {                 /* diverged */
            size_t len = (size_t)(4096u << (next_rand() % 7));
            uint64_t off = next_rand() % ((DISK_BYTES - len) / 4096) * 4096;
            fill_random(w, len);
            if (vhdx_write(d[k], off, w, len, &err))
                die("diverge", &err);
        }
        uint64_t own = (next_rand() % (DISK_BYTES / MIB - 4)) * MIB;
        for (unsigned u = 0; u < 4; u++) {
            fill_random(buf, MIB);
            if (vhdx_write(d[k], own + u * MIB, buf, MIB, &err))
                die("own data", &err);
        }
    }
    /* The destination holds vm1..vm3, indexed; vm0 moves there. */
    struct dedup_index *x = dedup_create(&vhdx_host_env, DISKS * DISK_BYTES / MIB, sha256, NULL);
    if (!x)
        die("index", NULL);
    for (unsigned k = 1; k < DISKS; k++)
        if (dedup_index_disk(x, k, d[k], buf, &err))
            die("index disk", &err);
    uint64_t plain = 0, sent = 0;
    for (uint64_t off = 0; off < DISK_BYTES; off += MIB) {
        if (vhdx_read(d[0], off, buf, MIB, &err))
            die("read", &err);
        if (all_zero(buf, MIB))
            continue;
        plain += MIB;
        uint8_t h[DEDUP_HASH_LEN];
        struct dedup_loc at;
        dedup_hash(x, buf, MIB, h);
        if (!dedup_find(x, h, &at))
            sent += MIB;
    }
    printf("%-44s %10.1f MiB %10.1f MiB %8.3f\n", "dedup pool move MiB sent cost vs plain",
           (double)sent / MIB, (double)plain / MIB, (double)sent / (double)plain);
    printf(" dedup pool: %llu MiB of %llu not sent moving vm0 to a pool holding vm1..vm%u "
           "(%u clones of one template, each diverged by 10 small writes and 4 MiB of its "
           "own); index of %u units in %zu KiB\n", (unsigned long long)((plain - sent) / MIB),
           (unsigned long long)(plain / MIB), DISKS - 1, DISKS, dedup_count(x),
           dedup_memory(x) / 1024);
    dedup_destroy(x);
    for (unsigned k = 0; k < DISKS; k++)
        vhdx_host_close(d[k], &io[k], NULL);
    free(tmpl), free(buf), free(w);
    if (bench_dir_remove(dir)) {
        fprintf(stderr, NAME ": removing %s: %s\n", dir, strerror(errno));
        return 1;
    }
    return 0;
}
