/*
 * ATA driver.  One request at a time per channel; a small state machine advanced by poll.
 * With bus-master DMA (drivers/ata/ata_bmdma.c) a read or write is one DMA command through
 * the channel's bounce buffer, finished when the controller and the drive are both idle.
 * Without it (no bus-master controller, or a drive without DMA) each poll moves every
 * sector whose DRQ is up by PIO.  Either way the request ends when the drive is idle
 * again, reports an error, or times out.
 */
#include "drivers/ata/ata.h"

#include <string.h>
#include "drivers/ata/ata_bmdma.h"
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/tsc.h"
#include "hv/arch/x86/console.h"
#include "hv/lib/format.h"

#define REG_DATA     0
#define REG_ERROR    1
#define REG_COUNT    2
#define REG_LBA0     3
#define REG_LBA1     4
#define REG_LBA2     5
#define REG_DRIVE    6
#define REG_STATUS   7
#define REG_COMMAND  7

#define ST_ERR  0x01
#define ST_DRQ  0x08
#define ST_DF   0x20
#define ST_BSY  0x80

#define CTL_NIEN 0x02
#define CTL_SRST 0x04

#define CMD_READ        0x20
#define CMD_READ_EXT    0x24
#define CMD_WRITE       0x30
#define CMD_WRITE_EXT   0x34
#define CMD_READ_DMA    0xc8
#define CMD_READ_DMA_EXT 0x25
#define CMD_WRITE_DMA   0xca
#define CMD_WRITE_DMA_EXT 0x35
#define CMD_FLUSH       0xe7
#define CMD_FLUSH_EXT   0xea
#define CMD_IDENTIFY    0xec

#define ATA_TIMEOUT_NS  5000000000ull
#define ATA_MAX_SECTORS 128

struct ata_disk {
    struct block_device dev;
    uint16_t io, ctl;
    uint8_t slave;
    bool lba48;
    bool dma;               /* the drive does DMA and its channel has a bus master */
    bool cur_dma;           /* cur is moving by DMA */
    struct block_request *cur;
    uint32_t done;          /* sectors moved for cur */
    uint64_t deadline;
};

static struct ata_disk disks[4];
static bool channel_busy[2];   /* master and slave share the channel's registers */
static struct ata_bmdma bmdma[2];

static void port_in16(uint16_t port, void *dst, size_t words)
{
    __asm__ volatile("rep insw" : "+D"(dst), "+c"(words) : "d"(port) : "memory");
}

static void port_out16(uint16_t port, const void *src, size_t words)
{
    __asm__ volatile("rep outsw" : "+S"(src), "+c"(words) : "d"(port) : "memory");
}

static bool *busy_of(const struct ata_disk *d) { return &channel_busy[d->io == 0x170]; }
static struct ata_bmdma *bmdma_of(const struct ata_disk *d) { return &bmdma[d->io == 0x170]; }

static void delay400(const struct ata_disk *d)
{
    for (int i = 0; i < 4; i++)
        (void)inb(d->ctl);
}

static bool wait_not_busy(const struct ata_disk *d, uint64_t ns)
{
    uint64_t end = time_ns() + ns;
    while (inb(d->io + REG_STATUS) & ST_BSY)
        if (time_ns() > end)
            return false;
    return true;
}

static void select_drive(const struct ata_disk *d, uint8_t lba_bits)
{
    outb(d->io + REG_DRIVE, (uint8_t)(0xe0 | (d->slave << 4) | lba_bits));
    delay400(d);
}

static void issue(struct ata_disk *d, uint8_t cmd, uint64_t lba, uint32_t count)
{
    uint16_t io = d->io;
    if (d->lba48) {
        select_drive(d, 0);
        outb(io + REG_COUNT, (uint8_t)(count >> 8));
        outb(io + REG_LBA0, (uint8_t)(lba >> 24));
        outb(io + REG_LBA1, (uint8_t)(lba >> 32));
        outb(io + REG_LBA2, (uint8_t)(lba >> 40));
    } else {
        select_drive(d, (uint8_t)((lba >> 24) & 0x0f));
    }
    outb(io + REG_COUNT, (uint8_t)count);
    outb(io + REG_LBA0, (uint8_t)lba);
    outb(io + REG_LBA1, (uint8_t)(lba >> 8));
    outb(io + REG_LBA2, (uint8_t)(lba >> 16));
    outb(io + REG_COMMAND, cmd);
    delay400(d);
}

