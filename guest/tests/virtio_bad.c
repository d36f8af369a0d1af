/*
 * A malformed-virtio guest: sends each bad descriptor case to virtio-blk and checks it is
 * refused (status IOERR/UNSUPP, or the device sets DEVICE_NEEDS_RESET), resetting the
 * device between cases, then checks a good request still works.  Under Atoll every case
 * must be refused; other devices (QEMU's) may accept a few layouts that the spec leaves
 * to the device, which are then SKIPs.
 */
#include "guest/tests/virtio_drv.h"

DEFINE_TEST("virtio_bad");

#define OUTSIDE_RAM (1ull << 40)      /* 1 TiB: no RAM and no device window there */

static uint8_t buf[16384] __attribute__((aligned(4096)));
static bool atoll;

enum outcome { ACCEPTED, IOERR, UNSUPP, NEEDS_RESET, TIMEOUT };

static const char *names[] = { "accepted", "IOERR", "UNSUPP", "NEEDS_RESET", "no answer" };

static enum outcome submit(struct vd *d, uint16_t head)
{
    vd_status_byte = 0xAA;
    vd_kick(d, head);
    int r = vd_wait(d, NULL, 1000000);
    if (r < 0 || (vd_status(d) & VD_S_NEEDS_RESET))
        return NEEDS_RESET;
    if (r == 0)
        return TIMEOUT;
    return vd_status_byte == 0 ? ACCEPTED : vd_status_byte == 2 ? UNSUPP : IOERR;
}

/* strict: every device must refuse it; else only Atoll must. */
static void check(struct vd *d, const char *what, enum outcome got, bool strict)
{
    bool refused = got == IOERR || got == UNSUPP || got == NEEDS_RESET;
    if (!refused && !strict && !atoll)
        report_skip("%s: %s by this device (refused under Atoll)", what, names[got]);
    else
        report(refused, "%s: %s", what, names[got]);
    if (!vd_init(d, VD_F_INDIRECT, false))
        report_fatal("device did not come back after a reset");
}

static void header(uint32_t type, uint64_t sector)
{
    vd_hdr = (struct vd_req_hdr){ type, 0, sector };
}

#define HDR ((uintptr_t)&vd_hdr)
#define ST  ((uintptr_t)&vd_status_byte)
#define BUF ((uintptr_t)buf)

static enum outcome chain(struct vd *d, const struct vd_seg *s, unsigned n)
{
    vd_put_chain(VD_DESC, s, n);
    return submit(d, 0);
}

static void buffers(struct vd *d)
{
    header(VD_T_IN, 0);
    struct vd_seg a[] = { { HDR, 16, 0 }, { OUTSIDE_RAM, 8192, VD_DESC_WRITE }, { ST, 1, VD_DESC_WRITE } };
    check(d, "data buffer outside guest RAM", chain(d, a, 3), false);
    header(VD_T_OUT, 0);
    struct vd_seg b[] = { { HDR, 16, 0 }, { boot_ram_end() - 512, 8192, 0 }, { ST, 1, VD_DESC_WRITE } };
    check(d, "data buffer running off the end of RAM", chain(d, b, 3), false);
    header(VD_T_IN, 0);
    struct vd_seg z[] = { { HDR, 16, 0 }, { BUF, 0, VD_DESC_WRITE }, { BUF, 512, VD_DESC_WRITE },
                          { ST, 1, VD_DESC_WRITE } };
    check(d, "zero-length data segment", chain(d, z, 4), true);
    struct vd_seg rd[] = { { HDR, 16, 0 }, { BUF, 512, 0 }, { ST, 1, VD_DESC_WRITE } };
    check(d, "read with a device-readable data buffer", chain(d, rd, 3), false);
    header(VD_T_OUT, 0);
    struct vd_seg wr[] = { { HDR, 16, 0 }, { BUF, 512, VD_DESC_WRITE }, { ST, 1, VD_DESC_WRITE } };
    check(d, "write with a device-writable data buffer", chain(d, wr, 3), false);
    struct vd_seg ro[] = { { HDR, 16, 0 }, { BUF, 512, 0 }, { ST, 1, 0 } };
    check(d, "no device-writable status byte", chain(d, ro, 3), true);
    header(VD_T_IN, 0);
    struct vd_seg order[] = { { HDR, 8, 0 }, { BUF, 512, VD_DESC_WRITE }, { HDR + 8, 8, 0 },
                              { ST, 1, VD_DESC_WRITE } };
    check(d, "device-readable descriptor after a device-writable one", chain(d, order, 4), true);
}

static void headers(struct vd *d, uint64_t capacity)
{
    header(VD_T_IN, 0);
    struct vd_seg s[] = { { HDR, 8, 0 }, { ST, 1, VD_DESC_WRITE } };
    check(d, "request header of 8 bytes", chain(d, s, 2), true);
    header(0x99, 0);
    struct vd_seg u[] = { { HDR, 16, 0 }, { ST, 1, VD_DESC_WRITE } };
    check(d, "unknown request type", chain(d, u, 2), true);
    header(VD_T_IN, capacity);
    struct vd_seg e[] = { { HDR, 16, 0 }, { BUF, 512, VD_DESC_WRITE }, { ST, 1, VD_DESC_WRITE } };
    check(d, "read past the end of the disk", chain(d, e, 3), true);
    header(VD_T_OUT, ~0ull / 256);
    e[1].flags = 0;
    check(d, "write at a huge sector", chain(d, e, 3), true);
}

