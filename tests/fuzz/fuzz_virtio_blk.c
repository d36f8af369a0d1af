/*
 * Random descriptor tables, avail rings, indirect tables and request headers against a
 * virtio-blk device in fake guest memory, interleaved with notifies, asynchronous
 * completions (in and out of order), resets, and raw register and MSI-X table accesses.
 *
 * Input: 1 flag byte (indirect, event index, async, MSI-X, 4 KiB sectors, ring addresses
 * in RAM, a poll timer, no VIRTIO_BLK_F_FLUSH: writes then flush the backend), then 256
 * bytes of descriptor table (16 entries), 38 bytes of avail ring, 512 bytes of indirect
 * tables at TG_INDIRECT, 256 bytes of headers at TG_HDR, then operations.  Addresses in
 * descriptors are taken modulo 2 MiB when the flag byte's bit 5 is set, so that half the
 * runs land inside (1 MiB of) RAM and half outside.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/test_virtio_guest.h"

#define DISK_BYTES (64u << 10)

struct input { const uint8_t *p; size_t n; };

static uint64_t take(struct input *in, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes && in->n; i++, in->p++, in->n--)
        v |= (uint64_t)*in->p << (8 * i);
    return v;
}

static void copy_in(struct input *in, uint8_t *dst, size_t len)
{
    size_t n = in->n < len ? in->n : len;
    memcpy(dst, in->p, n);
    in->p += n;
    in->n -= n;
}

static void fold_addresses(uint8_t *table, unsigned entries)
{
    for (unsigned i = 0; i < entries; i++) {
        uint64_t a;
        memcpy(&a, table + 16 * i, 8);
        a %= 2 * TG_RAM_SIZE;
        memcpy(table + 16 * i, &a, 8);
    }
}

static void load_rings(struct tguest *g, struct input *in, bool fold)
{
    copy_in(in, g->ram + TG_DESC, 256);
    copy_in(in, g->ram + TG_AVAIL, 38);
    copy_in(in, g->ram + TG_INDIRECT, 512);
    copy_in(in, g->ram + TG_HDR, 256);
    if (fold) {
        fold_addresses(g->ram + TG_DESC, 16);
        fold_addresses(g->ram + TG_INDIRECT, 32);
    }
}

static void op(struct tguest *g, struct input *in, uint64_t want)
{
    uint8_t code = (uint8_t)take(in, 1);
    static const unsigned sizes[4] = { 1, 2, 4, 8 };
    switch (code % 12) {
    case 0: tg_notify(g); break;
    case 1: vblk_ram_complete(&g->disk, 1, false); break;
    case 2: vblk_ram_complete(&g->disk, 1, true); break;
    case 3: tg_driver_init(g, want, 16, true); break;
    case 4: {
        uint64_t off = take(in, 2) % VIRTIO_PCI_REGS_SIZE;
        unsigned size = sizes[take(in, 1) % 4];
        tg_mmio_write(g, TG_BAR4 + off, size, take(in, 8));
        break;
    }
    case 5: tg_mmio_read(g, TG_BAR4 + take(in, 2) % VIRTIO_PCI_REGS_SIZE, sizes[take(in, 1) % 4]); break;
    case 6: {
        unsigned off = (unsigned)take(in, 1);
        unsigned size = sizes[take(in, 1) % 3];
        tg_cfg_write(g, TG_SLOT, off & ~(size - 1), size, (uint32_t)take(in, 4));
        break;
    }
    case 7: tg_avail(g, (uint16_t)take(in, 1)); break;
    case 8: g->disk.fail_next = !g->disk.fail_next; break;
    case 9: virtio_blk_poll(&g->blk); break;       /* the disk timer came due */
    case 10: {                                      /* the MSI-X table and PBA, any width */
        uint64_t off = take(in, 2) % 0x1000;
        unsigned size = sizes[take(in, 1) % 4];
        tg_mmio_write(g, TG_BAR1 + off, size, take(in, 8));
        break;
    }
    case 11: tg_mmio_read(g, TG_BAR1 + take(in, 2) % 0x1000, sizes[take(in, 1) % 4]); break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, size };
    uint8_t flags = (uint8_t)take(&in, 1);
    struct tguest *g = tg_new(DISK_BYTES, flags & 16 ? 4096 : 512, false);
    uint64_t want = (flags & 128 ? 0 : VIRTIO_BLK_F_FLUSH) | VIRTIO_BLK_F_DISCARD;
    want |= flags & 1 ? VIRTIO_F_INDIRECT_DESC : 0;
    want |= flags & 2 ? VIRTIO_F_EVENT_IDX : 0;
    g->disk.async = flags & 4;
    tg_enable_pci(g);
    if (flags & 8)
        tg_enable_msix(g);
    tg_driver_init(g, want, 16, flags & 8);
    if (flags & 64)
        virtio_blk_set_poll_timer(&g->blk, 0);      /* notifies only arm the timer */
    load_rings(g, &in, flags & 32);
    uint16_t idx;
    memcpy(&idx, g->ram + TG_AVAIL + 2, 2);
    g->avail_idx = idx;
    tg_notify(g);
    for (unsigned n = 0; in.n && n < 64; n++)
        op(g, &in, want);
    /* Work left over by a budget must end: every piece of every request, bounded. */
    for (unsigned n = 0; n < 100000; n++) {
        unsigned completed = vblk_ram_complete(&g->disk, VBLK_RAM_MAX_PENDING, false);
        if (!virtio_blk_poll(&g->blk) && !completed && !g->disk.npending)
            break;
    }
    if (virtio_blk_inflight(&g->blk) != 0)
        abort();
    tg_free(g);
    return 0;
}
