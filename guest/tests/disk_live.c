/*
 * A write-and-verify workload for live disk operations: 4 numbered blocks of 16 KiB,
 * 1 MiB apart (so every MiB of a 4 MiB disk is written each round), each written with
 * the pattern of (block, round), read back and compared, then a flush; the round is
 * printed ("disk_live: round R verified") so the manifest's [script] can start jobs on the
 * disk while the rounds go on.  After the last round every block is read back once more.
 * `rounds=N` (default 30).  With `carry=1` each block is first read and checked to hold the
 * round before's pattern (what the disk kept between rounds: after a move to another host,
 * bytes only the old host had).  With `check=1` nothing is written: each block is read and
 * must hold a whole pattern of some round (the disk as another host left it), and with
 * `base=R` blocks 4 and 5 (4 and 5 MiB on: a parent's, never written here) hold round R's
 * (tests/net/run-svm-storage-chain-test).  The host checks what the disk's file holds afterwards
 * (tests/storage/disk-live-check computes the same pattern).  It waits for each request
 * halted until the queue's MSI-X interrupt (no polling: under an emulator the device's
 * worker gets the time).
 */
#include "guest/tests/virtio_drv.h"

DEFINE_TEST("disk_live");

#define BLOCK_BYTES  (16u << 10)
#define BLOCKS       4u
#define STRIDE_BYTES (1u << 20)
#define QUEUE_VECTOR  0x51
#define CONFIG_VECTOR 0x52
#define LIVE_MAGIC   0x4c495645u     /* "LIVE" */

static uint32_t wbuf[BLOCK_BYTES / 4] __attribute__((aligned(4096)));
static uint32_t rbuf[BLOCK_BYTES / 4] __attribute__((aligned(4096)));

static volatile unsigned queue_irqs;

static void on_queue(struct irq_frame *f)
{
    queue_irqs++;
    lapic_eoi();
}

static void on_config(struct irq_frame *f)
{
    lapic_eoi();
}

/* One request, as vd_rw, waiting halted for the used entry; its status byte (0xEE: none
 * came back in 30 s of TSC). */
static uint8_t rw(struct vd *d, uint32_t type, uint64_t sector, void *buf, uint32_t len)
{
    vd_hdr = (struct vd_req_hdr){ type, 0, sector };
    vd_status_byte = 0xAA;
    struct vd_seg s[3] = { { (uintptr_t)&vd_hdr, 16, 0 } };
    unsigned n = 1;
    if (len)
        s[n++] = (struct vd_seg){ (uintptr_t)buf, len, type == VD_T_IN ? VD_DESC_WRITE : 0 };
    s[n++] = (struct vd_seg){ (uintptr_t)&vd_status_byte, 1, VD_DESC_WRITE };
    vd_put_chain(VD_DESC, s, n);
    cli();
    vd_kick(d, 0);
    uint64_t start = rdtsc(), limit = (uint64_t)VD_TIMEOUT_US * (tsc_hz() / 1000000);
    for (;;) {
        vd_mb();
        if (*(volatile uint16_t *)(VD_USED + 2) != d->last_used)
            break;
        if (rdtsc() - start >= limit) {
            sti();
            return 0xEE;
        }
        sti_hlt();          /* the completion's interrupt wakes it */
        cli();
    }
    d->last_used++;
    sti();
    return vd_status_byte;
}

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

/* Block b holds round r's pattern; `say`: a failure says whether the read failed (its
 * status) or read other bytes (tests/net/run-svm-storage-after-test tells them apart). */
static bool read_matches_say(struct vd *d, uint32_t b, uint32_t r, bool say, uint32_t round)
{
    fill(b, r);
    memset(rbuf, 0, sizeof(rbuf));
    uint8_t st = rw(d, VD_T_IN, sector_of(b), rbuf, BLOCK_BYTES);
    bool same = st == 0 && memcmp(rbuf, wbuf, BLOCK_BYTES) == 0;
    if (say && st != 0)
        printf("disk_live: round %u: block %u: read failed (status %u)\n", round, b, st);
    else if (say && !same)
        printf("disk_live: round %u: block %u does not hold round %u\n", round, b, r);
    return same;
}

