/* The fake guest and driver behind the virtio tests and the fuzz target. */
#include "tests/unit/test_virtio_guest.h"

#include "hv/vdev/virtio_blk_copy.h"

#include <stdlib.h>
#include <string.h>

static bool ram_ok(uint64_t gpa, size_t len)
{
    return gpa <= TG_RAM_SIZE && len <= TG_RAM_SIZE - gpa;
}

bool tg_gpa_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct tguest *g = ctx;
    if (!ram_ok(gpa, len))
        return false;
    memcpy(buf, g->ram + gpa, len);
    return true;
}

bool tg_gpa_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    struct tguest *g = ctx;
    if (!ram_ok(gpa, len))
        return false;
    memcpy(g->ram + gpa, buf, len);
    return true;
}

/* Guest RAM, a zeroed disk_data and the bus with its PCI host: no device yet. */
static struct tguest *tg_alloc(uint64_t disk_bytes)
{
    struct tguest *g = calloc(1, sizeof(*g));
    fake_platform_init(&g->f);
    g->f.plat.gpa_read = tg_gpa_read;
    g->f.plat.gpa_write = tg_gpa_write;
    g->f.plat.ram_bytes = TG_RAM_SIZE;
    g->ram = calloc(1, TG_RAM_SIZE);
    g->disk_data = calloc(1, disk_bytes ? disk_bytes : 1);
    vdev_bus_init(&g->bus);
    if (!pci_host_init(&g->host, &g->bus, &g->f.plat))
        abort();
    return g;
}

struct tguest *tg_new(uint64_t disk_bytes, uint32_t sector_size, bool read_only)
{
    struct tguest *g = tg_alloc(disk_bytes);
    vblk_ram_init(&g->disk, g->disk_data, disk_bytes, sector_size);
    const struct vblk_backend *be = read_only ? &vblk_ram_backend_ro : &vblk_ram_backend;
    if (!virtio_blk_init(&g->blk, &g->host, TG_SLOT, &g->f.plat, be, &g->disk))
        abort();
    return g;
}

void tg_free(struct tguest *g)
{
    free(g->ram);
    free(g->disk_data);
    free(g);
}

void tg_copy_contents(struct tguest *to, const struct tguest *from, uint64_t disk_bytes)
{
    memcpy(to->ram, from->ram, TG_RAM_SIZE);
    memcpy(to->disk_data, from->disk_data, disk_bytes);
    to->qsize = from->qsize;
    to->avail_idx = from->avail_idx;
    to->last_used = from->last_used;
    to->features = from->features;
    to->f.now_ns = from->f.now_ns;
}

void tg_fill_ram(struct tguest *g, uint64_t gpa, uint32_t len, uint8_t seed)
{
    for (uint32_t i = 0; i < len; i++)
        g->ram[gpa + i] = (uint8_t)(seed + i * 7);
}

/* ---- two disks ------------------------------------------------------------------------ */

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
    struct tg_two_disks *t = ctx;
    struct vblk_copy_disk d = { t->dst.bytes, t->dst.sector_size };
    return vblk_copy_check(c, 1, dst_sector, &d, true, c->source_disk <= 1 ? &d : NULL);
}

static enum vblk_status two_copy(void *ctx, struct vblk_io *io)
{
    struct tg_two_disks *t = ctx;
    uint64_t bytes = t->dst.bytes;
    const uint8_t *from = io->source_disk == 0 ? t->src : t->dst.data;
    if (io->source_offset > bytes || io->length > bytes - io->source_offset ||
        io->offset > bytes || io->length > bytes - io->offset)
        abort();
    memmove(t->dst.data + io->offset, from + io->source_offset, io->length);
    t->copies++;
    return VBLK_OK;
}

static struct vblk_tokens *two_tokens(void *ctx, uint32_t *self)
{
    *self = 1;
    return ((struct tg_two_disks *)ctx)->tokens;
}

