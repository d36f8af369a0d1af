/*
 * A write-and-verify workload for live disk operations: 32 numbered blocks of 16 KiB,
 * 256 KiB apart (so every MiB of an 8 MiB disk is written each round), each written with
 * the pattern of (block, round), read back and compared, then a flush; the round is
 * printed ("disk_live: round R verified") so the manifest's [script] can start jobs on the
 * disk while the rounds go on.  After the last round every block is read back once more.
 * `rounds=N` (default 30).  The host checks what the disk's file holds afterwards
 * (tests/storage/disk-live-check computes the same pattern).
 */
#include "guest/tests/virtio_drv.h"

DEFINE_TEST("disk_live");

#define BLOCK_BYTES  (16u << 10)
#define BLOCKS       32u
#define STRIDE_BYTES (256u << 10)
#define LIVE_MAGIC   0x4c495645u     /* "LIVE" */

static uint32_t wbuf[BLOCK_BYTES / 4] __attribute__((aligned(4096)));
static uint32_t rbuf[BLOCK_BYTES / 4] __attribute__((aligned(4096)));

/* Word i of block b in round r (disk-live-check has the same function). */
static uint32_t pattern(uint32_t b, uint32_t r, uint32_t i)
{
    if (i == 0)
        return LIVE_MAGIC;
    if (i == 1)
        return b;
    if (i == 2)
        return r;
    uint32_t x = b * 0x9e3779b1u ^ r * 0x85ebca77u ^ i * 0xc2b2ae3du;
    x ^= x >> 15;
    x *= 0x2c1b3c6du;
    return x ^ (x >> 12);
}

static void fill(uint32_t b, uint32_t r)
{
    for (uint32_t i = 0; i < BLOCK_BYTES / 4; i++)
        wbuf[i] = pattern(b, r, i);
}

static uint64_t sector_of(uint32_t b)
{
    return (uint64_t)b * STRIDE_BYTES / 512;
}

static bool read_matches(struct vd *d, uint32_t b, uint32_t r)
{
    fill(b, r);
    memset(rbuf, 0, sizeof(rbuf));
    return vd_rw(d, VD_T_IN, sector_of(b), rbuf, BLOCK_BYTES, false) == 0 &&
           memcmp(rbuf, wbuf, BLOCK_BYTES) == 0;
}

void test_main(void)
{
    struct vd d;
    if (!vd_find(&d)) {
        report_skip("no virtio-blk PCI function (1AF4:1042) on bus 0");
        return;
    }
    uint64_t bars[6];
    vd_place_bars(&d, bars);
    if (!report(vd_caps(&d, bars) && vd_init(&d, VD_F_FLUSH, false),
                "virtio-blk at 00:%02x.0 set up (polling)", d.slot))
        return;
    uint64_t capacity = vd_r32(d.devcfg) | (uint64_t)vd_r32(d.devcfg + 4) << 32;
    if (!report(capacity * 512 >= (uint64_t)BLOCKS * STRIDE_BYTES,
                "capacity %lu sectors holds %u blocks %u KiB apart", (unsigned long)capacity,
                BLOCKS, STRIDE_BYTES >> 10))
        return;
    uint32_t rounds = (uint32_t)cmdline_u64("rounds", 30);
    uint32_t bad = 0, r = 0;
    for (; r < rounds && !bad; r++) {
        for (uint32_t b = 0; b < BLOCKS && !bad; b++) {
            fill(b, r);
            if (vd_rw(&d, VD_T_OUT, sector_of(b), wbuf, BLOCK_BYTES, false) != 0 ||
                !read_matches(&d, b, r))
                bad = b + 1;
        }
        if (!bad && vd_rw(&d, VD_T_FLUSH, 0, NULL, 0, false) != 0)
            bad = BLOCKS + 1;
        if (!bad)
            printf("disk_live: round %u verified\n", r);
    }
    report(!bad, "%u rounds of %u blocks written, read back and flushed%s", r, BLOCKS,
           bad ? " (a block did not read back as written)" : "");
    uint32_t last = r ? r - 1 : 0, wrong = 0;
    for (uint32_t b = 0; b < BLOCKS && !bad; b++)
        wrong += !read_matches(&d, b, last);
    report(!bad && !wrong, "final read: every block holds round %u (%u wrong)", last, wrong);
    vd_reset(&d);
}
