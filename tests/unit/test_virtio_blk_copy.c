/* Atoll's virtio-blk copy extension: the segment's decoder, the checks, and the device
 * with a backend that copies between two RAM disks (every hostile case refused); the
 * offload requests (guest tokens, virtio_blk_offload.h): the token table alone, then the
 * device issuing and taking tokens, and every hostile token refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/vdev/virtio_blk_copy.h"
#include "tests/unit/test_virtio_guest.h"

#define DISK (1u << 20)

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void seg(uint8_t s[24], uint32_t disk, uint32_t reserved, uint64_t sector, uint64_t n)
{
    put_le(s, disk, 4);
    put_le(s + 4, reserved, 4);
    put_le(s + 8, sector, 8);
    put_le(s + 16, n, 8);
}

static void decode(void **state)
{
    uint8_t s[24];
    struct vblk_copy c;
    seg(s, 1, 0, 8, 16);
    assert_null(vblk_copy_decode(s, 24, &c));
    assert_int_equal(c.source_disk, 1);
    assert_int_equal(c.source_sector, 8);
    assert_int_equal(c.sectors, 16);
    assert_non_null(vblk_copy_decode(s, 23, &c));
    seg(s, 1, 1, 8, 16);
    assert_string_equal(vblk_copy_decode(s, 24, &c), "copy segment's reserved field not zero");
    seg(s, 1, 0, 8, 0);
    assert_string_equal(vblk_copy_decode(s, 24, &c), "copy of no sectors");
    seg(s, 1, 0, 8, (64u << 20) / 512 + 1);
    assert_string_equal(vblk_copy_decode(s, 24, &c), "copy larger than 64 MiB");
    seg(s, 1, 0, UINT64_MAX / 512 + 1, 1);
    assert_string_equal(vblk_copy_decode(s, 24, &c), "source sector out of range");
}

static void check(void **state)
{
    struct vblk_copy_disk d512 = { DISK, 512 }, d4k = { DISK, 4096 };
    struct vblk_copy c = { 0, 0, 8 };
    assert_null(vblk_copy_check(&c, 1, 0, &d512, true, &d512));
    assert_string_equal(vblk_copy_check(&c, 1, 0, &d512, true, NULL), "no such source disk");
    assert_string_equal(vblk_copy_check(&c, 1, 0, &d512, false, &d512), "copy to a read-only disk");
    assert_string_equal(vblk_copy_check(&c, 1, 0, &d512, true, &d4k),
                        "source and destination sector sizes differ");
    /* the last sectors of both disks, then one past */
    c = (struct vblk_copy){ 0, DISK / 512 - 8, 8 };
    assert_null(vblk_copy_check(&c, 1, DISK / 512 - 8, &d512, true, &d512));
    c.source_sector++;
    assert_non_null(vblk_copy_check(&c, 1, 0, &d512, true, &d512));
    c.source_sector = 0;
    assert_non_null(vblk_copy_check(&c, 1, DISK / 512 - 7, &d512, true, &d512));
    assert_non_null(vblk_copy_check(&c, 1, UINT64_MAX, &d512, true, &d512));
    /* 4 KiB sectors: misaligned start or length */
    c = (struct vblk_copy){ 0, 8, 8 };
    assert_null(vblk_copy_check(&c, 1, 16, &d4k, true, &d4k));
    c.source_sector = 9;
    assert_non_null(vblk_copy_check(&c, 1, 16, &d4k, true, &d4k));
    c = (struct vblk_copy){ 0, 8, 4 };
    assert_non_null(vblk_copy_check(&c, 1, 16, &d4k, true, &d4k));
    /* one disk: overlapping ranges refused, disjoint ones taken */
    c = (struct vblk_copy){ 1, 0, 8 };
    assert_string_equal(vblk_copy_check(&c, 1, 7, &d512, true, &d512),
                        "source and destination overlap");
    assert_null(vblk_copy_check(&c, 1, 8, &d512, true, &d512));
}

