/* Queued transfers to pool files (pool_io.h) on a FAT32 image made by mkfs.fat, through a
 * fake disk that holds several requests and completes them out of order: fat_map's runs
 * on a fragmented file, vhdx_map's spans, and data written and read by many transfers
 * outstanding at once agreeing with the synchronous path; 512- and 4096-byte sectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "hv/storage/fat32.h"
#include "hv/storage/pool_vhdx_io.h"
#include "hv/storage/pool_io.h"
#include "hv/storage/vhdx_map.h"
#include "tests/unit/test_block_mem.h"

#define IMG_MIB 40
#define HW_DEPTH 4
#define PIECE 16384u

static uint8_t *pristine, *img;
static uint64_t img_bytes;
static uint32_t sector;

/* ---- the fake disk: HW_DEPTH commands, finished newest first at a poll ---------------- */

static struct block_request *hw[HW_DEPTH];
static unsigned polls_to_finish;    /* polls that finish nothing, between finishes */

static bool fake_start(struct block_device *d, struct block_request *r)
{
    for (int i = 0; i < HW_DEPTH; i++)
        if (!hw[i]) {
            hw[i] = r;
            return true;
        }
    return false;
}

static void fake_poll(struct block_device *d)
{
    static unsigned skipped;
    if (skipped++ < polls_to_finish)
        return;
    skipped = 0;
    for (int i = HW_DEPTH - 1; i >= 0; i--) {
        struct block_request *r = hw[i];
        if (!r)
            continue;
        hw[i] = NULL;
        size_t bytes = (size_t)r->count * d->sector_size, off = r->lba * d->sector_size;
        if (r->op == BLOCK_READ)
            block_req_copy_in(r, 0, img + off, bytes);
        else if (r->op == BLOCK_WRITE)
            block_req_copy_out(r, 0, img + off, bytes);
        block_complete(d, r, BLOCK_OK);
    }
}

static const struct block_driver_ops fake_ops = { fake_start, fake_poll };

static struct block_device dev;
static struct block_window win;
static struct block_io io;
static struct fat_vol vol;

static int make_image(uint32_t ss)
{
    pristine = mem_disk_mkfs_fat(ss, 4096 / ss, "POOL", IMG_MIB, &img_bytes);
    sector = ss;
    return pristine ? 0 : -1;
}

static int make_512(void **state) { return make_image(512); }
static int make_4096(void **state) { return make_image(4096); }
static int drop_image(void **state)
{
    free(pristine);
    return 0;
}

/* The image as a disk of the fake driver, the pool mounted on a window of all of it. */
static int fresh(void **state)
{
    img = malloc(img_bytes);
    memcpy(img, pristine, img_bytes);
    memset(&dev, 0, sizeof(dev));
    memset(hw, 0, sizeof(hw));
    polls_to_finish = 0;
    strcpy(dev.name, "fake0");
    dev.sector_size = sector;
    dev.sectors = img_bytes / sector;
    dev.max_sectors = 8192 / sector;        /* a 16 KiB piece takes two requests */
    dev.ops = &fake_ops;
    block_device_init(&dev);
    block_io_window(&io, &win, &dev, 0, dev.sectors);
    return fat_mount(&vol, &io) == FAT_OK ? 0 : -1;
}

static int release(void **state)
{
    free(img);
    return 0;
}

static void pattern(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31 + (i >> 8) * 7 + seed);
}

/* ---- queued passes ---------------------------------------------------------------------- */

static unsigned finished;
static void count_done(struct pool_io *x) { finished++; }

/* n pieces of f (or of vhdx on it) from off, all started before any is waited for. */
static void queued(struct fat_file *f, struct vhdx *vhdx, enum block_op op, uint64_t off,
                   uint8_t *buf, unsigned n)
{
    struct pool_io *x = calloc(n, sizeof(*x));
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(pool_io_map(&x[i], &win, f, vhdx, op, BLOCK_CLASS_GUEST,
                                     off + (uint64_t)i * PIECE, PIECE, buf + (size_t)i * PIECE),
                         BLOCK_OK);
    finished = 0;
    for (unsigned i = 0; i < n; i++)
        pool_io_start(&x[i], count_done, NULL);
    while (finished < n)
        block_poll(&dev);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(x[i].status, BLOCK_OK);
    free(x);
}

/* Two files written a cluster at a time in turn: each one's chain is every other cluster. */
static void interleaved(struct fat_file *a, struct fat_file *b, uint32_t bytes)
{
    uint8_t chunk[4096];
    assert_int_equal(fat_open(&vol, "/a.bin", FAT_O_CREATE, a), FAT_OK);
    assert_int_equal(fat_open(&vol, "/b.bin", FAT_O_CREATE, b), FAT_OK);
    for (uint32_t off = 0; off < bytes; off += sizeof(chunk)) {
        pattern(chunk, sizeof(chunk), (uint8_t)(off >> 12));
        assert_int_equal(fat_write(a, off, chunk, sizeof(chunk)), sizeof(chunk));
        assert_int_equal(fat_write(b, off, chunk, sizeof(chunk)), sizeof(chunk));
    }
}

