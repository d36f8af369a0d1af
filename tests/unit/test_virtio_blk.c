/* virtio-blk: driver sequences as the test guests run them, and every hostile case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/test_virtio_guest.h"

#define DISK (1u << 20)
#define OUT_OF_RAM (TG_RAM_SIZE + 0x1000ull)

static struct tguest *ready(uint32_t sector, uint64_t want, bool msix)
{
    struct tguest *g = tg_new(DISK, sector, false);
    tg_enable_pci(g);
    if (msix)
        tg_enable_msix(g);
    uint8_t st = tg_driver_init(g, want, 16, msix);
    assert_int_equal(st, 0x0f);
    return g;
}

static unsigned lines(const struct tguest *g)
{
    unsigned n = 0;
    for (const char *p = g->f.console; *p; p++)
        n += *p == '\n';
    return n;
}

static void write_read_flush_id(void **state)
{
    struct tguest *g = ready(512, VIRTIO_BLK_F_FLUSH, true);
    tg_fill_ram(g, TG_DATA, 4096, 1);
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_OUT, 8, TG_DATA, 4096, false), VIRTIO_BLK_S_OK);
    assert_memory_equal(g->disk_data + 8 * 512, g->ram + TG_DATA, 4096);
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_IN, 8, TG_DATA + 0x10000, 4096, false), VIRTIO_BLK_S_OK);
    assert_memory_equal(g->ram + TG_DATA + 0x10000, g->ram + TG_DATA, 4096);
    uint16_t h;
    uint32_t len;
    tg_request(g, 0, VIRTIO_BLK_T_IN, 9, TG_DATA, 512, false);
    assert_true(tg_used(g, &h, &len));
    assert_int_equal(len, 513);
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), VIRTIO_BLK_S_OK);
    assert_int_equal(g->disk.flushes, 1);
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_GET_ID, 0, TG_DATA, 20, false), VIRTIO_BLK_S_OK);
    assert_memory_equal(g->ram + TG_DATA, "atoll-vblk-03", 14);
    /* the last sector of the disk */
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_OUT, DISK / 512 - 1, TG_DATA, 512, false), VIRTIO_BLK_S_OK);
    /* MSI-X: one queue interrupt per request here */
    assert_true(g->f.msi_count >= 5);
    assert_int_equal(g->f.msis[0].data, TG_QUEUE_VEC);
    assert_int_equal(g->blk.stats.reads, 2);
    assert_int_equal(g->blk.stats.writes, 2);
    tg_free(g);
}

static void indirect_and_event_idx(void **state)
{
    struct tguest *g = ready(512, VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX, true);
    assert_true(g->blk.vp.queues[0].event_idx);
    tg_fill_ram(g, TG_DATA, 8192, 3);
    /* used_event = 0xffff: the driver wants no interrupt yet */
    g->ram[TG_AVAIL + 4 + 2 * 16] = 0xff;
    g->ram[TG_AVAIL + 4 + 2 * 16 + 1] = 0xff;
    unsigned before = g->f.msi_count;
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_OUT, 0, TG_DATA, 8192, true), VIRTIO_BLK_S_OK);
    assert_int_equal(g->f.msi_count, before);
    /* avail_event written back = next avail index */
    assert_int_equal(g->ram[TG_USED + 4 + 8 * 16], 1);
    /* used_event = 1: interrupt when used idx passes 1 */
    g->ram[TG_AVAIL + 4 + 2 * 16] = 1;
    g->ram[TG_AVAIL + 4 + 2 * 16 + 1] = 0;
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_IN, 0, TG_DATA + 0x8000, 8192, true), VIRTIO_BLK_S_OK);
    assert_int_equal(g->f.msi_count, before + 1);
    assert_memory_equal(g->ram + TG_DATA + 0x8000, g->ram + TG_DATA, 8192);
    /* a batch of 4 at once, split in many segments */
    for (unsigned s = 0; s < 4; s++) {
        struct tg_seg segs[10] = { { TG_HDR + 16 * s, 16, 0 } };
        g->ram[TG_HDR + 16 * s] = VIRTIO_BLK_T_IN;
        memset(g->ram + TG_HDR + 16 * s + 1, 0, 15);
        g->ram[TG_HDR + 16 * s + 8] = (uint8_t)s;
        for (unsigned k = 0; k < 8; k++)
            segs[1 + k] = (struct tg_seg){ TG_DATA + 0x20000 + 0x2000 * s + 1024 * k + (k & 1) * 0, 512,
                                           VIRTQ_DESC_F_WRITE };
        segs[9] = (struct tg_seg){ TG_STATUS + s, 1, VIRTQ_DESC_F_WRITE };
        tg_put_indirect(g, (uint16_t)s, TG_INDIRECT + 0x200 * s, segs, 10);
        tg_avail(g, (uint16_t)s);
    }
    tg_notify(g);
    uint16_t h;
    uint32_t len;
    for (unsigned s = 0; s < 4; s++) {
        assert_true(tg_used(g, &h, &len));
        assert_int_equal(len, 8 * 512 + 1);
        assert_int_equal(g->ram[TG_STATUS + h], 0);
    }
    assert_memory_equal(g->ram + TG_DATA + 0x20000, g->disk_data, 512);
    tg_free(g);
}

