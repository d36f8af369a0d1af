#include "drivers/ata/ata_bmdma.h"

#include "drivers/pci/pci.h"
#include "hv/arch/x86/cpu.h"
#include "hv/mm/kmem.h"

#define BM_COMMAND   0
#define BM_STATUS    2
#define BM_PRD       4

#define BM_CMD_START     0x01
#define BM_CMD_TO_MEMORY 0x08   /* a read from the disk */
#define BM_ST_ACTIVE     0x01
#define BM_ST_ERROR      0x02
#define BM_ST_IRQ        0x04

#define PRD_EOT     0x80000000u
#define PAGE        4096u
#define FOUR_GIB    (1ull << 32)

static bool find_ide(const struct pci_device *d, void *ctx)
{
    /* Mass storage / IDE, bus-master capable (programming interface bit 7). */
    if (d->class_code != 0x01 || d->subclass != 0x01 || !(d->prog_if & 0x80))
        return false;
    *(struct pci_device *)ctx = *d;
    return true;
}

static bool setup(struct ata_bmdma *b, uint16_t port)
{
    b->prd = kmem_alloc_pages_aligned(1, 1, FOUR_GIB);
    b->buf = kmem_alloc_pages_aligned(ATA_BMDMA_BYTES / PAGE, 1, FOUR_GIB);
    if (!b->prd || !b->buf) {
        if (b->prd)
            kmem_free_pages(b->prd, 1);
        if (b->buf)
            kmem_free_pages(b->buf, ATA_BMDMA_BYTES / PAGE);
        b->prd = NULL;
        b->buf = NULL;
        return false;
    }
    b->port = port;
    outb(port + BM_COMMAND, 0);
    outb(port + BM_STATUS, BM_ST_ERROR | BM_ST_IRQ);
    return true;
}

unsigned ata_bmdma_probe(struct ata_bmdma channels[2])
{
    struct pci_device d;
    struct pci_bar bar;
    channels[0].port = channels[1].port = 0;
    /* Native-mode controllers put the channels elsewhere; only the legacy ports are ours. */
    if (!pci_scan(find_ide, &d) || (d.prog_if & 0x05) || !pci_bar_read(&d, 4, &bar) ||
        !bar.io || bar.size < 16 || !bar.base)
        return 0;
    pci_enable(&d, PCI_CMD_IO | PCI_CMD_BUS_MASTER);
    unsigned n = 0;
    for (unsigned ch = 0; ch < 2; ch++)
        n += setup(&channels[ch], (uint16_t)(bar.base + 8 * ch));
    return n;
}

void ata_bmdma_prepare(struct ata_bmdma *b, size_t bytes, bool to_memory)
{
    outb(b->port + BM_COMMAND, 0);
    outb(b->port + BM_STATUS, BM_ST_ERROR | BM_ST_IRQ);
    /* One region per page: none crosses a 64 KiB boundary, as the PRD format requires. */
    unsigned n = 0;
    for (size_t off = 0; off < bytes; off += PAGE, n++) {
        size_t len = bytes - off < PAGE ? bytes - off : PAGE;
        b->prd[2 * n] = (uint32_t)virt_to_phys(b->buf + off);
        b->prd[2 * n + 1] = (uint32_t)len;
    }
    b->prd[2 * (n - 1) + 1] |= PRD_EOT;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);        /* the table before the controller reads it */
    outl(b->port + BM_PRD, (uint32_t)virt_to_phys(b->prd));
    outb(b->port + BM_COMMAND, to_memory ? BM_CMD_TO_MEMORY : 0);
}

void ata_bmdma_start(struct ata_bmdma *b)
{
    outb(b->port + BM_COMMAND, inb(b->port + BM_COMMAND) | BM_CMD_START);
}

int ata_bmdma_state(const struct ata_bmdma *b)
{
    uint8_t st = inb(b->port + BM_STATUS);
    if (st & BM_ST_ERROR)
        return -1;
    return (st & BM_ST_ACTIVE) ? 0 : 1;
}

void ata_bmdma_stop(struct ata_bmdma *b)
{
    outb(b->port + BM_COMMAND, inb(b->port + BM_COMMAND) & ~BM_CMD_START);
    outb(b->port + BM_STATUS, BM_ST_ERROR | BM_ST_IRQ);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);        /* the buffer after the controller wrote it */
}
