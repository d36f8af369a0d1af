/*
 * A well-behaved virtio-blk driver: finds 1AF4:1042 on bus 0, places its BARs, sets up
 * MSI-X (vector 0x51 for the queue) and one queue, then writes and reads back sectors
 * (direct and indirect descriptors, several data segments), the last sector, a flush and
 * get-id, and checks a request past the end fails with IOERR; then descriptor layouts
 * the spec lets a driver choose (header split, data and status in one buffer, the used
 * length), which every conformant device takes.  The disk's first 64 KiB and its last
 * sector are overwritten.  `loops=N` repeats the write/read pass.
 */
#include "guest/tests/virtio_drv.h"

DEFINE_TEST("virtio_io");

#define QUEUE_VECTOR  0x51
#define CONFIG_VECTOR 0x52
#define BUF_BYTES     (32u << 10)

static uint8_t wbuf[BUF_BYTES] __attribute__((aligned(4096)));
static uint8_t rbuf[BUF_BYTES] __attribute__((aligned(4096)));
static volatile unsigned queue_irqs, config_irqs;

static void on_queue(struct irq_frame *f)
{
    queue_irqs++;
    lapic_eoi();
}

static void on_config(struct irq_frame *f)
{
    config_irqs++;
    lapic_eoi();
}

static bool setup(struct vd *d, uint64_t *capacity, uint32_t *blk)
{
    uint64_t bars[6];
    vd_place_bars(d, bars);
    if (!report(vd_caps(d, bars), "virtio capabilities: common, notify, ISR, device config"))
        return false;
    bool msix = d->msix_table != 0 && lapic_enable(LAPIC_XAPIC);
    if (msix) {
        irq_set_handler(QUEUE_VECTOR, on_queue);
        irq_set_handler(CONFIG_VECTOR, on_config);
        vd_msix_entry(d, 0, CONFIG_VECTOR);
        vd_msix_entry(d, 1, QUEUE_VECTOR);
        vd_msix_enable(d, true);
    }
    bool up = vd_init(d, VD_F_INDIRECT | VD_F_FLUSH | VD_F_BLK_SIZE, msix);
    if (!report(up, "feature negotiation and queue set-up (features %#lx, queue %u, %s)",
                (unsigned long)d->features, d->qsize, msix ? "MSI-X" : "polling"))
        return false;
    *capacity = vd_r32(d->devcfg) | (uint64_t)vd_r32(d->devcfg + 4) << 32;
    *blk = d->features & VD_F_BLK_SIZE ? vd_r32(d->devcfg + 0x14) : 512;
    return report(*capacity >= 2 * BUF_BYTES / 512 && (*blk == 512 || *blk == 4096),
                  "capacity %lu sectors, block size %u", (unsigned long)*capacity, *blk);
}

static void fill(unsigned pass)
{
    for (unsigned i = 0; i < BUF_BYTES; i++)
        wbuf[i] = (uint8_t)(i * 31 + (i >> 9) + pass * 17);
}

/* Writes wbuf in two data descriptors, reads it back through an indirect table. */
static bool write_read(struct vd *d, uint64_t sector)
{
    vd_hdr = (struct vd_req_hdr){ VD_T_OUT, 0, sector };
    vd_status_byte = 0xAA;
    struct vd_seg s[4] = {
        { (uintptr_t)&vd_hdr, 16, 0 }, { (uintptr_t)wbuf, BUF_BYTES / 2, 0 },
        { (uintptr_t)wbuf + BUF_BYTES / 2, BUF_BYTES / 2, 0 },
        { (uintptr_t)&vd_status_byte, 1, VD_DESC_WRITE },
    };
    vd_put_chain(VD_DESC, s, 4);
    vd_kick(d, 0);
    uint32_t len = 0;
    if (vd_wait(d, &len, VD_TIMEOUT_US) != 1 || vd_status_byte != 0)
        return false;
    memset(rbuf, 0, sizeof(rbuf));
    if (vd_rw(d, VD_T_IN, sector, rbuf, BUF_BYTES, d->features & VD_F_INDIRECT) != 0)
        return false;
    return memcmp(rbuf, wbuf, BUF_BYTES) == 0;
}

/* One chain at descriptor 0, waited for; the used length back. */
static bool run_chain(struct vd *d, const struct vd_seg *s, unsigned n, uint32_t *len)
{
    vd_put_chain(VD_DESC, s, n);
    vd_kick(d, 0);
    return vd_wait(d, len, VD_TIMEOUT_US) == 1;
}

/* virtio 1.2, 2.7.4.1: the device makes no assumption about the arrangement of
 * descriptors; 2.7.8.2: the used length covers no byte it did not write. */