static void start_dma(struct ata_disk *d, struct block_request *r)
{
    struct ata_bmdma *b = bmdma_of(d);
    size_t bytes = (size_t)r->count * 512;
    bool read = r->op == BLOCK_READ;
    if (!read)
        block_req_copy_out(r, 0, b->buf, bytes);
    ata_bmdma_prepare(b, bytes, read);
    issue(d, read ? (d->lba48 ? CMD_READ_DMA_EXT : CMD_READ_DMA)
                  : (d->lba48 ? CMD_WRITE_DMA_EXT : CMD_WRITE_DMA), r->lba, r->count);
    ata_bmdma_start(b);
}

static bool ata_start(struct block_device *bd, struct block_request *r)
{
    struct ata_disk *d = bd->driver;
    if (d->cur || *busy_of(d))
        return false;
    if (r->op == BLOCK_TRIM) {   /* PIIX-era disks have no TRIM: nothing to do */
        block_complete(bd, r, BLOCK_OK);
        return true;
    }
    if (!wait_not_busy(d, 1000000))
        return false;
    *busy_of(d) = true;
    d->cur = r;
    d->done = 0;
    d->deadline = time_ns() + ATA_TIMEOUT_NS;
    d->cur_dma = d->dma && (r->op == BLOCK_READ || r->op == BLOCK_WRITE);
    if (d->cur_dma) {
        start_dma(d, r);
        return true;
    }
    switch (r->op) {
    case BLOCK_READ:
        issue(d, d->lba48 ? CMD_READ_EXT : CMD_READ, r->lba, r->count);
        break;
    case BLOCK_WRITE:
        issue(d, d->lba48 ? CMD_WRITE_EXT : CMD_WRITE, r->lba, r->count);
        break;
    case BLOCK_FLUSH:
        select_drive(d, 0);
        outb(d->io + REG_COMMAND, d->lba48 ? CMD_FLUSH_EXT : CMD_FLUSH);
        delay400(d);
        break;
    case BLOCK_TRIM:
        break;
    }
    return true;
}

static void finish(struct ata_disk *d, int status)
{
    struct block_request *r = d->cur;
    if (d->cur_dma) {
        ata_bmdma_stop(bmdma_of(d));
        if (status == BLOCK_OK && r->op == BLOCK_READ)
            block_req_copy_in(r, 0, bmdma_of(d)->buf, (size_t)r->count * 512);
    }
    d->cur = NULL;
    *busy_of(d) = false;
    if (status) {
        kprintf("storage: %s: %s at LBA %lu (status %#x error %#x)\n", d->dev.name,
                block_status_name(status), (unsigned long)r->lba, inb(d->io + REG_STATUS),
                inb(d->io + REG_ERROR));
        if (status == BLOCK_E_TIMEOUT) {
            outb(d->ctl, CTL_NIEN | CTL_SRST);
            udelay(5);
            outb(d->ctl, CTL_NIEN);
            wait_not_busy(d, 100000000);
        }
    }
    block_complete(&d->dev, r, status);
}

/* Moves one sector between the data port and the request. */
static void move_sector(struct ata_disk *d)
{
    uint16_t words[256];
    struct block_request *r = d->cur;
    size_t off = (size_t)d->done * 512;
    if (r->op == BLOCK_READ) {
        port_in16(d->io + REG_DATA, words, 256);
        block_req_copy_in(r, off, words, 512);
    } else {
        block_req_copy_out(r, off, words, 512);
        port_out16(d->io + REG_DATA, words, 256);
    }
    d->done++;
}

static void poll_dma(struct ata_disk *d)
{
    uint8_t st = inb(d->io + REG_STATUS);
    int bm = ata_bmdma_state(bmdma_of(d));
    if (bm < 0 || (!(st & ST_BSY) && (st & (ST_ERR | ST_DF)))) {
        finish(d, BLOCK_E_IO);
        return;
    }
    if (bm == 0 || (st & (ST_BSY | ST_DRQ))) {
        if (time_ns() > d->deadline)
            finish(d, BLOCK_E_TIMEOUT);
        return;
    }
    finish(d, BLOCK_OK);
}