static void rings(struct vd *d)
{
    header(VD_T_IN, 0);
    vd_put_desc(VD_DESC, 0, HDR, 16, VD_DESC_NEXT, 1);
    vd_put_desc(VD_DESC, 1, BUF, 512, VD_DESC_WRITE | VD_DESC_NEXT, 0);
    check(d, "descriptor chain that loops", submit(d, 0), true);
    for (unsigned i = 0; i < d->qsize; i++)
        vd_put_desc(VD_DESC, i, BUF, 512, VD_DESC_WRITE | VD_DESC_NEXT, (uint16_t)(i + 1));
    vd_put_desc(VD_DESC, 0, HDR, 16, VD_DESC_NEXT, 1);
    check(d, "chain running past the queue size", submit(d, 0), true);
    check(d, "head index beyond the queue", submit(d, (uint16_t)(d->qsize + 3)), true);
    struct vd_seg g[] = { { HDR, 16, 0 }, { BUF, 512, VD_DESC_WRITE }, { ST, 1, VD_DESC_WRITE } };
    vd_put_chain(VD_DESC, g, 3);
    VD_AVAIL[2] = 0;
    d->avail_idx = (uint16_t)(d->avail_idx + d->qsize + 5);
    check(d, "avail index jumping past the queue size", submit(d, 0), true);
}

static void indirect(struct vd *d)
{
    header(VD_T_IN, 0);
    vd_put_desc(VD_DESC, 0, OUTSIDE_RAM, 48, VD_DESC_INDIRECT, 0);
    check(d, "indirect table outside guest RAM", submit(d, 0), false);
    vd_put_desc(VD_INDIRECT, 0, (uintptr_t)VD_INDIRECT + 256, 48, VD_DESC_INDIRECT, 0);
    vd_put_desc(VD_DESC, 0, (uintptr_t)VD_INDIRECT, 16, VD_DESC_INDIRECT, 0);
    check(d, "nested indirect table", submit(d, 0), true);
    struct vd_seg s[] = { { HDR, 16, 0 }, { BUF, 512, VD_DESC_WRITE }, { ST, 1, VD_DESC_WRITE } };
    vd_put_chain(VD_INDIRECT, s, 3);
    vd_put_desc(VD_DESC, 0, (uintptr_t)VD_INDIRECT, 16 * 3, VD_DESC_INDIRECT | VD_DESC_NEXT, 1);
    check(d, "indirect descriptor with NEXT", submit(d, 0), false);
    vd_put_desc(VD_DESC, 0, (uintptr_t)VD_INDIRECT, 16 * 3 - 8, VD_DESC_INDIRECT, 0);
    check(d, "indirect table length not a multiple of 16", submit(d, 0), true);
    vd_put_desc(VD_DESC, 0, (uintptr_t)VD_INDIRECT, 0, VD_DESC_INDIRECT, 0);
    check(d, "indirect table of length 0", submit(d, 0), true);
    vd_put_desc(VD_DESC, 0, (uintptr_t)VD_INDIRECT, 16 * (d->qsize + 1u), VD_DESC_INDIRECT, 0);
    for (unsigned i = 0; i <= d->qsize; i++)
        vd_put_desc(VD_INDIRECT, i, BUF, 512, VD_DESC_WRITE | VD_DESC_NEXT, (uint16_t)(i + 1));
    vd_put_desc(VD_INDIRECT, 0, HDR, 16, VD_DESC_NEXT, 1);
    vd_put_desc(VD_INDIRECT, d->qsize, ST, 1, VD_DESC_WRITE, 0);
    check(d, "indirect table longer than the queue", submit(d, 0), false);
}

void test_main(void)
{
    struct vd d;
    uint64_t bars[6];
    atoll = atoll_present();
    if (!vd_find(&d)) {
        report_skip("no virtio-blk PCI function (1AF4:1042) on bus 0");
        return;
    }
    vd_place_bars(&d, bars);
    if (!report(vd_caps(&d, bars), "virtio capabilities found at 00:%02x.0", d.slot))
        return;
    bool up = vd_init(&d, VD_F_INDIRECT, false);
    if (!report(up, "device set up (features %#lx)", (unsigned long)d.features))
        return;
    uint64_t capacity = vd_r32(d.devcfg) | (uint64_t)vd_r32(d.devcfg + 4) << 32;
    buffers(&d);
    headers(&d, capacity);
    rings(&d);
    if (d.features & VD_F_INDIRECT)
        indirect(&d);
    else
        report_skip("indirect descriptors not offered");
    memset(buf, 0, 512);
    report(vd_rw(&d, VD_T_IN, 0, buf, 512, false) == 0, "a good request still works");
    vd_reset(&d);
}