static void layouts(struct vd *d, uint32_t blk, uint64_t capacity)
{
    uint32_t len = 0;
    memset(wbuf, 0x3c, blk);
    vd_hdr = (struct vd_req_hdr){ VD_T_OUT, 0, 0 };
    vd_status_byte = 0xAA;
    uintptr_t h = (uintptr_t)&vd_hdr, st = (uintptr_t)&vd_status_byte;
    struct vd_seg w[] = { { h, 8, 0 }, { h + 8, 8, 0 }, { (uintptr_t)wbuf, blk, 0 },
                          { st, 1, VD_DESC_WRITE } };
    bool ok = run_chain(d, w, 4, &len) && vd_status_byte == 0;
    report(ok && len == 1, "write with its header in two descriptors: status %u, used length %u",
           vd_status_byte, len);
    /* a read whose data and status share one buffer: the status is its last byte */
    vd_hdr = (struct vd_req_hdr){ VD_T_IN, 0, 0 };
    memset(rbuf, 0, blk + 1);
    rbuf[blk] = 0xAA;
    struct vd_seg r[] = { { h, 16, 0 }, { (uintptr_t)rbuf, blk + 1, VD_DESC_WRITE } };
    ok = run_chain(d, r, 2, &len) && rbuf[blk] == 0 && memcmp(rbuf, wbuf, blk) == 0;
    report(ok && len == blk + 1, "read into one buffer holding data and status: status %u, "
           "used length %u", rbuf[blk], len);
    /* an indirect table the spec asks no alignment of: 8 bytes into the page */
    volatile struct vd_desc *t = (volatile struct vd_desc *)((uintptr_t)VD_INDIRECT + 8);
    struct vd_seg in[] = { { h, 16, 0 }, { (uintptr_t)rbuf, blk, VD_DESC_WRITE },
                           { st, 1, VD_DESC_WRITE } };
    memset(rbuf, 0, blk);
    vd_status_byte = 0xAA;
    vd_put_chain(t, in, 3);
    vd_put_desc(VD_DESC, 0, (uintptr_t)t, 48, VD_DESC_INDIRECT, 0);
    vd_kick(d, 0);
    ok = (d->features & VD_F_INDIRECT) && vd_wait(d, &len, VD_TIMEOUT_US) == 1 &&
         vd_status_byte == 0 && memcmp(rbuf, wbuf, blk) == 0;
    if (d->features & VD_F_INDIRECT)
        report(ok, "read through an indirect table 8-byte aligned: status %u", vd_status_byte);
    /* a read of no data (0 is a multiple of 512) and a flush carrying a buffer (SHOULD
     * NOT, so allowed) both succeed (5.2.6.1) */
    report(vd_rw(d, VD_T_IN, 0, NULL, 0, false) == 0, "read of no data: OK");
    vd_hdr = (struct vd_req_hdr){ VD_T_FLUSH, 0, 0 };
    vd_status_byte = 0xAA;
    struct vd_seg f[] = { { h, 16, 0 }, { (uintptr_t)wbuf, blk, 0 }, { st, 1, VD_DESC_WRITE } };
    ok = run_chain(d, f, 3, &len) && vd_status_byte == 0;
    report(ok, "flush carrying a data buffer: status %u", vd_status_byte);
    if (!atoll_present())
        return;                     /* others may count unwritten bytes (2.7.8.2 allows less) */
    vd_hdr = (struct vd_req_hdr){ VD_T_IN, 0, capacity };
    vd_status_byte = 0xAA;
    struct vd_seg e[] = { { h, 16, 0 }, { (uintptr_t)rbuf, blk, VD_DESC_WRITE },
                          { st, 1, VD_DESC_WRITE } };
    ok = run_chain(d, e, 3, &len) && vd_status_byte == 1;
    report(ok && len == 0, "failed read: used length %u (no data written)", len);
}

void test_main(void)
{
    struct vd d;
    uint64_t capacity;
    uint32_t blk;
    if (!vd_find(&d)) {
        report_skip("no virtio-blk PCI function (1AF4:1042) on bus 0");
        return;
    }
    printf("virtio_io: virtio-blk at 00:%02x.0\n", d.slot);
    if (!setup(&d, &capacity, &blk))
        return;
    sti();
    unsigned loops = (unsigned)cmdline_u64("loops", 1);
    bool ok = true;
    for (unsigned pass = 0; pass < loops && ok; pass++) {
        fill(pass);
        ok = write_read(&d, (pass % 2) * (BUF_BYTES / 512));
    }
    report(ok, "write %u KiB (2 segments) and read it back (indirect) x%u", BUF_BYTES >> 10, loops);
    uint64_t last = capacity - blk / 512;
    memset(wbuf, 0x5a, blk);
    report(vd_rw(&d, VD_T_OUT, last, wbuf, blk, false) == 0 &&
           vd_rw(&d, VD_T_IN, last, rbuf, blk, false) == 0 && memcmp(rbuf, wbuf, blk) == 0,
           "last sector %lu written and read back", (unsigned long)last);
    report(vd_rw(&d, VD_T_FLUSH, 0, NULL, 0, false) == 0, "flush");
    memset(rbuf, 0, 21);
    report(vd_rw(&d, VD_T_GET_ID, 0, rbuf, 20, false) == 0, "get-id \"%s\"", (char *)rbuf);
    uint8_t st = vd_rw(&d, VD_T_IN, capacity, rbuf, blk, false);
    report(st == 1, "read past the end: IOERR (status %u)", st);
    layouts(&d, blk, capacity);
    cli();
    if (d.msix_table && lapic_mode() == LAPIC_XAPIC)
        report(queue_irqs > 0, "MSI-X queue interrupts: %u", queue_irqs);
    vd_reset(&d);
}