/* ---- the device: disk 1 (the tguest's RAM disk) with disk 0 (another RAM disk) beside it */

/* ---- guest tokens: a keyed toy MAC (a different key: a different partition) ----- */

struct keyed { uint8_t key; uint64_t now; uint64_t next; };

static void toy_mac(void *ctx, const void *data, size_t len, uint8_t out[TOKEN_MAC_LEN])
{
    const uint8_t *d = data;
    uint8_t k = ((struct keyed *)ctx)->key;
    memset(out, k, TOKEN_MAC_LEN);
    for (size_t i = 0; i < len; i++)
        out[i % TOKEN_MAC_LEN] = (uint8_t)(out[i % TOKEN_MAC_LEN] * 31 + d[i] + k);
}

static void toy_random(void *ctx, void *buf, size_t len)
{
    struct keyed *k = ctx;
    k->next++;
    memset(buf, k->key, len);
    memcpy(buf, &k->next, len < 8 ? len : 8);
}

static uint64_t toy_now(void *ctx) { return ((struct keyed *)ctx)->now; }

static void tokens_table(void **state)
{
    struct keyed ka = { 1, 1000, 0 }, kb = { 2, 1000, 0 };
    struct vblk_tokens a, b;
    vblk_tokens_init(&a, toy_mac, &ka, toy_random, toy_now, &ka);
    vblk_tokens_init(&b, toy_mac, &kb, toy_random, toy_now, &kb);
    uint8_t t[TOKEN_SIZE], tb[TOKEN_SIZE];
    struct vblk_offload_src s;
    assert_null(vblk_tokens_issue(&a, 0, 4096, 8192, t));
    assert_null(vblk_tokens_redeem(&a, t, TOKEN_SIZE, 512, UINT64_MAX - 511, &s));
    assert_int_equal(s.disk, 0);
    assert_int_equal(s.offset, 4608);
    assert_int_equal(s.length, 8192 - 512);     /* cut at the token's end */
    /* refusals: another partition's, forged, misaligned, past the end, short */
    assert_null(vblk_tokens_issue(&b, 0, 4096, 8192, tb));
    assert_string_equal(vblk_tokens_redeem(&a, tb, TOKEN_SIZE, 0, 512, &s),
                        "token not issued to this partition");
    t[100] ^= 1;
    assert_string_equal(vblk_tokens_redeem(&a, t, TOKEN_SIZE, 0, 512, &s),
                        token_status_text(TOKEN_E_MAC));
    t[100] ^= 1;
    assert_non_null(vblk_tokens_redeem(&a, t, TOKEN_SIZE, 100, 512, &s));
    assert_non_null(vblk_tokens_redeem(&a, t, TOKEN_SIZE, 0, 0, &s));
    assert_non_null(vblk_tokens_redeem(&a, t, TOKEN_SIZE, 8192, 512, &s));
    assert_non_null(vblk_tokens_redeem(&a, t, TOKEN_SIZE - 1, 0, 512, &s));
    assert_non_null(vblk_tokens_issue(&a, 0, 0, 0, t + 0));
    /* a write beside the range leaves it, one into it revokes it; another disk's too */
    assert_null(vblk_tokens_issue(&a, 0, 4096, 8192, t));
    vblk_tokens_note_write(&a, 0, 0, 4096);
    vblk_tokens_note_write(&a, 0, 12288, 512);
    vblk_tokens_note_write(&a, 1, 4096, 8192);
    assert_null(vblk_tokens_redeem(&a, t, TOKEN_SIZE, 0, 512, &s));
    vblk_tokens_note_write(&a, 0, 12287, 1);
    assert_string_equal(vblk_tokens_redeem(&a, t, TOKEN_SIZE, 0, 512, &s),
                        "token no longer valid: its data changed since issue, or it was replaced");
    /* expiry */
    assert_null(vblk_tokens_issue(&a, 0, 0, 512, t));
    ka.now += VBLK_TOKEN_LIFETIME_MS;
    assert_string_equal(vblk_tokens_redeem(&a, t, TOKEN_SIZE, 0, 512, &s),
                        token_status_text(TOKEN_E_EXPIRED));
    /* a full table replaces the oldest */
    uint8_t first[TOKEN_SIZE];
    assert_null(vblk_tokens_issue(&a, 0, 0, 512, first));
    for (unsigned i = 0; i < VBLK_TOKENS_LIVE; i++)
        assert_null(vblk_tokens_issue(&a, 0, 0, 512, t));
    assert_non_null(vblk_tokens_redeem(&a, first, TOKEN_SIZE, 0, 512, &s));
    assert_null(vblk_tokens_redeem(&a, t, TOKEN_SIZE, 0, 512, &s));
    assert_true(a.replaced >= 1);
}

