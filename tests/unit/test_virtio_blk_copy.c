/* Atoll's virtio-blk copy extension: the segment's decoder, the checks, and the device
 * with a backend that copies between two RAM disks (every hostile case refused). */
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

struct two_disks {
    struct vblk_ram dst;        /* first: vblk_ram_backend's ops take it as their ctx */
    uint8_t *src;
    unsigned copies;
};

static enum vblk_status two_read(void *ctx, struct vblk_io *io)
{
    return vblk_ram_backend.read(ctx, io);
}

static enum vblk_status two_write(void *ctx, struct vblk_io *io)
{
    return vblk_ram_backend.write(ctx, io);
}

static uint64_t two_capacity(void *ctx) { return vblk_ram_backend.capacity(ctx); }
static uint32_t two_sector(void *ctx) { return vblk_ram_backend.sector_size(ctx); }

static const char *two_check(void *ctx, const struct vblk_copy *c, uint64_t dst_sector)
{
    struct vblk_copy_disk d = { DISK, 512 };
    return vblk_copy_check(c, 1, dst_sector, &d, true, c->source_disk <= 1 ? &d : NULL);
}

static enum vblk_status two_copy(void *ctx, struct vblk_io *io)
{
    struct two_disks *t = ctx;
    const uint8_t *from = io->source_disk == 0 ? t->src : t->dst.data;
    memmove(t->dst.data + io->offset, from + io->source_offset, io->length);
    t->copies++;
    return VBLK_OK;
}

static const struct vblk_backend two_backend = {
    .read = two_read, .write = two_write, .capacity = two_capacity, .sector_size = two_sector,
    .copy_check = two_check, .copy = two_copy,
};

static bool gpa_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct tguest *g = ctx;
    if (gpa > TG_RAM_SIZE || len > TG_RAM_SIZE - gpa)
        return false;
    memcpy(buf, g->ram + gpa, len);
    return true;
}

static bool gpa_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    struct tguest *g = ctx;
    if (gpa > TG_RAM_SIZE || len > TG_RAM_SIZE - gpa)
        return false;
    memcpy(g->ram + gpa, buf, len);
    return true;
}

static struct tguest *guest(struct two_disks *t, uint64_t want)
{
    struct tguest *g = calloc(1, sizeof(*g));
    fake_platform_init(&g->f);
    g->ram = calloc(1, TG_RAM_SIZE);
    g->disk_data = calloc(1, DISK);
    g->f.plat.ram_bytes = TG_RAM_SIZE;
    g->f.plat.gpa_read = gpa_read;
    g->f.plat.gpa_write = gpa_write;
    vdev_bus_init(&g->bus);
    assert_true(pci_host_init(&g->host, &g->bus, &g->f.plat));
    vblk_ram_init(&t->dst, g->disk_data, DISK, 512);
    t->src = calloc(1, DISK);
    for (unsigned i = 0; i < DISK; i++)
        t->src[i] = (uint8_t)(i * 13 + (i >> 9));
    assert_true(virtio_blk_init(&g->blk, &g->host, TG_SLOT, &g->f.plat, &two_backend, t));
    tg_enable_pci(g);
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
    struct two_disks t = { 0 };
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
    tg_free(g);
    free(t.src);
}

static void device_refuses(void **state)
{
    struct two_disks t = { 0 };
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
    tg_free(g);
    free(t.src);
}

static void not_negotiated(void **state)
{
    struct two_disks t = { 0 };
    struct tguest *g = guest(&t, 0);
    assert_false(g->features & VIRTIO_BLK_F_ATOLL_COPY);
    assert_int_equal(copy(g, 0, 0, 0, 0, 1), VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(t.copies, 0);
    tg_free(g);
    free(t.src);
    /* a backend without the ops does not offer the bit */
    struct tguest *plain = tg_new(DISK, 512, false);
    tg_enable_pci(plain);
    assert_int_equal(tg_driver_init(plain, VIRTIO_BLK_F_ATOLL_COPY, 16, false), 0x0f);
    assert_false(plain->features & VIRTIO_BLK_F_ATOLL_COPY);
    assert_int_equal(tg_do(plain, VIRTIO_BLK_T_ATOLL_COPY, 0, TG_DATA, 24, false),
                     VIRTIO_BLK_S_UNSUPP);
    tg_free(plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode),
        cmocka_unit_test(check),
        cmocka_unit_test(device_copies),
        cmocka_unit_test(device_refuses),
        cmocka_unit_test(not_negotiated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