static void ata_poll(struct block_device *bd)
{
    struct ata_disk *d = bd->driver;
    if (d->cur && d->cur_dma) {
        poll_dma(d);
        return;
    }
    while (d->cur) {
        uint8_t st = inb(d->io + REG_STATUS);
        if (st & ST_BSY) {
            if (time_ns() > d->deadline)
                finish(d, BLOCK_E_TIMEOUT);
            return;
        }
        if (st & (ST_ERR | ST_DF)) {
            finish(d, BLOCK_E_IO);
            return;
        }
        bool data = d->cur->op == BLOCK_READ || d->cur->op == BLOCK_WRITE;
        if (data && d->done < d->cur->count) {
            if (!(st & ST_DRQ)) {
                if (time_ns() > d->deadline)
                    finish(d, BLOCK_E_TIMEOUT);
                return;
            }
            move_sector(d);
            delay400(d);
            continue;
        }
        finish(d, BLOCK_OK);
    }
}

static const struct block_driver_ops ata_ops = { ata_start, ata_poll };

static void model_of(const uint16_t *id, char *out)
{
    int n = 0;
    for (int w = 27; w <= 46; w++) {
        out[n++] = (char)(id[w] >> 8);
        out[n++] = (char)id[w];
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = 0;
}

/* IDENTIFY DEVICE; false when nothing (or an ATAPI device) answers. */
static bool identify(struct ata_disk *d, uint16_t *id)
{
    select_drive(d, 0);
    if (inb(d->io + REG_STATUS) == 0xff)
        return false;                  /* floating bus: no drive */
    outb(d->io + REG_COUNT, 0);
    outb(d->io + REG_LBA0, 0);
    outb(d->io + REG_LBA1, 0);
    outb(d->io + REG_LBA2, 0);
    outb(d->io + REG_COMMAND, CMD_IDENTIFY);
    delay400(d);
    if (inb(d->io + REG_STATUS) == 0 || !wait_not_busy(d, 100000000))
        return false;
    if (inb(d->io + REG_LBA1) || inb(d->io + REG_LBA2))
        return false;                  /* ATAPI or SATA signature */
    uint64_t end = time_ns() + 100000000;
    uint8_t st;
    while (!((st = inb(d->io + REG_STATUS)) & (ST_DRQ | ST_ERR)))
        if (time_ns() > end)
            return false;
    if (st & ST_ERR)
        return false;
    port_in16(d->io + REG_DATA, id, 256);
    return true;
}

static void probe_one(unsigned index, uint16_t io, uint16_t ctl, uint8_t slave)
{
    struct ata_disk *d = &disks[index];
    uint16_t id[256];
    char model[41];
    memset(d, 0, sizeof(*d));
    d->io = io;
    d->ctl = ctl;
    d->slave = slave;
    outb(ctl, CTL_NIEN);
    if (!identify(d, id))
        return;
    d->lba48 = id[83] & (1u << 10);
    uint64_t sectors = d->lba48 ? (uint64_t)id[100] | (uint64_t)id[101] << 16 |
                                  (uint64_t)id[102] << 32 | (uint64_t)id[103] << 48
                                : (uint64_t)id[60] | (uint64_t)id[61] << 16;
    if (!(id[49] & (1u << 9)) || !sectors)
        return;                        /* no LBA: too old to bother with */
    d->dma = bmdma_of(d)->port && (id[49] & (1u << 8));
    model_of(id, model);
    fmt_snprintf(d->dev.name, sizeof(d->dev.name), "ata%u", index);
    d->dev.sector_size = 512;
    d->dev.sectors = sectors;
    d->dev.max_sectors = ATA_MAX_SECTORS;
    d->dev.ops = &ata_ops;
    d->dev.driver = d;
    block_device_init(&d->dev);
    block_register(&d->dev);
    kprintf("storage: %s: %s, %lu MiB, LBA%s, %s\n", d->dev.name, model,
            (unsigned long)(sectors >> 11), d->lba48 ? "48" : "28", d->dma ? "DMA" : "PIO");
}

unsigned ata_probe(bool allow_dma)
{
    static const uint16_t ports[2][2] = { { 0x1f0, 0x3f6 }, { 0x170, 0x376 } };
    unsigned n = 0;
    if (allow_dma)
        ata_bmdma_probe(bmdma);
    for (unsigned ch = 0; ch < 2; ch++) {
        if (inb(ports[ch][0] + REG_STATUS) == 0xff)
            continue;
        for (uint8_t s = 0; s < 2; s++) {
            probe_one(ch * 2 + s, ports[ch][0], ports[ch][1], s);
            n += disks[ch * 2 + s].dev.ops != NULL;
        }
    }
    return n;
}