static struct tguest *guest(struct tg_two_disks *t, uint64_t want)
{
    struct tguest *g = tg_new_two_disks(t, DISK, 512, &tg_two_disks_backend);
    assert_int_equal(tg_driver_init(g, want, 16, false), 0x0f);
    return g;
}

static uint8_t copy(struct tguest *g, uint64_t dst_sector, uint32_t disk, uint32_t reserved,
                    uint64_t src_sector, uint64_t n)
{
    seg(g->ram + TG_DATA, disk, reserved, src_sector, n);
    return tg_do(g, VIRTIO_BLK_T_ATOLL_COPY, dst_sector, TG_DATA, 24, false);
}

static void device_copies(void **state)
{
    struct tg_two_disks t = { 0 };
    struct tguest *g = guest(&t, VIRTIO_BLK_F_ATOLL_COPY);
    assert_true(g->features & VIRTIO_BLK_F_ATOLL_COPY);
    memset(g->ram + TG_DATA + 4096, 0x77, 64 << 10);
    /* 64 KiB from disk 0 sector 16 to disk 1 sector 128: several pieces */
    assert_int_equal(copy(g, 128, 0, 0, 16, 128), VIRTIO_BLK_S_OK);
    assert_memory_equal(g->disk_data + 128 * 512, t.src + 16 * 512, 64 << 10);
    assert_true(t.copies >= 4);
    assert_int_equal(g->blk.stats.copies, 1);
    assert_int_equal(g->blk.stats.bytes_copied, 64 << 10);
    /* guest memory untouched beyond the segment */
    for (unsigned i = 0; i < (64u << 10); i++)
        assert_int_equal(g->ram[TG_DATA + 4096 + i], 0x77);
    /* normal reads see the copy */
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_IN, 128, TG_DATA + 4096, 4096, false), VIRTIO_BLK_S_OK);
    assert_memory_equal(g->ram + TG_DATA + 4096, t.src + 16 * 512, 4096);
    /* within the disk itself, disjoint */
    assert_int_equal(copy(g, 0, 1, 0, 128, 8), VIRTIO_BLK_S_OK);
    assert_memory_equal(g->disk_data, t.src + 16 * 512, 4096);
    tg_free_two_disks(g, &t);
}

