/*
 * A fake guest for the virtio tests: guest RAM behind gpa_read/gpa_write, the partition's
 * bus with a PCI host and a virtio-blk over a RAM disk, and a small driver that speaks to
 * them only through port and MMIO accesses, replaying what guest/tests/virtio_io.c does.
 */
#ifndef ATOLL_TESTS_UNIT_TEST_VIRTIO_GUEST_H
#define ATOLL_TESTS_UNIT_TEST_VIRTIO_GUEST_H

#include "hv/vdev/pci_host.h"
#include "hv/vdev/vblk_ram.h"
#include "hv/vdev/virtio_blk.h"
#include "hv/vdev/virtio_blk_offload.h"
#include "tests/unit/test_vdev_fake.h"

#define TG_RAM_SIZE   (1u << 20)
#define TG_SLOT       3
#define TG_DESC       0x10000u
#define TG_AVAIL      0x11000u
#define TG_USED       0x12000u
#define TG_INDIRECT   0x20000u
#define TG_HDR        0x30000u        /* request headers, 16 bytes per slot */
#define TG_STATUS     0x38000u        /* status bytes, one per slot */
#define TG_DATA       0x40000u
#define TG_BAR1       0xE0000000ull
#define TG_BAR4       0xE0010000ull
#define TG_MSI_ADDR   0xFEE00000u
#define TG_CONFIG_VEC 0x30
#define TG_QUEUE_VEC  0x31

struct tguest {
    struct fake_platform f;         /* first: the platform's ctx */
    uint8_t *ram;
    struct vdev_bus bus;
    struct pci_host host;
    struct vblk_ram disk;
    uint8_t *disk_data;
    struct virtio_blk blk;
    /* driver state */
    uint16_t qsize, avail_idx, last_used;
    uint64_t features;
};

struct tg_seg {
    uint64_t gpa;
    uint32_t len;
    uint16_t flags;                 /* VIRTQ_DESC_F_WRITE */
};

/* The guest RAM (g->ram, TG_RAM_SIZE bytes) as the platform's gpa_read/gpa_write, ctx = g:
 * for tests that build their tguest by hand around another backend. */
bool tg_gpa_read(void *ctx, uint64_t gpa, void *buf, size_t len);
bool tg_gpa_write(void *ctx, uint64_t gpa, const void *buf, size_t len);

/* disk_bytes of RAM disk with the given sector size; calloc'd, freed by tg_free. */
struct tguest *tg_new(uint64_t disk_bytes, uint32_t sector_size, bool read_only);
void tg_free(struct tguest *g);
/* What travels beside the device's state when a checkpoint or a migration moves `from` to
 * `to`: the RAM, disk_bytes of disk, the driver's queue state and features, the time. */
void tg_copy_contents(struct tguest *to, const struct tguest *from, uint64_t disk_bytes);
/* len bytes of guest RAM at gpa set to a pattern that the seed starts. */
void tg_fill_ram(struct tguest *g, uint64_t gpa, uint32_t len, uint8_t seed);

/* Two RAM disks for the copy and offload requests: the device's own (disk 1, g->disk_data,
 * the one requests write) and a second beside it (disk 0, source only).  A copy piece
 * outside a disk aborts: the device's checks let it through. */
struct tg_two_disks {
    struct vblk_ram dst;            /* first: vblk_ram_backend's ops take it as their ctx */
    uint8_t *src;                   /* disk 0, dst.bytes long, a known pattern */
    unsigned copies;                /* copy pieces done */
    struct vblk_tokens *tokens;     /* set: the offload requests are served, as disk 1 */
};
extern const struct vblk_backend tg_two_disks_backend;
/* A tguest whose virtio-blk is backend (tg_two_disks_backend, or one built from it) over t,
 * PCI enabled, the driver not yet set up.  Freed by tg_free_two_disks. */
struct tguest *tg_new_two_disks(struct tg_two_disks *t, uint64_t disk_bytes, uint32_t sector_size,
                                const struct vblk_backend *backend);
void tg_free_two_disks(struct tguest *g, struct tg_two_disks *t);

uint32_t tg_cfg_read(struct tguest *g, unsigned slot, unsigned off, unsigned size);
void tg_cfg_write(struct tguest *g, unsigned slot, unsigned off, unsigned size, uint32_t v);
uint64_t tg_mmio_read(struct tguest *g, uint64_t gpa, unsigned size);
void tg_mmio_write(struct tguest *g, uint64_t gpa, unsigned size, uint64_t v);
uint64_t tg_common_read(struct tguest *g, unsigned off, unsigned size);
void tg_common_write(struct tguest *g, unsigned off, unsigned size, uint64_t v);
/* Offset of the first vendor capability of cfg_type in config space, 0 if none. */
unsigned tg_find_cap(struct tguest *g, unsigned slot, uint8_t cfg_type);

/* BARs at TG_BAR1/TG_BAR4, memory + bus master on. */
void tg_enable_pci(struct tguest *g);
/* MSI-X on, vectors 0 (config) and 1 (queue) at TG_CONFIG_VEC / TG_QUEUE_VEC. */
void tg_enable_msix(struct tguest *g);
/* Reset, ACK, DRIVER, features (VERSION_1 | want & offered), FEATURES_OK, queue 0
 * of qsize at TG_DESC/TG_AVAIL/TG_USED, DRIVER_OK.  Returns the status read back. */
uint8_t tg_driver_init(struct tguest *g, uint64_t want, uint16_t qsize, bool msix);

/* Writes a chain at descriptor index first (direct; NEXT links first, first+1...). */
void tg_put_chain(struct tguest *g, uint16_t first, const struct tg_seg *segs, unsigned n);
/* Same, as an indirect table at table_gpa, referenced by descriptor index first. */
void tg_put_indirect(struct tguest *g, uint16_t first, uint64_t table_gpa,
                     const struct tg_seg *segs, unsigned n);
void tg_write_desc(struct tguest *g, uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
                   uint16_t flags, uint16_t next);
/* Puts head in the avail ring and bumps the index (no notify). */
void tg_avail(struct tguest *g, uint16_t head);
void tg_set_avail_idx(struct tguest *g, uint16_t idx);
void tg_notify(struct tguest *g);
/* Next used element, false if none. */
bool tg_used(struct tguest *g, uint16_t *head, uint32_t *len);
uint8_t tg_status(struct tguest *g);

/* A whole request: header at TG_HDR + 16 * slot, status at TG_STATUS + slot, data at
 * gpa; uses descriptors slot*4.. (direct) or an indirect table; notifies.  Returns the
 * head. */
uint16_t tg_request(struct tguest *g, unsigned slot, uint32_t type, uint64_t sector,
                    uint64_t data_gpa, uint32_t data_len, bool indirect);
/* Runs tg_request, expects one used entry for it and returns the status byte
 * (0xEE when nothing came back). */
uint8_t tg_do(struct tguest *g, uint32_t type, uint64_t sector, uint64_t data_gpa,
              uint32_t data_len, bool indirect);

#endif