const struct vblk_backend tg_two_disks_backend = {
    .read = two_read, .write = two_write, .capacity = two_capacity, .sector_size = two_sector,
    .copy_check = two_check, .copy = two_copy, .tokens = two_tokens,
};

struct tguest *tg_new_two_disks(struct tg_two_disks *t, uint64_t disk_bytes, uint32_t sector_size,
                                const struct vblk_backend *backend)
{
    struct tguest *g = tg_alloc(disk_bytes);
    vblk_ram_init(&t->dst, g->disk_data, disk_bytes, sector_size);
    t->src = calloc(1, disk_bytes ? disk_bytes : 1);
    for (uint64_t i = 0; i < disk_bytes; i++)
        t->src[i] = (uint8_t)(i * 13 + (i >> 9));
    if (!virtio_blk_init(&g->blk, &g->host, TG_SLOT, &g->f.plat, backend, t))
        abort();
    tg_enable_pci(g);
    return g;
}

void tg_free_two_disks(struct tguest *g, struct tg_two_disks *t)
{
    tg_free(g);
    free(t->src);
    t->src = NULL;
}

/* ---- config space and MMIO, as a guest does it ----------------------------------------- */

static void cfg_addr(struct tguest *g, unsigned slot, unsigned off)
{
    uint32_t a = 0x80000000u | slot << 11 | (off & 0xfc);
    vdev_bus_io(&g->bus, 0xcf8, 4, true, &a);
}

uint32_t tg_cfg_read(struct tguest *g, unsigned slot, unsigned off, unsigned size)
{
    uint32_t v = 0;
    cfg_addr(g, slot, off);
    vdev_bus_io(&g->bus, (uint16_t)(0xcfc + (off & 3)), size, false, &v);
    return v;
}

void tg_cfg_write(struct tguest *g, unsigned slot, unsigned off, unsigned size, uint32_t v)
{
    cfg_addr(g, slot, off);
    vdev_bus_io(&g->bus, (uint16_t)(0xcfc + (off & 3)), size, true, &v);
}

uint64_t tg_mmio_read(struct tguest *g, uint64_t gpa, unsigned size)
{
    uint64_t v = 0;
    if (!vdev_bus_mmio(&g->bus, gpa, size, false, &v))
        return ~0ull;
    return v;
}

void tg_mmio_write(struct tguest *g, uint64_t gpa, unsigned size, uint64_t v)
{
    vdev_bus_mmio(&g->bus, gpa, size, true, &v);
}

uint64_t tg_common_read(struct tguest *g, unsigned off, unsigned size)
{
    return tg_mmio_read(g, TG_BAR4 + VIRTIO_PCI_COMMON_OFF + off, size);
}

void tg_common_write(struct tguest *g, unsigned off, unsigned size, uint64_t v)
{
    tg_mmio_write(g, TG_BAR4 + VIRTIO_PCI_COMMON_OFF + off, size, v);
}

unsigned tg_find_cap(struct tguest *g, unsigned slot, uint8_t cfg_type)
{
    unsigned off = tg_cfg_read(g, slot, PCI_CAP_PTR, 1);
    for (unsigned n = 0; off && n < 48; n++) {
        if (tg_cfg_read(g, slot, off, 1) == PCI_CAP_ID_VENDOR &&
            tg_cfg_read(g, slot, off + 3, 1) == cfg_type)
            return off;
        off = tg_cfg_read(g, slot, off + 1, 1);
    }
    return 0;
}

void tg_enable_pci(struct tguest *g)
{
    tg_cfg_write(g, TG_SLOT, PCI_BAR0 + 4, 4, (uint32_t)TG_BAR1);
    tg_cfg_write(g, TG_SLOT, PCI_BAR0 + 16, 4, (uint32_t)TG_BAR4);
    tg_cfg_write(g, TG_SLOT, PCI_BAR0 + 20, 4, (uint32_t)(TG_BAR4 >> 32));
    tg_cfg_write(g, TG_SLOT, PCI_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_MASTER);
}

