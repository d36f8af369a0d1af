/*
 * Hostile copy requests of Atoll's virtio-blk extension against the device
 * (hv/vdev/virtio_blk.c do_copy) with a backend over two RAM disks: fuzzed header sector,
 * segment, chain shape (segment length, direction, split in two descriptors, extra
 * descriptors) and negotiated features.  Every request must end (inflight 0) with status
 * OK, IOERR or UNSUPP, and guest RAM must be unchanged except the status byte and the used
 * ring: no copy ever moves data through guest memory.
 *
 * Input: 1 flag byte, 8 bytes header sector, 24 bytes segment, 1 byte chain shape.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/vdev/virtio_blk_copy.h"
#include "tests/unit/test_virtio_guest.h"

#define DISK (64u << 10)

static uint64_t take(const uint8_t **p, size_t *n, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes && *n; i++, (*p)++, (*n)--)
        v |= (uint64_t)**p << (8 * i);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t before[TG_RAM_SIZE];
    const uint8_t *p = data;
    size_t n = size;
    uint8_t flags = (uint8_t)take(&p, &n, 1);
    uint64_t sector = take(&p, &n, 8);
    uint8_t seg[24] = { 0 };
    for (unsigned i = 0; i < 24; i++)
        seg[i] = (uint8_t)take(&p, &n, 1);
    uint8_t shape = (uint8_t)take(&p, &n, 1);
    if (flags & 4)              /* small sector numbers reach the disks' insides */
        sector %= 2 * DISK / 512, seg[8] %= 2 * DISK / 512, memset(seg + 9, 0, 7),
        memset(seg + 17, 0, 7);

    struct tg_two_disks t = { 0 };
    struct tguest *g = tg_new_two_disks(&t, DISK, flags & 1 ? 4096 : 512, &tg_two_disks_backend);
    tg_driver_init(g, flags & 2 ? VIRTIO_BLK_F_ATOLL_COPY : 0, 16, false);

    /* header, then the segment in one or two descriptors, maybe device-writable, maybe
     * followed by another buffer, then the status byte */
    uint8_t hdr[16] = { 0 };
    uint32_t type = VIRTIO_BLK_T_ATOLL_COPY;
    memcpy(hdr, &type, 4);
    memcpy(hdr + 8, &sector, 8);
    memcpy(g->ram + TG_HDR, hdr, 16);
    memcpy(g->ram + TG_DATA, seg, 24);
    uint32_t seg_len = shape & 1 ? 24 : shape % 32;
    uint16_t seg_flags = shape & 32 ? VIRTQ_DESC_F_WRITE : 0;
    struct tg_seg s[5] = { { TG_HDR, 16, 0 } };
    unsigned k = 1;
    if (shape & 64 && seg_len > 1) {
        s[k++] = (struct tg_seg){ TG_DATA, seg_len / 2, seg_flags };
        s[k++] = (struct tg_seg){ TG_DATA + seg_len / 2, seg_len - seg_len / 2, seg_flags };
    } else if (seg_len) {
        s[k++] = (struct tg_seg){ TG_DATA, seg_len, seg_flags };
    }
    if (shape & 128)
        s[k++] = (struct tg_seg){ TG_DATA + 4096, 512, shape & 2 ? VIRTQ_DESC_F_WRITE : 0 };
    s[k++] = (struct tg_seg){ TG_STATUS, 1, VIRTQ_DESC_F_WRITE };
    tg_put_chain(g, 0, s, k);
    tg_avail(g, 0);
    memcpy(before, g->ram, TG_RAM_SIZE);
    tg_notify(g);
    for (unsigned i = 0; i < 100000 && virtio_blk_poll(&g->blk); i++)
        ;
    if (virtio_blk_inflight(&g->blk) != 0)
        abort();
    uint16_t head;
    uint32_t len;
    /* a copy writes only its status byte: the used length counts it when it is the only
     * device-writable byte, else nothing (it is not at the start of them) */
    uint32_t writable = 1;
    for (unsigned i = 0; i + 1 < k; i++)
        writable += s[i].flags & VIRTQ_DESC_F_WRITE ? s[i].len : 0;
    if (tg_used(g, &head, &len)) {
        uint8_t st = g->ram[TG_STATUS];
        if (st > VIRTIO_BLK_S_UNSUPP || len != (writable == 1 ? 1u : 0u))
            abort();
        if (st == VIRTIO_BLK_S_OK && !(flags & 2))
            abort();            /* a copy without the feature negotiated */
    }
    /* only the status byte and the used ring may have changed */
    before[TG_STATUS] = g->ram[TG_STATUS];
    memcpy(before + TG_USED, g->ram + TG_USED, 4096);
    if (memcmp(before, g->ram, TG_RAM_SIZE) != 0)
        abort();
    tg_free_two_disks(g, &t);
    return 0;
}