static void device_refuses(void **state)
{
    struct tg_two_disks t = { 0 };
    struct tguest *g = guest(&t, VIRTIO_BLK_F_ATOLL_COPY);
    uint8_t before[512];
    memcpy(before, g->disk_data, 512);
    assert_int_equal(copy(g, 0, 7, 0, 0, 1), VIRTIO_BLK_S_IOERR);           /* no disk 7 */
    assert_int_equal(copy(g, 0, 0, 0, DISK / 512, 1), VIRTIO_BLK_S_IOERR);  /* past source end */
    assert_int_equal(copy(g, DISK / 512, 0, 0, 0, 1), VIRTIO_BLK_S_IOERR);  /* past dest end */
    assert_int_equal(copy(g, 0, 0, 0, UINT64_MAX, 1), VIRTIO_BLK_S_IOERR);
    assert_int_equal(copy(g, 0, 0, 0, 0, 0), VIRTIO_BLK_S_IOERR);           /* no sectors */
    assert_int_equal(copy(g, 0, 0, 0, 0, UINT64_MAX), VIRTIO_BLK_S_IOERR);
    assert_int_equal(copy(g, 0, 0, 5, 0, 1), VIRTIO_BLK_S_IOERR);           /* reserved */
    assert_int_equal(copy(g, 0, 1, 0, 4, 8), VIRTIO_BLK_S_IOERR);           /* overlap */
    /* a segment of the wrong size, or device-writable */
    seg(g->ram + TG_DATA, 0, 0, 0, 1);
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_ATOLL_COPY, 0, TG_DATA, 16, false), VIRTIO_BLK_S_IOERR);
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_ATOLL_COPY, 0, 0, 0, false), VIRTIO_BLK_S_IOERR);
    struct tg_seg s[3] = { { TG_HDR, 16, 0 }, { TG_DATA, 24, VIRTQ_DESC_F_WRITE },
                           { TG_STATUS, 1, VIRTQ_DESC_F_WRITE } };
    put_le(g->ram + TG_HDR, VIRTIO_BLK_T_ATOLL_COPY, 4);
    put_le(g->ram + TG_HDR + 8, 0, 8);
    tg_put_chain(g, 0, s, 3);
    tg_avail(g, 0);
    tg_notify(g);
    uint16_t h;
    uint32_t len;
    assert_true(tg_used(g, &h, &len));
    assert_int_equal(g->ram[TG_STATUS], VIRTIO_BLK_S_IOERR);
    assert_int_equal(t.copies, 0);
    assert_memory_equal(g->disk_data, before, 512);
    assert_int_equal(tg_status(g) & 0x40, 0);   /* no NEEDS_RESET: the device carries on */
    assert_int_equal(copy(g, 0, 0, 0, 0, 1), VIRTIO_BLK_S_OK);
    tg_free_two_disks(g, &t);
}

static void not_negotiated(void **state)
{
    struct tg_two_disks t = { 0 };
    struct tguest *g = guest(&t, 0);
    assert_false(g->features & VIRTIO_BLK_F_ATOLL_COPY);
    assert_int_equal(copy(g, 0, 0, 0, 0, 1), VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(t.copies, 0);
    tg_free_two_disks(g, &t);
    /* a backend without the ops does not offer the bit */
    struct tguest *plain = tg_new(DISK, 512, false);
    tg_enable_pci(plain);
    assert_int_equal(tg_driver_init(plain, VIRTIO_BLK_F_ATOLL_COPY, 16, false), 0x0f);
    assert_false(plain->features & VIRTIO_BLK_F_ATOLL_COPY);
    assert_int_equal(tg_do(plain, VIRTIO_BLK_T_ATOLL_COPY, 0, TG_DATA, 24, false),
                     VIRTIO_BLK_S_UNSUPP);
    tg_free(plain);
}

/* A read-only disk (no write op, VIRTIO_BLK_F_RO) whose backend still has copy and discard
 * ops: neither request may change it, the device stays usable. */
static enum vblk_status ro_discard(void *ctx, struct vblk_io *io)
{
    ((struct tg_two_disks *)ctx)->copies++;
    return VBLK_OK;
}

static void read_only_refuses(void **state)
{
    static struct vblk_backend ro_backend;
    ro_backend = tg_two_disks_backend;
    ro_backend.write = NULL;
    ro_backend.tokens = NULL;
    ro_backend.discard = ro_discard;
    struct tg_two_disks t = { 0 };
    struct tguest *g = tg_new_two_disks(&t, DISK, 512, &ro_backend);
    memset(t.src, 0x5a, DISK);
    tg_driver_init(g, VIRTIO_BLK_F_ATOLL_COPY | VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_RO, 16,
                   false);
    assert_true(g->features & VIRTIO_BLK_F_RO);
    assert_int_equal(copy(g, 0, 0, 0, 0, 8), VIRTIO_BLK_S_IOERR);
    put_le(g->ram + TG_DATA, 0, 8);                 /* discard sector 0, 8 sectors */
    put_le(g->ram + TG_DATA + 8, 8, 4);
    put_le(g->ram + TG_DATA + 12, 0, 4);
    assert_int_not_equal(tg_do(g, VIRTIO_BLK_T_DISCARD, 0, TG_DATA, 16, false), VIRTIO_BLK_S_OK);
    assert_int_equal(t.copies, 0);
    for (unsigned i = 0; i < 4096; i++)
        assert_int_equal(g->disk_data[i], 0);
    assert_int_equal(tg_status(g) & 0x40, 0);
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_IN, 0, TG_DATA, 4096, false), VIRTIO_BLK_S_OK);
    tg_free_two_disks(g, &t);
}