static void discard_and_4k_sectors(void **state)
{
    struct tguest *g = ready(4096, VIRTIO_BLK_F_DISCARD, false);
    memset(g->disk_data, 0x5a, DISK);
    uint8_t *range = g->ram + TG_DATA;
    memset(range, 0, 16);
    range[0] = 8;               /* sector 8 */
    range[8] = 16;              /* 16 sectors = 8 KiB */
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_DISCARD, 0, TG_DATA, 16, false), VIRTIO_BLK_S_OK);
    assert_int_equal(g->disk_data[4096], 0);
    assert_int_equal(g->disk_data[4096 + 8191], 0);
    assert_int_equal(g->disk_data[4096 + 8192], 0x5a);
    range[12] = 1;              /* flags */
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_DISCARD, 0, TG_DATA, 16, false), VIRTIO_BLK_S_UNSUPP);
    /* 4 KiB sectors: 512-byte I/O and unaligned sectors refused */
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_IN, 8, TG_DATA, 512, false), VIRTIO_BLK_S_IOERR);
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_IN, 1, TG_DATA, 4096, false), VIRTIO_BLK_S_IOERR);
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_IN, 8, TG_DATA, 4096, false), VIRTIO_BLK_S_OK);
    assert_int_equal(tg_do(g, 99, 0, 0, 0, false), VIRTIO_BLK_S_UNSUPP);
    tg_free(g);
}

static void read_only_disk(void **state)
{
    struct tguest *g = tg_new(DISK, 512, true);
    tg_enable_pci(g);
    tg_driver_init(g, VIRTIO_BLK_F_RO, 8, false);
    assert_true(g->features & VIRTIO_BLK_F_RO);
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_OUT, 0, TG_DATA, 512, false), VIRTIO_BLK_S_IOERR);
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_DISCARD, 0, TG_DATA, 16, false), VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_IN, 0, TG_DATA, 512, false), VIRTIO_BLK_S_OK);
    tg_free(g);
}

/* ---- hostile requests that fail alone (IOERR / UNSUPP) --------------------------------- */

static uint8_t chain(struct tguest *g, const struct tg_seg *s, unsigned n, uint32_t type,
                     uint64_t sector, uint32_t *used_len)
{
    g->ram[TG_HDR] = (uint8_t)type;
    memset(g->ram + TG_HDR + 1, 0, 15);
    memcpy(g->ram + TG_HDR + 8, &sector, 8);
    g->ram[TG_STATUS] = 0xAA;
    tg_put_chain(g, 0, s, n);
    tg_avail(g, 0);
    tg_notify(g);
    uint16_t h;
    uint32_t len = 0;
    if (!tg_used(g, &h, &len))
        return 0xEE;
    if (used_len)
        *used_len = len;
    return g->ram[TG_STATUS];
}