static void test_map_fragmented(void **state)
{
    struct fat_file a, b;
    struct fat_extent ext[8];
    unsigned n;
    interleaved(&a, &b, 64 * 1024);
    assert_int_equal(fat_map(&a, 8192, 16384, ext, 8, &n), FAT_OK);
    assert_int_equal(n, 4);                 /* four clusters, none next to another */
    uint8_t want[4096];
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(ext[i].sectors, 4096 / sector);
        pattern(want, sizeof(want), (uint8_t)(2 + i));
        assert_memory_equal(img + ext[i].lba * sector, want, sizeof(want));
    }
    assert_int_equal(fat_map(&a, 8192, 16384, ext, 3, &n), FAT_E_INVALID);
    assert_int_equal(fat_map(&a, 60 * 1024, 8192, ext, 8, &n), FAT_E_INVALID);  /* past the end */
    assert_int_equal(fat_map(&a, 0, 0, ext, 8, &n), FAT_E_INVALID);
    if (sector == 4096)
        assert_int_equal(fat_map(&a, 512, 4096, ext, 8, &n), FAT_E_INVALID);
    /* a file written in one go lies in one run */
    struct fat_file c;
    static uint8_t big[65536];
    assert_int_equal(fat_open(&vol, "/c.bin", FAT_O_CREATE, &c), FAT_OK);
    assert_int_equal(fat_write(&c, 0, big, sizeof(big)), sizeof(big));
    assert_int_equal(fat_map(&c, 4096, 32768, ext, 1, &n), FAT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ext[0].sectors, 32768 / sector);
}

static void test_queued_file(void **state)
{
    struct fat_file a, b;
    const unsigned pieces = 16;
    uint8_t *buf = malloc(pieces * PIECE), *back = malloc(pieces * PIECE);
    interleaved(&a, &b, pieces * PIECE);
    polls_to_finish = 2;
    block_set_limit(&dev, BLOCK_CLASS_GUEST, 3);        /* submissions wait for room too */
    pattern(buf, pieces * PIECE, 9);
    queued(&a, NULL, BLOCK_WRITE, 0, buf, pieces);
    assert_int_equal(dev.max_inflight, HW_DEPTH);
    memset(back, 0, pieces * PIECE);
    queued(&a, NULL, BLOCK_READ, 0, back, pieces);
    assert_memory_equal(back, buf, pieces * PIECE);
    memset(back, 0, pieces * PIECE);
    assert_int_equal(fat_read(&a, 0, back, pieces * PIECE), pieces * PIECE);
    assert_memory_equal(back, buf, pieces * PIECE);
    /* b, whose clusters sit between a's, is untouched */
    uint8_t want[4096];
    for (uint32_t off = 0; off < pieces * PIECE; off += 4096) {
        pattern(want, sizeof(want), (uint8_t)(off >> 12));
        assert_int_equal(fat_read(&b, off, back, 4096), 4096);
        assert_memory_equal(back, want, 4096);
    }
    free(buf);
    free(back);
}

/* ---- VHDX images on the pool -------------------------------------------------------------- */

static void *env_alloc(void *ctx, size_t size) { return calloc(1, size); }
static void env_free(void *ctx, void *p) { free(p); }
static void env_guid(void *ctx, struct guid *out)
{
    static uint8_t n;
    memset(out->b, ++n, sizeof(out->b));
}
static const struct vhdx_env env = { .alloc = env_alloc, .free = env_free, .random_guid = env_guid };

