/*
 * Hostile offload requests of Atoll's virtio-blk extension (hv/vdev/virtio_blk.c
 * do_offload_read / do_offload_write, hv/vdev/virtio_blk_offload.c) against the device with
 * a backend over two RAM disks and real HMAC-SHA256 tokens.  The device first issues a
 * genuine token (offload read at a fuzzed place); then comes an offload write carrying that
 * token with fuzzed bytes flipped, or another partition's token, at a fuzzed destination
 * and token range, maybe after a guest write that revokes it.  Every request must end with
 * OK, IOERR or UNSUPP; OK never without the feature, never for an altered or foreign or
 * revoked token, and never with a copy piece outside a disk.
 *
 * Input: 1 flag byte, 8 read sector, 8 read sectors, 8 write sector, 8 token offset,
 * 8 length, 2 flip position, 1 flip mask, then anything (ignored).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

#include "hv/vdev/virtio_blk_offload.h"
#include "tests/unit/test_virtio_guest.h"

#define DISK (64u << 10)
#define TG_OUT (TG_DATA + 0x8000u)

static uint8_t key[2][32] = { { 1 }, { 2 } };
static uint64_t counter;

static void hmac(void *ctx, const void *data, size_t len, uint8_t out[TOKEN_MAC_LEN])
{
    br_hmac_key_context kc;
    br_hmac_context hc;
    br_hmac_key_init(&kc, &br_sha256_vtable, ctx, 32);
    br_hmac_init(&hc, &kc, 0);
    br_hmac_update(&hc, data, len);
    br_hmac_out(&hc, out);
}

static void rnd(void *ctx, void *buf, size_t len)
{
    memset(buf, *(uint8_t *)ctx, len);
    counter++;
    memcpy(buf, &counter, len < 8 ? len : 8);
}

static uint64_t now_ms(void *ctx) { (void)ctx; return 1000; }

static uint64_t take(const uint8_t **p, size_t *n, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes && *n; i++, (*p)++, (*n)--)
        v |= (uint64_t)**p << (8 * i);
    return v;
}

static void put_le(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* One request: header, rd bytes device-readable at TG_DATA, wr device-writable at TG_OUT,
 * status; returns its status (0xEE: never completed). */
static uint8_t request(struct tguest *g, uint32_t type, uint64_t sector, uint32_t rd, uint32_t wr)
{
    struct tg_seg s[4] = { { TG_HDR, 16, 0 } };
    unsigned k = 1;
    if (rd)
        s[k++] = (struct tg_seg){ TG_DATA, rd, 0 };
    if (wr)
        s[k++] = (struct tg_seg){ TG_OUT, wr, VIRTQ_DESC_F_WRITE };
    s[k++] = (struct tg_seg){ TG_STATUS, 1, VIRTQ_DESC_F_WRITE };
    memset(g->ram + TG_HDR, 0, 16);
    memcpy(g->ram + TG_HDR, &type, 4);
    memcpy(g->ram + TG_HDR + 8, &sector, 8);
    g->ram[TG_STATUS] = 0xEE;
    tg_put_chain(g, 0, s, k);
    tg_avail(g, 0);
    tg_notify(g);
    for (unsigned i = 0; i < 100000 && virtio_blk_poll(&g->blk); i++)
        ;
    if (virtio_blk_inflight(&g->blk) != 0)
        abort();
    uint16_t head;
    uint32_t len;
    if (!tg_used(g, &head, &len))
        return 0xEE;
    uint8_t st = g->ram[TG_STATUS];
    if (st > VIRTIO_BLK_S_UNSUPP)
        abort();
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vblk_tokens tokens;
    const uint8_t *p = data;
    size_t n = size;
    uint8_t flags = (uint8_t)take(&p, &n, 1);
    uint64_t rsector = take(&p, &n, 8), rsectors = take(&p, &n, 8);
    uint64_t wsector = take(&p, &n, 8), toff = take(&p, &n, 8), len = take(&p, &n, 8);
    uint16_t flip_at = (uint16_t)take(&p, &n, 2);
    uint8_t flip = (uint8_t)take(&p, &n, 1);
    if (flags & 4)              /* small numbers reach the disks' insides */
        rsector %= 2 * DISK / 512, rsectors %= 2 * DISK / 512, wsector %= 2 * DISK / 512,
        toff %= 2 * DISK, len %= 2 * DISK;

    vblk_tokens_init(&tokens, hmac, key[0], rnd, now_ms, key[0]);
    struct tg_two_disks t = { .tokens = &tokens };
    struct tguest *g = tg_new_two_disks(&t, DISK, flags & 1 ? 4096 : 512, &tg_two_disks_backend);
    tg_driver_init(g, flags & 2 ? VIRTIO_BLK_F_ATOLL_COPY : 0, 16, false);

    uint8_t tok[TOKEN_SIZE] = { 0 };
    put_le(g->ram + TG_DATA, rsectors);
    uint8_t st = request(g, VIRTIO_BLK_T_ATOLL_OFFLOAD_READ, rsector, 8, VBLK_OFFLOAD_READ_OUT);
    if (st == VIRTIO_BLK_S_OK && !(flags & 2))
        abort();
    bool genuine = st == VIRTIO_BLK_S_OK;
    memcpy(tok, g->ram + TG_OUT, TOKEN_SIZE);
    if (flags & 8) {            /* another partition's token for the same place */
        struct vblk_tokens other;
        vblk_tokens_init(&other, hmac, key[1], rnd, now_ms, key[1]);
        if (vblk_tokens_issue(&other, 1, 0, 512, tok))
            abort();
        genuine = false;
    }
    if (flip && flip_at < TOKEN_SIZE) {
        tok[flip_at] ^= flip;
        genuine = false;
    }
    if (flags & 16 && genuine) { /* a guest write over the whole disk revokes it */
        if (request(g, VIRTIO_BLK_T_OUT, 0, DISK, 0) == VIRTIO_BLK_S_OK)
            genuine = false;
    }
    memcpy(g->ram + TG_DATA, tok, TOKEN_SIZE);
    put_le(g->ram + TG_DATA + TOKEN_SIZE, toff);
    put_le(g->ram + TG_DATA + TOKEN_SIZE + 8, len);
    uint32_t rd = flags & 32 ? VBLK_OFFLOAD_WRITE_SEG - 8 : VBLK_OFFLOAD_WRITE_SEG;
    uint32_t wr = flags & 64 ? 0 : VBLK_OFFLOAD_WRITE_OUT;
    unsigned before = t.copies;
    st = request(g, VIRTIO_BLK_T_ATOLL_OFFLOAD_WRITE, wsector, rd, wr);
    if (st == VIRTIO_BLK_S_OK && (!genuine || !(flags & 2)))
        abort();                /* an altered, foreign or revoked token, or no feature */
    if (st != VIRTIO_BLK_S_OK && t.copies != before && st != VIRTIO_BLK_S_IOERR)
        abort();
    tg_free_two_disks(g, &t);
    return 0;
}