static void request_errors(void **state)
{
    struct tguest *g = ready(512, 0, true);
    const struct tg_seg hdr = { TG_HDR, 16, 0 }, st = { TG_STATUS, 1, VIRTQ_DESC_F_WRITE };
    uint32_t len;
    memset(g->disk_data, 0x11, DISK);
    /* data outside guest RAM */
    struct tg_seg a[] = { hdr, { OUT_OF_RAM, 512, 0 }, st };
    assert_int_equal(chain(g, a, 3, VIRTIO_BLK_T_OUT, 0, &len), VIRTIO_BLK_S_IOERR);
    assert_int_equal(len, 1);
    assert_int_equal(g->disk_data[0], 0x11);
    /* data that runs off the end of RAM */
    struct tg_seg b[] = { hdr, { TG_RAM_SIZE - 256, 512, VIRTQ_DESC_F_WRITE }, st };
    assert_int_equal(chain(g, b, 3, VIRTIO_BLK_T_IN, 0, &len), VIRTIO_BLK_S_IOERR);
    /* second segment of a read out of RAM: nothing reported done (not even the status
     * byte, which is not at the start of the device-writable bytes) */
    struct tg_seg c[] = { hdr, { TG_DATA, 512, VIRTQ_DESC_F_WRITE },
                          { OUT_OF_RAM, 512, VIRTQ_DESC_F_WRITE }, st };
    assert_int_equal(chain(g, c, 4, VIRTIO_BLK_T_IN, 0, &len), VIRTIO_BLK_S_IOERR);
    assert_int_equal(len, 0);
    /* direction mismatches */
    struct tg_seg d[] = { hdr, { TG_DATA, 512, 0 }, st };
    assert_int_equal(chain(g, d, 3, VIRTIO_BLK_T_IN, 0, NULL), VIRTIO_BLK_S_IOERR);
    struct tg_seg e[] = { hdr, { TG_DATA, 512, VIRTQ_DESC_F_WRITE }, st };
    assert_int_equal(chain(g, e, 3, VIRTIO_BLK_T_OUT, 0, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(g->disk_data[0], 0x11);
    struct tg_seg f[] = { hdr, st, { TG_DATA, 512, 0 } };       /* readable after writable */
    assert_int_equal(chain(g, f, 3, VIRTIO_BLK_T_OUT, 0, NULL), VIRTIO_BLK_S_IOERR);
    /* zero-length data segment */
    struct tg_seg z[] = { hdr, { TG_DATA, 0, 0 }, { TG_DATA, 512, 0 }, st };
    assert_int_equal(chain(g, z, 4, VIRTIO_BLK_T_OUT, 0, NULL), VIRTIO_BLK_S_IOERR);
    /* short header, odd lengths, beyond the disk */
    struct tg_seg s[] = { { TG_HDR, 8, 0 }, st };
    assert_int_equal(chain(g, s, 2, VIRTIO_BLK_T_FLUSH, 0, NULL), VIRTIO_BLK_S_IOERR);
    struct tg_seg o[] = { hdr, { TG_DATA, 100, 0 }, st };
    assert_int_equal(chain(g, o, 3, VIRTIO_BLK_T_OUT, 0, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(chain(g, a + 0, 1, VIRTIO_BLK_T_IN, 0, NULL), 0xEE);   /* header only: NEEDS_RESET */
    tg_free(g);
    g = ready(512, 0, true);
    struct tg_seg r[] = { hdr, { TG_DATA, 1024, VIRTQ_DESC_F_WRITE }, st };
    assert_int_equal(chain(g, r, 3, VIRTIO_BLK_T_IN, DISK / 512 - 1, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(chain(g, r, 3, VIRTIO_BLK_T_IN, ~0ull, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(chain(g, r, 3, VIRTIO_BLK_T_IN, ~0ull / 512, NULL), VIRTIO_BLK_S_IOERR);
    /* backend failure */
    g->disk.fail_next = true;
    assert_int_equal(chain(g, r, 3, VIRTIO_BLK_T_IN, 0, NULL), VIRTIO_BLK_S_IOERR);
    /* still healthy, one log line per refusal */
    assert_int_equal(tg_status(g) & VIRTIO_STATUS_NEEDS_RESET, 0);
    assert_int_equal(chain(g, r, 3, VIRTIO_BLK_T_IN, 0, NULL), VIRTIO_BLK_S_OK);
    assert_int_equal(lines(g), 3);
    assert_true(strstr(g->f.console, "beyond the end of the disk") != NULL);
    tg_free(g);
}

/* ---- hostile rings that need a reset ------------------------------------------------- */

static void expect_needs_reset(struct tguest *g, const char *why)
{
    if (!strstr(g->f.console, why))
        print_message("wanted \"%s\", console: %s\n", why, g->f.console);
    assert_true(tg_status(g) & VIRTIO_STATUS_NEEDS_RESET);
    assert_true(strstr(g->f.console, why) != NULL);
    /* config interrupt (MSI-X vector 0) */
    assert_true(g->f.msi_count > 0);
    assert_int_equal(g->f.msis[g->f.msi_count - 1].data, TG_CONFIG_VEC);
    /* stopped until reset */
    unsigned used = g->blk.stats.reads;
    tg_notify(g);
    assert_int_equal(g->blk.stats.reads, used);
    /* reset and carry on */
    assert_int_equal(tg_driver_init(g, VIRTIO_F_INDIRECT_DESC, 16, true), 0x0f);
    memset(g->f.console, 0, sizeof(g->f.console));
    g->f.console_len = 0;
    g->f.now_ns += 1000000000ull;           /* a fresh second for the log limit */
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_IN, 0, TG_DATA, 512, false), VIRTIO_BLK_S_OK);
}

static void ring_errors(void **state)
{
    struct tguest *g = ready(512, VIRTIO_F_INDIRECT_DESC, true);
    /* loop: 0 -> 1 -> 0 */
    tg_write_desc(g, TG_DESC, 0, TG_HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    tg_write_desc(g, TG_DESC, 1, TG_DATA, 512, VIRTQ_DESC_F_NEXT, 0);
    tg_avail(g, 0);
    tg_notify(g);
    expect_needs_reset(g, "loops");
    /* next out of range */
    tg_write_desc(g, TG_DESC, 0, TG_HDR, 16, VIRTQ_DESC_F_NEXT, 16);
    tg_avail(g, 0);
    tg_notify(g);
    expect_needs_reset(g, "out of range");
    /* head out of range */
    tg_avail(g, 200);
    tg_notify(g);
    expect_needs_reset(g, "out of range");
    /* avail idx jumps past the queue size */
    tg_set_avail_idx(g, (uint16_t)(g->avail_idx + 17));
    tg_notify(g);
    expect_needs_reset(g, "more than the queue size");
    /* indirect table outside RAM */
    tg_write_desc(g, TG_DESC, 0, OUT_OF_RAM, 48, VIRTQ_DESC_F_INDIRECT, 0);
    tg_avail(g, 0);
    tg_notify(g);
    expect_needs_reset(g, "outside guest RAM");
    /* indirect table longer than the queue */
    tg_write_desc(g, TG_DESC, 0, TG_INDIRECT, 16 * 17, VIRTQ_DESC_F_INDIRECT, 0);
    tg_avail(g, 0);
    tg_notify(g);
    expect_needs_reset(g, "indirect table length");
    /* nested indirect */
    tg_write_desc(g, TG_INDIRECT, 0, TG_INDIRECT + 0x100, 32, VIRTQ_DESC_F_INDIRECT, 0);
    tg_write_desc(g, TG_DESC, 0, TG_INDIRECT, 16, VIRTQ_DESC_F_INDIRECT, 0);
    tg_avail(g, 0);
    tg_notify(g);
    expect_needs_reset(g, "nested indirect");
    /* indirect with NEXT */
    tg_write_desc(g, TG_DESC, 0, TG_INDIRECT, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
    tg_avail(g, 0);
    tg_notify(g);
    expect_needs_reset(g, "indirect descriptor with NEXT");
    /* status byte outside RAM */
    struct tg_seg s[] = { { TG_HDR, 16, 0 }, { OUT_OF_RAM, 1, VIRTQ_DESC_F_WRITE } };
    memset(g->ram + TG_HDR, 0, 16);
    g->ram[TG_HDR] = VIRTIO_BLK_T_FLUSH;
    tg_put_chain(g, 0, s, 2);
    tg_avail(g, 0);
    tg_notify(g);
    expect_needs_reset(g, "status byte");
    /* no writable byte at all */
    struct tg_seg ns[] = { { TG_HDR, 16, 0 } };
    tg_put_chain(g, 0, ns, 1);
    tg_avail(g, 0);
    tg_notify(g);
    expect_needs_reset(g, "no device-writable status byte");
    /* chain longer than the queue (all 16 linked and then back) */
    for (uint16_t i = 0; i < 16; i++)
        tg_write_desc(g, TG_DESC, i, TG_DATA, 512, VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % 16));
    tg_avail(g, 0);
    tg_notify(g);
    expect_needs_reset(g, "longer than the queue");
    /* used ring outside RAM: a queue programmed there is refused only at use */
    tg_free(g);
}

static void indirect_without_feature(void **state)
{
    struct tguest *g = ready(512, 0, true);
    tg_request(g, 0, VIRTIO_BLK_T_IN, 0, TG_DATA, 512, true);
    assert_true(tg_status(g) & VIRTIO_STATUS_NEEDS_RESET);
    assert_true(strstr(g->f.console, "without VIRTIO_F_INDIRECT_DESC") != NULL);
    tg_free(g);
}

static void log_is_rate_limited(void **state)
{
    struct tguest *g = ready(512, 0, true);
    for (unsigned i = 0; i < 50; i++)
        assert_int_equal(tg_do(g, 77, 0, 0, 0, false), VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(lines(g), 10);
    assert_int_equal(g->blk.vp.stats.log_dropped, 40);
    g->f.now_ns += 2000000000ull;
    tg_do(g, 77, 0, 0, 0, false);
    assert_int_equal(lines(g), 11);
    tg_free(g);
}

/* ---- asynchronous completion --------------------------------------------------------- */

static void async_out_of_order(void **state)
{
    struct tguest *g = ready(512, VIRTIO_F_EVENT_IDX | VIRTIO_BLK_F_FLUSH, true);
    g->disk.async = true;
    tg_fill_ram(g, TG_DATA, 2048, 9);
    for (unsigned s = 0; s < 3; s++)
        tg_request(g, s, VIRTIO_BLK_T_OUT, s, TG_DATA + 512 * s, 512, false);
    uint16_t h;
    uint32_t len;
    assert_false(tg_used(g, &h, &len));
    assert_int_equal(virtio_blk_inflight(&g->blk), 3);
    assert_int_equal(vblk_ram_complete(&g->disk, 1, true), 1);
    assert_true(tg_used(g, &h, &len));
    assert_int_equal(h, 8);                         /* slot 2's head */
    assert_int_equal(vblk_ram_complete(&g->disk, 8, false), 2);
    assert_true(tg_used(g, &h, &len));
    assert_int_equal(h, 0);
    assert_true(tg_used(g, &h, &len));
    assert_int_equal(h, 4);
    assert_memory_equal(g->disk_data, g->ram + TG_DATA, 1536);
    assert_int_equal(virtio_blk_inflight(&g->blk), 0);
    tg_free(g);
}

static void async_reset_drops_stale(void **state)
{
    struct tguest *g = ready(512, 0, true);
    g->disk.async = true;
    memset(g->disk_data, 0x42, 4096);
    tg_request(g, 0, VIRTIO_BLK_T_IN, 0, TG_DATA, 4096, false);
    assert_int_equal(virtio_blk_inflight(&g->blk), 1);
    /* the driver resets and reuses the memory */
    tg_common_write(g, VIRTIO_COMMON_STATUS, 1, 0);
    memset(g->ram + TG_DATA, 0, 4096);
    assert_int_equal(vblk_ram_complete(&g->disk, 8, false), 1);
    assert_int_equal(g->ram[TG_DATA], 0);          /* no late write into guest memory */
    assert_int_equal(g->ram[TG_USED + 2], 0);      /* no used entry */
    assert_int_equal(g->blk.stats.stale_completions, 1);
    assert_int_equal(virtio_blk_inflight(&g->blk), 0);
    tg_free(g);
}

static void async_slots_exhausted_then_resume(void **state)
{
    struct tguest *g = ready(512, 0, true);
    g->disk.async = true;
    /* fill every request slot with reads, then reset: the slots stay busy (stale) */
    for (unsigned s = 0; s < 16; s++)
        tg_request(g, s % 4, VIRTIO_BLK_T_IN, 0, TG_DATA, 512, false);
    tg_common_write(g, VIRTIO_COMMON_STATUS, 1, 0);
    assert_int_equal(virtio_blk_inflight(&g->blk), 16);
    for (unsigned i = 16; i < VIRTQ_MAX_SIZE; i++)
        g->blk.req[i].busy = true;                  /* pretend the rest are in flight too */
    assert_int_equal(tg_driver_init(g, 0, 16, true), 0x0f);
    tg_request(g, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
    uint16_t h;
    uint32_t len;
    assert_false(tg_used(g, &h, &len));
    assert_true(g->blk.stalled);
    assert_int_equal(vblk_ram_complete(&g->disk, 1, false), 1);     /* frees one slot */
    assert_int_equal(vblk_ram_complete(&g->disk, 1, true), 1);      /* the flush itself */
    assert_true(tg_used(g, &h, &len));
    assert_int_equal(g->ram[TG_STATUS], VIRTIO_BLK_S_OK);
    for (unsigned i = 16; i < VIRTQ_MAX_SIZE; i++)
        g->blk.req[i].busy = false;
    tg_free(g);
}

/* ---- bounded work per notify ----------------------------------------------------------- */

#define POLL_TIMER 70

/* A read chain at descriptors head, head+1, head+2 (header and status per slot). */
static void put_read(struct tguest *g, uint16_t head, unsigned slot, uint64_t sector,
                     uint64_t gpa, uint32_t len)
{
    uint64_t hdr = TG_HDR + 16u * slot;
    memset(g->ram + hdr, 0, 16);
    g->ram[hdr + 8] = (uint8_t)sector;
    g->ram[TG_STATUS + slot] = 0xAA;
    struct tg_seg s[3] = { { hdr, 16, 0 }, { gpa, len, VIRTQ_DESC_F_WRITE },
                           { TG_STATUS + slot, 1, VIRTQ_DESC_F_WRITE } };
    tg_put_chain(g, head, s, 3);
    tg_avail(g, head);
}

static unsigned used_count(struct tguest *g)
{
    unsigned n = 0;
    uint16_t h;
    uint32_t len;
    while (tg_used(g, &h, &len))
        n++;
    return n;
}

/* Five reads of 32 KiB in one notify: the notify arms the poll timer, each poll moves
 * one budget of bytes and re-arms it, and polls finish the rest. */
static void notify_work_is_bounded(void **state)
{
    struct tguest *g = ready(512, 0, true);
    virtio_blk_set_poll_timer(&g->blk, POLL_TIMER);
    for (unsigned i = 0; i < DISK; i++)
        g->disk_data[i] = (uint8_t)(i * 13 + (i >> 9));
    for (unsigned r = 0; r < 5; r++)
        put_read(g, (uint16_t)(3 * r), r, 64 * r, TG_DATA + 0x8000u * r, 0x8000);
    g->f.timers[POLL_TIMER] = 0;
    tg_notify(g);
    assert_int_equal(used_count(g), 0);                           /* the exit only arms */
    assert_true(g->f.timers[POLL_TIMER] != 0);
    g->f.timers[POLL_TIMER] = 0;
    assert_true(virtio_blk_poll(&g->blk));
    unsigned done = used_count(g);
    assert_true(done * 0x8000u <= VIRTIO_BLK_BUDGET_BYTES);
    assert_true(done < 5);
    assert_true(g->f.timers[POLL_TIMER] != 0);                   /* the rest is not forgotten */
    unsigned polls = 0;
    while (virtio_blk_poll(&g->blk) && polls < 100) {
        polls++;
        done += used_count(g);
    }
    done += used_count(g);
    assert_int_equal(done, 5);
    for (unsigned r = 0; r < 5; r++) {
        assert_int_equal(g->ram[TG_STATUS + r], VIRTIO_BLK_S_OK);
        assert_memory_equal(g->ram + TG_DATA + 0x8000u * r, g->disk_data + 0x8000u * r, 0x8000);
    }
    assert_true(g->blk.stats.budget_stops > 0);
    assert_int_equal(virtio_blk_inflight(&g->blk), 0);
    tg_free(g);
}

/* One 512 KiB read goes to the backend in pieces, one budget per poll, and completes
 * once, with the whole length. */
static void large_request_in_pieces(void **state)
{
    struct tguest *g = ready(512, 0, true);
    virtio_blk_set_poll_timer(&g->blk, POLL_TIMER);
    const uint32_t len = 512u << 10;
    for (unsigned i = 0; i < len; i++)
        g->disk_data[i] = (uint8_t)(i * 7 + (i >> 12));
    put_read(g, 0, 0, 0, TG_DATA, len);
    tg_notify(g);
    virtio_blk_poll(&g->blk);
    uint16_t h;
    uint32_t used_len;
    assert_false(tg_used(g, &h, &used_len));                     /* not in one poll */
    assert_memory_equal(g->ram + TG_DATA, g->disk_data, VIRTIO_BLK_BUDGET_BYTES);
    assert_int_equal(g->ram[TG_DATA + VIRTIO_BLK_BUDGET_BYTES], 0);
    unsigned polls = 0;
    while (!tg_used(g, &h, &used_len) && polls < 100) {
        assert_true(g->f.timers[POLL_TIMER] != 0);
        virtio_blk_poll(&g->blk);
        polls++;
    }
    assert_int_equal(polls, len / VIRTIO_BLK_BUDGET_BYTES - 1);
    assert_int_equal(used_len, len + 1);
    assert_int_equal(g->ram[TG_STATUS], VIRTIO_BLK_S_OK);
    assert_memory_equal(g->ram + TG_DATA, g->disk_data, len);
    assert_int_equal(g->blk.stats.reads, 1);
    assert_false(virtio_blk_poll(&g->blk));
    tg_free(g);
}

/* A reset between two pieces drops the request: no late write, no used entry. */
static void reset_between_pieces(void **state)
{
    struct tguest *g = ready(512, 0, true);
    virtio_blk_set_poll_timer(&g->blk, POLL_TIMER);
    memset(g->disk_data, 0x5a, 256u << 10);
    put_read(g, 0, 0, 0, TG_DATA, 256u << 10);
    tg_notify(g);
    virtio_blk_poll(&g->blk);
    assert_int_equal(virtio_blk_inflight(&g->blk), 1);
    tg_common_write(g, VIRTIO_COMMON_STATUS, 1, 0);
    assert_int_equal(virtio_blk_inflight(&g->blk), 0);
    assert_false(virtio_blk_poll(&g->blk));
    assert_int_equal(g->ram[TG_DATA + VIRTIO_BLK_BUDGET_BYTES], 0);
    assert_int_equal(g->ram[TG_USED + 2], 0);
    tg_free(g);
}

/* With intake paused (a checkpoint), a request already taken finishes in its pieces, the
 * one behind it stays in the avail ring untouched; unpaused, the poll timer takes it. */
static void pause_intake_finishes_taken(void **state)
{
    struct tguest *g = ready(512, 0, true);
    virtio_blk_set_poll_timer(&g->blk, POLL_TIMER);
    memset(g->disk_data, 0x3c, 512u << 10);
    put_read(g, 0, 0, 0, TG_DATA, 128u << 10);
    put_read(g, 3, 1, 0, TG_DATA + (256u << 10), 128u << 10);
    tg_notify(g);
    virtio_blk_poll(&g->blk);                   /* one budget: the first request only */
    assert_int_equal(virtio_blk_inflight(&g->blk), 1);
    virtio_blk_pause_intake(&g->blk, true);
    unsigned polls = 0;
    while (virtio_blk_poll(&g->blk) && polls < 100)
        polls++;
    assert_int_equal(virtio_blk_inflight(&g->blk), 0);
    assert_int_equal(g->ram[TG_USED + 2], 1);   /* used idx: the first only */
    assert_int_equal(g->ram[TG_STATUS], VIRTIO_BLK_S_OK);
    assert_int_equal(g->ram[TG_STATUS + 1], 0xAA);
    assert_int_equal(g->ram[TG_DATA + (256u << 10)], 0);
    tg_notify(g);                               /* a notify while paused takes nothing */
    assert_false(virtio_blk_poll(&g->blk));
    assert_int_equal(g->ram[TG_USED + 2], 1);
    g->f.timers[POLL_TIMER] = 0;
    virtio_blk_pause_intake(&g->blk, false);
    assert_true(g->f.timers[POLL_TIMER] != 0);
    polls = 0;
    while (g->ram[TG_USED + 2] != 2 && polls < 100) {
        virtio_blk_poll(&g->blk);
        polls++;
    }
    assert_int_equal(g->ram[TG_STATUS + 1], VIRTIO_BLK_S_OK);
    assert_memory_equal(g->ram + TG_DATA + (256u << 10), g->disk_data, 128u << 10);
    tg_free(g);
}

/* A slow disk (0.3 ms a piece): one poll stops starting pieces once its time is up. */
static struct tguest *slow;

static enum vblk_status slow_read(void *ctx, struct vblk_io *io)
{
    slow->f.now_ns += 300000;
    return vblk_ram_backend.read(ctx, io);
}

static void slow_disk_time_budget(void **state)
{
    struct tguest *g = ready(512, 0, true);
    virtio_blk_set_poll_timer(&g->blk, POLL_TIMER);
    static struct vblk_backend slow_backend;
    slow_backend = vblk_ram_backend;
    slow_backend.read = slow_read;
    g->blk.backend = &slow_backend;
    slow = g;
    memset(g->disk_data, 0x77, 256u << 10);
    put_read(g, 0, 0, 0, TG_DATA, 256u << 10);
    tg_notify(g);
    uint64_t t0 = g->f.now_ns;
    virtio_blk_poll(&g->blk);
    uint64_t took = g->f.now_ns - t0;
    assert_true(took >= 300000 && took < VIRTIO_BLK_BUDGET_NS + 300000);
    assert_int_equal(g->ram[TG_DATA + (took / 300000) * VIRTIO_BLK_PIECE_BYTES], 0);
    unsigned polls = 0;
    uint16_t h;
    uint32_t len;
    while (!tg_used(g, &h, &len) && polls < 1000) {
        t0 = g->f.now_ns;
        virtio_blk_poll(&g->blk);
        assert_true(g->f.now_ns - t0 < VIRTIO_BLK_BUDGET_NS + 300000);
        polls++;
    }
    assert_int_equal(len, (256u << 10) + 1);
    assert_memory_equal(g->ram + TG_DATA, g->disk_data, 256u << 10);
    tg_free(g);
}

/* Another vCPU advances avail->idx while the device works (here: from inside the
 * backend, once per request): one poll still takes at most a budget of requests. */
static struct tguest *feeder;
static unsigned feeder_reads;

static enum vblk_status feeding_read(void *ctx, struct vblk_io *io)
{
    enum vblk_status st = vblk_ram_backend.read(ctx, io);
    if (++feeder_reads < 1000)
        tg_avail(feeder, 0);
    return st;
}

static void avail_fed_during_notify(void **state)
{
    struct tguest *g = ready(512, 0, true);
    virtio_blk_set_poll_timer(&g->blk, POLL_TIMER);
    static struct vblk_backend feeding;
    feeding = vblk_ram_backend;
    feeding.read = feeding_read;
    g->blk.backend = &feeding;
    feeder = g;
    feeder_reads = 0;
    put_read(g, 0, 0, 0, TG_DATA, 512);
    tg_notify(g);
    virtio_blk_poll(&g->blk);
    assert_true(feeder_reads <= VIRTIO_BLK_BUDGET_REQUESTS);
    assert_true(g->f.timers[POLL_TIMER] != 0);
    unsigned before = feeder_reads;
    virtio_blk_poll(&g->blk);                                    /* each poll: one budget too */
    assert_true(feeder_reads - before <= VIRTIO_BLK_BUDGET_REQUESTS);
    assert_false(virtio_pci_broken(&g->blk.vp));
    tg_free(g);
}

/* A write in two data segments, larger than a piece and a budget, then read back
 * through an indirect table: pieces cross segments in both directions. */
static void pieces_cross_segments(void **state)
{
    struct tguest *g = ready(512, VIRTIO_F_INDIRECT_DESC, true);
    virtio_blk_set_poll_timer(&g->blk, POLL_TIMER);
    const uint32_t half = 0x9000;                                 /* 36 KiB each */
    tg_fill_ram(g, TG_DATA, 2 * half, 5);
    uint64_t hdr = TG_HDR;
    memset(g->ram + hdr, 0, 16);
    g->ram[hdr] = VIRTIO_BLK_T_OUT;
    g->ram[hdr + 8] = 8;
    g->ram[TG_STATUS] = 0xAA;
    struct tg_seg s[4] = { { hdr, 16, 0 }, { TG_DATA, half, 0 }, { TG_DATA + half, half, 0 },
                           { TG_STATUS, 1, VIRTQ_DESC_F_WRITE } };
    tg_put_chain(g, 0, s, 4);
    tg_avail(g, 0);
    tg_notify(g);
    uint16_t h;
    uint32_t len;
    unsigned polls = 0;
    while (!tg_used(g, &h, &len) && polls++ < 100)
        virtio_blk_poll(&g->blk);
    assert_int_equal(g->ram[TG_STATUS], VIRTIO_BLK_S_OK);
    assert_int_equal(len, 1);
    assert_memory_equal(g->disk_data + 8 * 512, g->ram + TG_DATA, 2 * half);
    tg_request(g, 1, VIRTIO_BLK_T_IN, 8, TG_DATA + 0x20000, 2 * half, true);
    polls = 0;
    while (!tg_used(g, &h, &len) && polls++ < 100)
        virtio_blk_poll(&g->blk);
    assert_int_equal(g->ram[TG_STATUS + 1], VIRTIO_BLK_S_OK);
    assert_int_equal(len, 2 * half + 1);
    assert_memory_equal(g->ram + TG_DATA + 0x20000, g->ram + TG_DATA, 2 * half);
    tg_free(g);
}

static void attach_pool(void **state)
{
    struct tguest *g = tg_new(DISK, 512, false);
    struct virtio_blk *b = virtio_blk_attach(&g->host, 4, &g->f.plat, &vblk_ram_backend, &g->disk);
    assert_non_null(b);
    assert_int_equal(tg_cfg_read(g, 4, 0, 4), 0x10421af4);
    assert_null(virtio_blk_attach(&g->host, 4, &g->f.plat, &vblk_ram_backend, &g->disk));
    struct vblk_ram bad;
    vblk_ram_init(&bad, g->disk_data, DISK, 1024);
    assert_null(virtio_blk_attach(&g->host, 5, &g->f.plat, &vblk_ram_backend, &bad));
    virtio_blk_set_serial(b, "0123456789abcdefghijKLMN");
    assert_memory_equal(b->serial, "0123456789abcdefghij", 20);
    virtio_blk_detach(b);
    tg_free(g);
}

/* The device offers discards of up to max_discard_sectors (2 GiB): one larger than a
 * read or write may be (64 MiB) is done, not refused. */
static void discard_beyond_64_mib(void **state)
{
    const uint64_t disk = 80u << 20, bytes = 72u << 20;
    struct tguest *g = tg_new(disk, 512, false);
    tg_enable_pci(g);
    assert_int_equal(tg_driver_init(g, VIRTIO_BLK_F_DISCARD, 16, false), 0x0f);
    memset(g->disk_data, 0x5a, disk);
    uint8_t *range = g->ram + TG_DATA;
    memset(range, 0, 16);
    range[0] = 8;                                   /* sector 8 */
    uint32_t count = (uint32_t)(bytes / 512);
    memcpy(range + 8, &count, 4);
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_DISCARD, 0, TG_DATA, 16, false), VIRTIO_BLK_S_OK);
    assert_int_equal(g->disk_data[4095], 0x5a);
    assert_int_equal(g->disk_data[4096], 0);
    assert_int_equal(g->disk_data[4096 + bytes - 1], 0);
    assert_int_equal(g->disk_data[4096 + bytes], 0x5a);
    tg_free(g);
}

/* A guest of 64 GiB (reads past the fake's buffer see zeros) whose reads are counted: a
 * chain of a few 4 GiB segments, all "in RAM", must be refused before the device probes
 * each page of them (millions of reads, with the partition's lock held and interrupts
 * off in the hypervisor). */
static unsigned long big_reads;

static bool big_gpa_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct tguest *g = ctx;
    big_reads++;
    if (gpa >= (64ull << 30) || len > (64ull << 30) - gpa)
        return false;
    if (gpa < TG_RAM_SIZE && len <= TG_RAM_SIZE - gpa)
        memcpy(buf, g->ram + gpa, len);
    else
        memset(buf, 0, len);
    return true;
}

static void huge_chain_refused_quickly(void **state)
{
    struct tguest *g = tg_new(1 << 20, 512, false);
    tg_enable_pci(g);
    assert_int_equal(tg_driver_init(g, 0, 16, false), 0x0f);
    g->f.plat.gpa_read = big_gpa_read;
    struct tg_seg s[9] = { { TG_HDR, 16, 0 } };
    for (unsigned i = 1; i <= 7; i++)
        s[i] = (struct tg_seg){ (uint64_t)i << 33, 0xfffff000u, VIRTQ_DESC_F_WRITE };
    s[8] = (struct tg_seg){ TG_STATUS, 1, VIRTQ_DESC_F_WRITE };
    memset(g->ram + TG_HDR, 0, 16);                 /* a read of sector 0 */
    g->ram[TG_STATUS] = 0xee;
    tg_put_chain(g, 0, s, 9);
    tg_avail(g, 0);
    big_reads = 0;
    tg_notify(g);
    uint16_t head;
    uint32_t len;
    assert_true(tg_used(g, &head, &len));
    assert_int_equal(head, 0);
    assert_int_equal(g->ram[TG_STATUS], VIRTIO_BLK_S_IOERR);
    assert_true(big_reads < 1000);
    assert_int_equal(tg_status(g) & 0x40, 0);       /* the device carries on */
    tg_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(write_read_flush_id),
        cmocka_unit_test(indirect_and_event_idx),
        cmocka_unit_test(discard_and_4k_sectors),
        cmocka_unit_test(read_only_disk),
        cmocka_unit_test(request_errors),
        cmocka_unit_test(ring_errors),
        cmocka_unit_test(indirect_without_feature),
        cmocka_unit_test(log_is_rate_limited),
        cmocka_unit_test(async_out_of_order),
        cmocka_unit_test(async_reset_drops_stale),
        cmocka_unit_test(async_slots_exhausted_then_resume),
        cmocka_unit_test(notify_work_is_bounded),
        cmocka_unit_test(large_request_in_pieces),
        cmocka_unit_test(reset_between_pieces),
        cmocka_unit_test(avail_fed_during_notify),
        cmocka_unit_test(slow_disk_time_budget),
        cmocka_unit_test(pause_intake_finishes_taken),
        cmocka_unit_test(pieces_cross_segments),
        cmocka_unit_test(attach_pool),
        cmocka_unit_test(huge_chain_refused_quickly),
        cmocka_unit_test(discard_beyond_64_mib),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