/* A request with a device-readable segment of rd bytes at TG_DATA and a device-writable
 * one of wr bytes at TG_DATA + 0x8000 (either may be 0); its status, 0xEE: none. */
#define TG_OUT (TG_DATA + 0x8000u)
static uint8_t chain(struct tguest *g, uint32_t type, uint64_t sector, uint32_t rd, uint32_t wr,
                     uint32_t *used_len)
{
    struct tg_seg s[4];
    unsigned n = 0;
    s[n++] = (struct tg_seg){ TG_HDR, 16, 0 };
    if (rd)
        s[n++] = (struct tg_seg){ TG_DATA, rd, 0 };
    if (wr)
        s[n++] = (struct tg_seg){ TG_OUT, wr, VIRTQ_DESC_F_WRITE };
    s[n++] = (struct tg_seg){ TG_STATUS, 1, VIRTQ_DESC_F_WRITE };
    put_le(g->ram + TG_HDR, type, 4);
    put_le(g->ram + TG_HDR + 4, 0, 4);
    put_le(g->ram + TG_HDR + 8, sector, 8);
    g->ram[TG_STATUS] = 0xEE;
    tg_put_chain(g, 0, s, n);
    tg_avail(g, 0);
    tg_notify(g);
    uint16_t h;
    uint32_t len;
    if (!tg_used(g, &h, &len))
        return 0xEE;
    if (used_len)
        *used_len = len;
    return g->ram[TG_STATUS];
}

