/*
 * Offload copy inside one pool against a client-mediated copy, same run, same pool image
 * (tests/bench/offload-bench makes it: a 1 GiB dynamic VHDX with 16 MiB of data in four
 * places, a 1 GiB VHDX full of random data, a 64 MiB file of random data, empty 1 GiB
 * destination disks).
 *
 * Ours: offload_read then offload_write through the real provider (hv/offload/offload.c)
 * on the FAT32 pool image (pread/pwrite).  Rows marked "copied": the provider shares no
 * blocks: unallocated blocks of the source become ZERO entries of the destination's BAT
 * (no payload), allocated data that reads as zero is trimmed in the destination rather
 * than written, the rest is copied 1 MiB at a time inside the host.  The row marked
 * "blocks shared": the same provider with linked clones on (hv/storage/pool_clone.c, as
 * the kernel runs it): the whole-disk write makes the source's file a frozen base and both
 * disks its differencing children; no payload moves.
 * Anchor: what a client that copies through itself (read, then write back) costs at the
 * least: the same 1 MiB reads and writes through the same provider's files and disks, and
 * between them the data's trip to the client and back as the control link carries it,
 * sealed and opened with ChaCha20-Poly1305 each way (4 passes over every byte).  No network
 * time is counted, so the anchor is a lower bound and the ratio understates the gain.
 * Both destinations are compared with the source afterwards, every byte.
 *
 * usage: offload-bench POOL_IMAGE
 * Prints run-benches rows: NAME  OURS ms  ANCHOR ms  RATIO.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bearssl.h>

#include "hv/offload/offload_pool.h"
#include "hv/storage/pool_vhdx_io.h"
#include "hv/storage/vhdx_parent_path.h"
#include "tests/bench/bench_cli.h"
#include "tests/net/host_pool_file.h"
#include "tests/unit/pool_parent_env.h"

#define MIB (1024u * 1024u)

static struct host_pool_file file;
static struct offload_pool pool;
static struct offload_provider provider;
static struct offload_platform pf;

static void *env_alloc(void *ctx, size_t size) { (void)ctx; return calloc(1, size); }
static void env_free(void *ctx, void *p) { (void)ctx; free(p); }

static void env_guid(void *ctx, struct guid *out) { host_urandom(ctx, out->b, sizeof out->b); }

static struct fat_vol *parent_volume(void) { return &file.vol; }
static const struct pool_parents parents = { parent_volume };

static const struct vhdx_env env = { .alloc = env_alloc, .free = env_free, .random_guid = env_guid,
                                     .ctx = (void *)&parents, .open_parent = pool_parent_open,
                                     .close_parent = pool_parent_close };

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "offload-bench: %s: %s\n", what, msg);
    exit(1);
}

/* Ours: a token for the source, written into the destination. */
static uint64_t offload_copy(uint8_t kind, const char *src, const char *dst, uint64_t *bytes)
{
    char msg[256];
    uint8_t token[TOKEN_SIZE];
    uint64_t covered, written;
    struct offload_src s = { kind, src, 0, UINT64_MAX };
    uint64_t t0 = now_ns();
    if (offload_read(&provider, &s, 1, 0, token, &covered, msg, sizeof msg))
        die(src, msg);
    if (offload_write(&provider, token, TOKEN_SIZE, 0, covered, kind, dst, 0, NULL, NULL,
                      &written, msg, sizeof msg) || written != covered)
        die(dst, msg);
    *bytes = covered;
    return now_ns() - t0;
}

/* One direction of the control link: sealed by one end, opened by the other. */
static void link_trip(uint8_t *buf, size_t n, uint32_t seq)
{
    static const uint8_t key[32] = { 7 };
    uint8_t iv[12] = { 0 }, tag[16], tag2[16];
    br_chacha20_run chacha = br_chacha20_sse2_get();
    if (!chacha)
        chacha = br_chacha20_ct_run;
    memcpy(iv, &seq, sizeof seq);
    br_poly1305_ctmul_run(key, iv, buf, n, NULL, 0, tag, chacha, 1);
    br_poly1305_ctmul_run(key, iv, buf, n, NULL, 0, tag2, chacha, 0);
    if (memcmp(tag, tag2, sizeof tag))
        die("link", "the tag does not verify");
}

/* Anchor: read, to the client and back, write; 1 MiB at a time. */
static uint64_t mediated_copy(uint8_t kind, const char *src, const char *dst)
{
    char msg[256];
    struct offload_io in, out;
    uint8_t *buf = malloc(MIB);
    uint64_t t0 = now_ns();
    if (pf.open(pf.io_ctx, kind, src, false, &in, msg, sizeof msg) ||
        pf.open(pf.io_ctx, kind, dst, true, &out, msg, sizeof msg))
        die(src, msg);
    for (uint64_t off = 0; off < in.size; off += MIB) {
        size_t n = in.size - off < MIB ? (size_t)(in.size - off) : MIB;
        if (in.read(in.h, off, buf, n))
            die(src, "reading failed");
        link_trip(buf, n, (uint32_t)(off / MIB) * 2);      /* host -> client */
        link_trip(buf, n, (uint32_t)(off / MIB) * 2 + 1);  /* client -> host */
        if (out.write(out.h, off, buf, n))
            die(dst, "writing failed");
    }
    if (out.flush(out.h))
        die(dst, "flushing failed");
    pf.close(pf.io_ctx, &in);
    pf.close(pf.io_ctx, &out);
    free(buf);
    return now_ns() - t0;
}