static bool read_matches(struct vd *d, uint32_t b, uint32_t r)
{
    return read_matches_say(d, b, r, false, r);
}

/* check=1: reads only (see the top). */
static void check_only(struct vd *d, uint64_t capacity)
{
    uint32_t bad = 0, base = (uint32_t)cmdline_u64("base", 0);
    for (uint32_t b = 0; b < BLOCKS; b++) {
        memset(rbuf, 0, sizeof(rbuf));
        uint8_t st = rw(d, VD_T_IN, sector_of(b), rbuf, BLOCK_BYTES);
        uint32_t r = rbuf[2];
        fill(b, r);
        bool whole = st == 0 && memcmp(rbuf, wbuf, BLOCK_BYTES) == 0;
        if (whole)
            printf("disk_live: check: block %u holds round %u\n", b, r);
        else
            printf("disk_live: check: block %u holds no whole pattern (status %u)\n", b, st);
        bad += !whole;
    }
    for (uint32_t b = BLOCKS; base && b < BLOCKS + 2 && sector_of(b + 1) * 512 <= capacity * 512;
         b++) {
        bool same = read_matches(d, b, base);
        printf("disk_live: check: parent block %u %s round %u\n", b,
               same ? "holds" : "does not hold", base);
        bad += !same;
    }
    report(!bad, "check: every block a whole pattern%s (%u wrong)",
           base ? ", the parent's blocks as written into it" : "", bad);
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
    if (!report(vd_caps(&d, bars) && d.msix_table && lapic_enable(LAPIC_XAPIC),
                "virtio-blk at 00:%02x.0 with MSI-X", d.slot))
        return;
    irq_set_handler(QUEUE_VECTOR, on_queue);
    irq_set_handler(CONFIG_VECTOR, on_config);
    vd_msix_entry(&d, 0, CONFIG_VECTOR);
    vd_msix_entry(&d, 1, QUEUE_VECTOR);
    vd_msix_enable(&d, true);
    if (!report(vd_init(&d, VD_F_FLUSH, true), "feature negotiation and queue set-up"))
        return;
    uint64_t capacity = vd_r32(d.devcfg) | (uint64_t)vd_r32(d.devcfg + 4) << 32;
    if (!report(capacity * 512 >= (uint64_t)BLOCKS * STRIDE_BYTES,
                "capacity %lu sectors holds %u blocks %u KiB apart", (unsigned long)capacity,
                BLOCKS, STRIDE_BYTES >> 10))
        return;
    if (cmdline_u64("check", 0)) {
        check_only(&d, capacity);
        vd_reset(&d);
        return;
    }
    uint32_t rounds = (uint32_t)cmdline_u64("rounds", 30);
    bool carry = cmdline_u64("carry", 0) != 0;
    uint32_t bad = 0, r = 0;
    for (; r < rounds && !bad; r++) {
        for (uint32_t b = 0; b < BLOCKS && !bad; b++) {
            if (carry && r && !read_matches_say(&d, b, r - 1, true, r)) {
                bad = b + 1;
                break;
            }
            fill(b, r);
            uint8_t st = rw(&d, VD_T_OUT, sector_of(b), wbuf, BLOCK_BYTES);
            if (st != 0) {
                if (carry)
                    printf("disk_live: round %u: block %u: write failed (status %u)\n", r, b, st);
                bad = b + 1;
            } else if (!read_matches_say(&d, b, r, carry, r)) {
                bad = b + 1;
            }
        }
        if (!bad && rw(&d, VD_T_FLUSH, 0, NULL, 0) != 0)
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
    report(queue_irqs > 0, "waited on %u queue interrupts", queue_irqs);
    vd_reset(&d);
}