static uint64_t get_le(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Offload read on this disk (disk 1): the token lands at TG_OUT, covered after it. */
static uint8_t oread(struct tguest *g, uint64_t sector, uint64_t sectors, uint8_t *tok)
{
    put_le(g->ram + TG_DATA, sectors, 8);
    uint8_t st = chain(g, VIRTIO_BLK_T_ATOLL_OFFLOAD_READ, sector, 8, VBLK_OFFLOAD_READ_OUT, NULL);
    if (tok)
        memcpy(tok, g->ram + TG_OUT, TOKEN_SIZE);
    return st;
}

static uint8_t owrite(struct tguest *g, uint64_t sector, const uint8_t *tok, uint64_t toff,
                      uint64_t len)
{
    memcpy(g->ram + TG_DATA, tok, TOKEN_SIZE);
    put_le(g->ram + TG_DATA + TOKEN_SIZE, toff, 8);
    put_le(g->ram + TG_DATA + TOKEN_SIZE + 8, len, 8);
    memset(g->ram + TG_OUT, 0xcc, 8);
    return chain(g, VIRTIO_BLK_T_ATOLL_OFFLOAD_WRITE, sector, VBLK_OFFLOAD_WRITE_SEG,
                 VBLK_OFFLOAD_WRITE_OUT, NULL);
}

static void device_offload(void **state)
{
    struct keyed k = { 3, 1, 0 };
    struct vblk_tokens tk;
    vblk_tokens_init(&tk, toy_mac, &k, toy_random, toy_now, &k);
    struct tg_two_disks t = { .tokens = &tk };
    struct tguest *g = guest(&t, VIRTIO_BLK_F_ATOLL_COPY);
    uint8_t tok[TOKEN_SIZE];
    for (unsigned i = 0; i < DISK; i++)
        g->disk_data[i] = (uint8_t)(i * 7 + 1);
    /* a token for 64 KiB of this disk at sector 16 */
    uint32_t used;
    put_le(g->ram + TG_DATA, 128, 8);
    assert_int_equal(chain(g, VIRTIO_BLK_T_ATOLL_OFFLOAD_READ, 16, 8, VBLK_OFFLOAD_READ_OUT, &used),
                     VIRTIO_BLK_S_OK);
    assert_int_equal(used, VBLK_OFFLOAD_READ_OUT + 1);
    assert_memory_equal(g->ram + TG_OUT, "ATOLLTOK", 8);
    assert_int_equal(get_le(g->ram + TG_OUT + TOKEN_SIZE), 64 << 10);
    memcpy(tok, g->ram + TG_OUT, TOKEN_SIZE);
    uint8_t *want = malloc(64 << 10);
    memcpy(want, g->disk_data + 16 * 512, 64 << 10);
    /* written to sector 1024 of this disk, in pieces, guest memory untouched */
    memset(g->ram + TG_DATA + 0x10000, 0x77, 64 << 10);
    assert_int_equal(owrite(g, 1024, tok, 0, UINT64_MAX), VIRTIO_BLK_S_OK);
    assert_int_equal(get_le(g->ram + TG_OUT), 64 << 10);     /* written: cut at its end */
    assert_memory_equal(g->disk_data + 1024 * 512, want, 64 << 10);
    assert_true(t.copies >= 4);
    for (unsigned i = 0; i < (64u << 10); i++)
        assert_int_equal(g->ram[TG_DATA + 0x10000 + i], 0x77);
    /* part of it, again (the token lives on) */
    assert_int_equal(owrite(g, 0, tok, 4096, 512), VIRTIO_BLK_S_OK);
    assert_int_equal(get_le(g->ram + TG_OUT), 512);
    assert_memory_equal(g->disk_data, want + 4096, 512);
    /* a guest write into the token's range: the token dies */
    memset(g->ram + TG_DATA, 0x55, 512);
    assert_int_equal(tg_do(g, VIRTIO_BLK_T_OUT, 20, TG_DATA, 512, false), VIRTIO_BLK_S_OK);
    uint8_t before[512];
    memcpy(before, g->disk_data + 1536 * 512, 512);
    assert_int_equal(owrite(g, 1536, tok, 0, 512), VIRTIO_BLK_S_IOERR);
    assert_memory_equal(g->disk_data + 1536 * 512, before, 512);
    /* the read cut at the disk's end */
    assert_int_equal(oread(g, DISK / 512 - 4, 100, tok), VIRTIO_BLK_S_OK);
    assert_int_equal(get_le(g->ram + TG_OUT + TOKEN_SIZE), 2048);
    assert_int_equal(g->blk.stats.offload_reads, 2);
    assert_int_equal(g->blk.stats.offload_writes, 2);
    assert_int_equal(tg_status(g) & 0x40, 0);
    free(want);
    tg_free_two_disks(g, &t);
}

static void device_offload_refuses(void **state)
{
    struct keyed k = { 3, 1, 0 }, other = { 4, 1, 0 };
    struct vblk_tokens tk, tk_other;
    vblk_tokens_init(&tk, toy_mac, &k, toy_random, toy_now, &k);
    vblk_tokens_init(&tk_other, toy_mac, &other, toy_random, toy_now, &other);
    struct tg_two_disks t = { .tokens = &tk };
    struct tguest *g = guest(&t, VIRTIO_BLK_F_ATOLL_COPY);
    uint8_t tok[TOKEN_SIZE], foreign[TOKEN_SIZE], before[4096];
    memcpy(before, g->disk_data, sizeof before);
    assert_int_equal(oread(g, 64, 8, tok), VIRTIO_BLK_S_OK);
    /* offload reads: no sectors, too many, at or past the end, wrong layouts */
    assert_int_equal(oread(g, 0, 0, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(oread(g, 0, VBLK_OFFLOAD_READ_MAX_SECTORS + 1, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(oread(g, DISK / 512, 1, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(oread(g, UINT64_MAX, 1, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(chain(g, VIRTIO_BLK_T_ATOLL_OFFLOAD_READ, 0, 8, 100, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(chain(g, VIRTIO_BLK_T_ATOLL_OFFLOAD_READ, 0, 0, VBLK_OFFLOAD_READ_OUT, NULL),
                     VIRTIO_BLK_S_IOERR);
    /* offload writes: another partition's token, forged, misaligned, past the token or the
     * disk, overlapping its source, a source disk that does not exist, wrong layouts */
    assert_null(vblk_tokens_issue(&tk_other, 1, 0, 4096, foreign));
    assert_int_equal(owrite(g, 0, foreign, 0, 512), VIRTIO_BLK_S_IOERR);
    tok[200] ^= 0x10;
    assert_int_equal(owrite(g, 0, tok, 0, 512), VIRTIO_BLK_S_IOERR);
    tok[200] ^= 0x10;
    assert_int_equal(owrite(g, 0, tok, 1, 512), VIRTIO_BLK_S_IOERR);
    assert_int_equal(owrite(g, 0, tok, 0, 100), VIRTIO_BLK_S_IOERR);
    assert_int_equal(owrite(g, 0, tok, 4096, 512), VIRTIO_BLK_S_IOERR);
    assert_int_equal(owrite(g, DISK / 512 - 1, tok, 0, 4096), VIRTIO_BLK_S_IOERR);
    assert_int_equal(owrite(g, UINT64_MAX, tok, 0, 512), VIRTIO_BLK_S_IOERR);
    assert_int_equal(owrite(g, 60, tok, 0, 4096), VIRTIO_BLK_S_IOERR);   /* overlaps 64.. */
    uint8_t ghost[TOKEN_SIZE];
    assert_null(vblk_tokens_issue(&tk, 9, 0, 512, ghost));              /* no disk 9 */
    assert_int_equal(owrite(g, 0, ghost, 0, 512), VIRTIO_BLK_S_IOERR);
    memcpy(g->ram + TG_DATA, tok, TOKEN_SIZE);
    assert_int_equal(chain(g, VIRTIO_BLK_T_ATOLL_OFFLOAD_WRITE, 0, VBLK_OFFLOAD_WRITE_SEG, 0, NULL),
                     VIRTIO_BLK_S_IOERR);
    assert_int_equal(chain(g, VIRTIO_BLK_T_ATOLL_OFFLOAD_WRITE, 0, TOKEN_SIZE, 8, NULL),
                     VIRTIO_BLK_S_IOERR);
    assert_int_equal(t.copies, 0);
    assert_memory_equal(g->disk_data, before, sizeof before);
    assert_int_equal(tg_status(g) & 0x40, 0);   /* no NEEDS_RESET */
    assert_int_equal(owrite(g, 0, tok, 0, 4096), VIRTIO_BLK_S_OK);       /* the device goes on */
    tg_free_two_disks(g, &t);
    /* without the feature, or without tokens: UNSUPP */
    struct tg_two_disks t2 = { .tokens = &tk };
    g = guest(&t2, 0);
    assert_int_equal(oread(g, 0, 1, NULL), VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(owrite(g, 0, tok, 0, 512), VIRTIO_BLK_S_UNSUPP);
    tg_free_two_disks(g, &t2);
    struct tg_two_disks t3 = { 0 };
    g = guest(&t3, VIRTIO_BLK_F_ATOLL_COPY);
    assert_int_equal(oread(g, 0, 1, NULL), VIRTIO_BLK_S_UNSUPP);
    tg_free_two_disks(g, &t3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode),
        cmocka_unit_test(check),
        cmocka_unit_test(device_copies),
        cmocka_unit_test(device_refuses),
        cmocka_unit_test(not_negotiated),
        cmocka_unit_test(read_only_refuses),
        cmocka_unit_test(tokens_table),
        cmocka_unit_test(device_offload),
        cmocka_unit_test(device_offload_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