void tg_enable_msix(struct tguest *g)
{
    unsigned cap = tg_cfg_read(g, TG_SLOT, PCI_CAP_PTR, 1);
    uint8_t vec[2] = { TG_CONFIG_VEC, TG_QUEUE_VEC };
    for (unsigned v = 0; v < 2; v++) {
        uint64_t e = TG_BAR1 + 16 * v;
        tg_mmio_write(g, e, 4, TG_MSI_ADDR);
        tg_mmio_write(g, e + 4, 4, 0);
        tg_mmio_write(g, e + 8, 4, vec[v]);
        tg_mmio_write(g, e + 12, 4, 0);
    }
    tg_cfg_write(g, TG_SLOT, cap + 2, 2, PCI_MSIX_ENABLE);
}

uint8_t tg_driver_init(struct tguest *g, uint64_t want, uint16_t qsize, bool msix)
{
    tg_common_write(g, VIRTIO_COMMON_STATUS, 1, 0);
    tg_common_write(g, VIRTIO_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
    tg_common_write(g, VIRTIO_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint64_t offered = 0;
    for (unsigned sel = 0; sel < 2; sel++) {
        tg_common_write(g, VIRTIO_COMMON_DFSELECT, 4, sel);
        offered |= tg_common_read(g, VIRTIO_COMMON_DF, 4) << (32 * sel);
    }
    g->features = (want & offered) | VIRTIO_F_VERSION_1;
    for (unsigned sel = 0; sel < 2; sel++) {
        tg_common_write(g, VIRTIO_COMMON_GFSELECT, 4, sel);
        tg_common_write(g, VIRTIO_COMMON_GF, 4, (uint32_t)(g->features >> (32 * sel)));
    }
    uint8_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    tg_common_write(g, VIRTIO_COMMON_STATUS, 1, st);
    if (!(tg_common_read(g, VIRTIO_COMMON_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK))
        return (uint8_t)tg_common_read(g, VIRTIO_COMMON_STATUS, 1);
    tg_common_write(g, VIRTIO_COMMON_MSIX, 2, msix ? 0 : PCI_MSIX_NO_VECTOR);
    tg_common_write(g, VIRTIO_COMMON_Q_SELECT, 2, 0);
    tg_common_write(g, VIRTIO_COMMON_Q_SIZE, 2, qsize);
    tg_common_write(g, VIRTIO_COMMON_Q_DESCLO, 4, TG_DESC);
    tg_common_write(g, VIRTIO_COMMON_Q_DESCHI, 4, 0);
    tg_common_write(g, VIRTIO_COMMON_Q_AVAILLO, 8, TG_AVAIL);
    tg_common_write(g, VIRTIO_COMMON_Q_USEDLO, 4, TG_USED);
    tg_common_write(g, VIRTIO_COMMON_Q_USEDHI, 4, 0);
    tg_common_write(g, VIRTIO_COMMON_Q_MSIX, 2, msix ? 1 : PCI_MSIX_NO_VECTOR);
    memset(g->ram + TG_DESC, 0, 0x3000);
    g->qsize = qsize;
    g->avail_idx = g->last_used = 0;
    tg_common_write(g, VIRTIO_COMMON_Q_ENABLE, 2, 1);
    tg_common_write(g, VIRTIO_COMMON_STATUS, 1, st | VIRTIO_STATUS_DRIVER_OK);
    return (uint8_t)tg_common_read(g, VIRTIO_COMMON_STATUS, 1);
}

/* ---- rings ------------------------------------------------------------------------------ */

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void tg_write_desc(struct tguest *g, uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
                   uint16_t flags, uint16_t next)
{
    uint8_t *d = g->ram + table + 16u * i;
    put_le(d, addr, 8);
    put_le(d + 8, len, 4);
    put_le(d + 12, flags, 2);
    put_le(d + 14, next, 2);
}

static void put_table(struct tguest *g, uint64_t table, uint16_t first, uint16_t wrap,
                      const struct tg_seg *s, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        uint16_t i = (uint16_t)((first + k) % wrap), next = (uint16_t)((first + k + 1) % wrap);
        uint16_t f = (uint16_t)(s[k].flags | (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
        tg_write_desc(g, table, i, s[k].gpa, s[k].len, f, next);
    }
}

void tg_put_chain(struct tguest *g, uint16_t first, const struct tg_seg *segs, unsigned n)
{
    put_table(g, TG_DESC, first, g->qsize, segs, n);
}

void tg_put_indirect(struct tguest *g, uint16_t first, uint64_t table_gpa,
                     const struct tg_seg *segs, unsigned n)
{
    put_table(g, table_gpa, 0, 0xffff, segs, n);
    tg_write_desc(g, TG_DESC, first, table_gpa, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
}

void tg_set_avail_idx(struct tguest *g, uint16_t idx)
{
    g->avail_idx = idx;
    put_le(g->ram + TG_AVAIL + 2, idx, 2);
}

void tg_avail(struct tguest *g, uint16_t head)
{
    put_le(g->ram + TG_AVAIL + 4 + 2u * (g->avail_idx % g->qsize), head, 2);
    tg_set_avail_idx(g, (uint16_t)(g->avail_idx + 1));
}

void tg_notify(struct tguest *g)
{
    tg_mmio_write(g, TG_BAR4 + VIRTIO_PCI_NOTIFY_OFF, 2, 0);
}

bool tg_used(struct tguest *g, uint16_t *head, uint32_t *len)
{
    uint16_t idx = (uint16_t)get_le(g->ram + TG_USED + 2, 2);
    if (idx == g->last_used)
        return false;
    const uint8_t *e = g->ram + TG_USED + 4 + 8u * (g->last_used % g->qsize);
    *head = (uint16_t)get_le(e, 4);
    *len = (uint32_t)get_le(e + 4, 4);
    g->last_used++;
    return true;
}

uint8_t tg_status(struct tguest *g)
{
    return (uint8_t)tg_common_read(g, VIRTIO_COMMON_STATUS, 1);
}

uint16_t tg_request(struct tguest *g, unsigned slot, uint32_t type, uint64_t sector,
                    uint64_t data_gpa, uint32_t data_len, bool indirect)
{
    uint64_t hdr = TG_HDR + 16u * slot, status = TG_STATUS + slot;
    put_le(g->ram + hdr, type, 4);
    put_le(g->ram + hdr + 4, 0, 4);
    put_le(g->ram + hdr + 8, sector, 8);
    g->ram[status] = 0xAA;
    bool dev_writes = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
    struct tg_seg s[3] = { { hdr, 16, 0 } };
    unsigned n = 1;
    if (data_len)
        s[n++] = (struct tg_seg){ data_gpa, data_len, dev_writes ? VIRTQ_DESC_F_WRITE : 0 };
    s[n++] = (struct tg_seg){ status, 1, VIRTQ_DESC_F_WRITE };
    uint16_t head = (uint16_t)(slot * 4 % g->qsize);
    if (indirect)
        tg_put_indirect(g, head, TG_INDIRECT + 0x100u * slot, s, n);
    else
        tg_put_chain(g, head, s, n);
    tg_avail(g, head);
    tg_notify(g);
    return head;
}

uint8_t tg_do(struct tguest *g, uint32_t type, uint64_t sector, uint64_t data_gpa,
              uint32_t data_len, bool indirect)
{
    uint16_t head = tg_request(g, 0, type, sector, data_gpa, data_len, indirect), h;
    uint32_t len;
    if (!tg_used(g, &h, &len) || h != head)
        return 0xEE;
    return g->ram[TG_STATUS];
}