/* Whether the three files or disks hold the same bytes. */
static bool same(uint8_t kind, const char *const names[3])
{
    char msg[256];
    struct offload_io io[3];
    uint8_t *buf[3];
    bool ok = true;
    for (int i = 0; i < 3; i++) {
        buf[i] = malloc(MIB);
        if (pf.open(pf.io_ctx, kind, names[i], false, &io[i], msg, sizeof msg))
            die(names[i], msg);
    }
    ok = io[0].size == io[1].size && io[0].size == io[2].size;
    for (uint64_t off = 0; ok && off < io[0].size; off += MIB) {
        size_t n = io[0].size - off < MIB ? (size_t)(io[0].size - off) : MIB;
        for (int i = 0; i < 3; i++)
            if (io[i].read(io[i].h, off, buf[i], n))
                die(names[i], "reading failed");
        ok = !memcmp(buf[0], buf[1], n) && !memcmp(buf[0], buf[2], n);
    }
    for (int i = 0; i < 3; i++) {
        pf.close(pf.io_ctx, &io[i]);
        free(buf[i]);
    }
    return ok;
}

static int (*clone_op)(void *, const struct offload_clone *, char *, size_t);

static void row(const char *name, uint8_t kind, const char *src, const char *ours_dst,
                const char *anchor_dst, bool share)
{
    uint64_t bytes;
    provider.pf.clone = share ? clone_op : NULL;
    uint64_t ours = offload_copy(kind, src, ours_dst, &bytes);
    uint64_t punched = provider.stats.bytes_punched, zero = provider.stats.bytes_zero_read;
    uint64_t copied = provider.stats.bytes_copied, shared = provider.stats.bytes_shared;
    uint64_t anchor = mediated_copy(kind, src, anchor_dst);
    const char *const names[3] = { src, ours_dst, anchor_dst };
    if (!same(kind, names))
        die(name, "a destination differs from the source");
    printf("%-44s %10.1f ms %10.1f ms %9.6f\n", name, ours / 1e6, anchor / 1e6,
           (double)ours / (double)anchor);
    printf("  %s: %llu MiB: %llu MiB shared (linked clone, no payload), %llu MiB made zero by "
           "metadata (no payload), %llu MiB read and found zero (trimmed, not written), %llu "
           "MiB read and written\n", name, (unsigned long long)(bytes / MIB),
           (unsigned long long)(shared / MIB), (unsigned long long)(punched / MIB),
           (unsigned long long)(zero / MIB), (unsigned long long)(copied / MIB));
    provider.stats = (struct offload_stats){ 0 };
}

static const char usage[] =
    "usage: offload-bench POOL_IMAGE\n"
    "\n"
    "Offload copy inside one pool (offload_read, then offload_write through the provider)\n"
    "against a client-mediated copy (the same reads and writes, the data sealed and opened\n"
    "with ChaCha20-Poly1305 to the client and back; no network time counted), on a FAT32\n"
    "pool image holding src.vhdx (1 GiB, 16 MiB of data), full.vhdx (1 GiB of data),\n"
    "data.bin (64 MiB) and empty 1 GiB destinations {o,m,oc,mc,os,ms}.vhdx, as the script\n"
    "tests/bench/offload-bench makes it (its usage: BENCH_BINARY VHDX_TOOL WORKDIR).  The\n"
    "copies write into the image.  Rows in ms (ours, anchor, ratio): the sparse VHDX, the\n"
    "data file, the full VHDX copied and with its blocks shared (a linked clone); every\n"
    "destination is compared with its source.\n"
    "\n"
    "  --help     this text\n"
    "  --version  the version\n";

int main(int argc, char **argv)
{
    const char *image = NULL;
    for (int i = 1; i < argc; i++) {
        if (!bench_cli_option("offload-bench", usage, argv[i]) && !image)
            image = argv[i];
        else
            bench_cli_usage_error("offload-bench", usage, "one POOL_IMAGE only");
    }
    if (!image)
        bench_cli_usage_error("offload-bench", usage, NULL);
    char why[128];
    if (!host_pool_file_open(&file, image, false, why, sizeof why))     /* flushes are free */
        die(image, why);
    pool = (struct offload_pool){ &file.vol, &env, .share_blocks = true };
    pf = host_pool_file_platform(&file);
    offload_pool_platform(&pool, &pf);
    static const uint8_t issuer[TOKEN_ISSUER_LEN] = { 1 };
    clone_op = pf.clone;
    offload_init(&provider, &pf, issuer);
    /* run-benches reads the first 44 columns as the row's name */
    row("offload copy 1 GiB sparse VHDX: time ms", TOKEN_RANGE_DISK, "src.vhdx", "o.vhdx",
        "m.vhdx", false);
    row("offload copy 64 MiB data file: time ms", TOKEN_RANGE_FILE, "data.bin", "o.bin",
        "m.bin", false);
    row("offload 1 GiB full VHDX, copied: time ms", TOKEN_RANGE_DISK, "full.vhdx", "oc.vhdx",
        "mc.vhdx", false);
    row("offload 1 GiB full VHDX, shared: time ms", TOKEN_RANGE_DISK, "full.vhdx", "os.vhdx",
        "ms.vhdx", true);
    printf("  anchor: the same reads and writes plus the data sealed and opened "
           "(ChaCha20-Poly1305) to the client and back; no network time counted\n");
    printf("  blocks shared: full.vhdx's file became a read-only base, full.vhdx and os.vhdx "
           "its differencing children (the anchor then read full.vhdx through its base)\n");
    host_pool_file_close(&file);
    return 0;
}