static void test_vhdx_spans(void **state)
{
    struct fat_file f;
    struct vhdx *d;
    struct vhdx_io vio;
    struct vhdx_create_params p = { .disk_size = 8u << 20, .block_size = 1u << 20 };
    struct vhdx_span span[4];
    unsigned n;
    const uint32_t mib = 1u << 20;
    assert_int_equal(fat_open(&vol, "/disk.vhdx", FAT_O_CREATE, &f), FAT_OK);
    pool_vhdx_io(&f, &vio);
    assert_int_equal(vhdx_create(&env, &vio, &p, NULL), VHDX_OK);
    assert_int_equal(vhdx_open(&env, &vio, "disk.vhdx", 0, &d, NULL), VHDX_OK);
    uint8_t *buf = malloc(4 * PIECE), *back = malloc(4 * PIECE);
    pattern(buf, 4 * PIECE, 3);
    assert_int_equal(vhdx_write(d, 0, buf, 4 * PIECE, NULL), VHDX_OK);   /* block 0 present */

    assert_int_equal(vhdx_map(d, 4096, 8192, false, span, 4, &n, NULL), VHDX_OK);
    assert_int_equal(n, 1);
    assert_false(span[0].zero);
    assert_int_equal(span[0].len, 8192);
    assert_int_equal(vhdx_map(d, mib - 4096, 8192, false, span, 4, &n, NULL), VHDX_OK);
    assert_int_equal(n, 2);                 /* the end of block 0, then block 1: zeros */
    assert_false(span[0].zero);
    assert_true(span[1].zero);
    assert_int_equal(vhdx_map(d, mib - 4096, 8192, false, span, 1, &n, NULL), VHDX_E_UNSUPPORTED);
    assert_int_equal(vhdx_map(d, mib, 4096, true, span, 4, &n, NULL), VHDX_E_UNSUPPORTED);
    assert_int_equal(vhdx_map(d, 4096, 4096, true, span, 4, &n, NULL), VHDX_OK);
    assert_int_equal(vhdx_map(d, 100, 512, false, span, 4, &n, NULL), VHDX_E_INVALID);
    assert_int_equal(vhdx_map(d, 8u << 20, 512, false, span, 4, &n, NULL), VHDX_E_INVALID);

    /* queued: a new pattern over block 0's second 64 KiB, then a read across into block 1 */
    pattern(buf, 4 * PIECE, 7);
    queued(&f, d, BLOCK_WRITE, 4 * PIECE, buf, 4);
    memset(back, 0xaa, 4 * PIECE);
    assert_int_equal(vhdx_read(d, 4 * PIECE, back, 4 * PIECE, NULL), VHDX_OK);
    assert_memory_equal(back, buf, 4 * PIECE);
    memset(back, 0xaa, 4 * PIECE);
    queued(&f, d, BLOCK_READ, mib - 2 * PIECE, back, 4);
    uint8_t *sync = malloc(4 * PIECE);
    assert_int_equal(vhdx_read(d, mib - 2 * PIECE, sync, 4 * PIECE, NULL), VHDX_OK);
    assert_memory_equal(back, sync, 4 * PIECE);
    /* an allocating write does not map: vhdx_write does it */
    struct pool_io x;
    assert_int_not_equal(pool_io_map(&x, &win, &f, d, BLOCK_WRITE, BLOCK_CLASS_GUEST, 2 * mib,
                                     PIECE, buf), BLOCK_OK);
    assert_int_equal(vhdx_close(d, NULL), VHDX_OK);
    assert_int_equal(fat_close(&f), FAT_OK);
    free(buf);
    free(back);
    free(sync);
}

/* ---- order between transfers of one disk -------------------------------------------------- */

static bool waits(enum block_op first, uint64_t off1, uint64_t len1, enum block_op later,
                  uint64_t off2, uint64_t len2)
{
    struct pool_io_range a, b;
    pool_io_range(&a, first, off1, len1);
    pool_io_range(&b, later, off2, len2);
    return pool_io_ranges_conflict(&a, &b);
}

static void test_order(void **state)
{
    assert_false(waits(BLOCK_READ, 0, 8192, BLOCK_READ, 4096, 8192));     /* reads share */
    assert_true(waits(BLOCK_WRITE, 0, 8192, BLOCK_READ, 4096, 512));
    assert_true(waits(BLOCK_READ, 4096, 512, BLOCK_WRITE, 0, 8192));
    assert_true(waits(BLOCK_WRITE, 0, 8192, BLOCK_WRITE, 8192 - 512, 512));
    assert_false(waits(BLOCK_WRITE, 0, 8192, BLOCK_WRITE, 8192, 512));    /* they touch only */
    /* 512-byte pieces in one 4 KiB sector of the pool: a read-modify-write shares it */
    assert_true(waits(BLOCK_WRITE, 512, 512, BLOCK_WRITE, 1024, 512));
    assert_false(waits(BLOCK_WRITE, 512, 512, BLOCK_READ, 4096, 512));
    assert_true(waits(BLOCK_TRIM, 1 << 20, 1 << 20, BLOCK_READ, (1 << 20) + 4096, 4096));
    /* a flush waits for everything and everything for it */
    assert_true(waits(BLOCK_READ, 1 << 30, 4096, BLOCK_FLUSH, 0, 0));
    assert_true(waits(BLOCK_FLUSH, 0, 0, BLOCK_READ, 1 << 30, 4096));
    assert_true(waits(BLOCK_WRITE, UINT64_MAX - 100, 50, BLOCK_READ, UINT64_MAX - 4000, 512));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fresh, release)

int main(void)
{
    const struct CMUnitTest tests[] = { T(test_map_fragmented), T(test_queued_file),
                                        T(test_vhdx_spans), cmocka_unit_test(test_order) };
    return cmocka_run_group_tests_name("pool_io, 512-byte sectors", tests, make_512, drop_image) |
           cmocka_run_group_tests_name("pool_io, 4096-byte sectors", tests, make_4096, drop_image);
}
