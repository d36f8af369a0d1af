#include "drivers/pci/pci.h"

#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/spinlock.h"
#include "hv/mm/kmem.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA    0xcfc
#define PCI_BAR_COUNT      6
#define FOUR_GIB           (1ull << 32)

static spinlock_t config_lock = SPINLOCK_INIT;

static uint32_t config_address(const struct pci_device *d, uint8_t off)
{
    return 0x80000000u | (uint32_t)d->bus << 16 | (uint32_t)(d->dev & 31) << 11 |
           (uint32_t)(d->fn & 7) << 8 | (off & 0xfc);
}

uint32_t pci_read32(const struct pci_device *d, uint8_t off)
{
    uint64_t f = spin_lock_irqsave(&config_lock);
    outl(PCI_CONFIG_ADDRESS, config_address(d, off));
    uint32_t v = inl(PCI_CONFIG_DATA);
    spin_unlock_irqrestore(&config_lock, f);
    return v;
}

void pci_write32(const struct pci_device *d, uint8_t off, uint32_t v)
{
    uint64_t f = spin_lock_irqsave(&config_lock);
    outl(PCI_CONFIG_ADDRESS, config_address(d, off));
    outl(PCI_CONFIG_DATA, v);
    spin_unlock_irqrestore(&config_lock, f);
}

uint16_t pci_read16(const struct pci_device *d, uint8_t off)
{
    return (uint16_t)(pci_read32(d, off) >> ((off & 2) * 8));
}

void pci_write16(const struct pci_device *d, uint8_t off, uint16_t v)
{
    uint32_t old = pci_read32(d, off);
    unsigned shift = (off & 2) * 8;
    pci_write32(d, off, (old & ~(0xffffu << shift)) | (uint32_t)v << shift);
}

static bool probe_function(uint8_t bus, uint8_t dev, uint8_t fn, struct pci_device *out)
{
    *out = (struct pci_device){ .bus = bus, .dev = dev, .fn = fn };
    uint32_t id = pci_read32(out, PCI_VENDOR_ID);
    if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
        return false;
    out->vendor = (uint16_t)id;
    out->device = (uint16_t)(id >> 16);
    uint32_t cls = pci_read32(out, PCI_CLASS_REV);
    out->class_code = (uint8_t)(cls >> 24);
    out->subclass = (uint8_t)(cls >> 16);
    out->prog_if = (uint8_t)(cls >> 8);
    return true;
}

bool pci_scan(pci_visit_fn visit, void *ctx)
{
    struct pci_device d;
    for (unsigned bus = 0; bus < 256; bus++)
        for (uint8_t dev = 0; dev < 32; dev++) {
            if (!probe_function((uint8_t)bus, dev, 0, &d))
                continue;
            bool multi = pci_read32(&d, PCI_HEADER_TYPE & 0xfc) >> 16 & 0x80;
            for (uint8_t fn = 0; fn < (multi ? 8 : 1); fn++)
                if ((fn == 0 || probe_function((uint8_t)bus, dev, fn, &d)) && visit(&d, ctx))
                    return true;
        }
    return false;
}

/* Writes all ones to the BAR register at off and returns what sticks, restoring it. */
static uint32_t size_mask(const struct pci_device *d, uint8_t off, uint32_t *orig)
{
    *orig = pci_read32(d, off);
    pci_write32(d, off, 0xffffffffu);
    uint32_t m = pci_read32(d, off);
    pci_write32(d, off, *orig);
    return m;
}

bool pci_bar_read(const struct pci_device *d, unsigned index, struct pci_bar *bar)
{
    *bar = (struct pci_bar){ 0 };
    if (index >= PCI_BAR_COUNT)
        return false;
    uint8_t off = (uint8_t)(PCI_BAR0 + 4 * index);
    uint16_t cmd = pci_read16(d, PCI_COMMAND);
    pci_write16(d, PCI_COMMAND, cmd & ~(PCI_CMD_IO | PCI_CMD_MEMORY));
    uint32_t lo, hi = 0, mask_hi = 0xffffffffu;
    uint32_t mask_lo = size_mask(d, off, &lo);
    bar->io = lo & 1;
    bar->is64 = !bar->io && (lo & 6) == 4 && index + 1 < PCI_BAR_COUNT;
    if (bar->is64)
        mask_hi = size_mask(d, (uint8_t)(off + 4), &hi);
    pci_write16(d, PCI_COMMAND, cmd);
    if (bar->io) {
        bar->base = lo & ~3u;
        uint32_t m = mask_lo & ~3u & 0xffff;
        bar->size = m ? (~m & 0xffff) + 1 : 0;
    } else {
        bar->prefetchable = lo & 8;
        bar->base = ((uint64_t)hi << 32) | (lo & ~0xfu);
        uint64_t m = ((uint64_t)mask_hi << 32) | (mask_lo & ~0xfu);
        bar->size = (mask_lo & ~0xfu) ? ~m + 1 : 0;
    }
    return bar->size != 0;
}

void pci_enable(const struct pci_device *d, uint16_t cmd_bits)
{
    pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) | cmd_bits);
}

volatile void *pci_bar_map(const struct pci_bar *bar)
{
    if (bar->io || !bar->size || bar->base == 0 || bar->base + bar->size > FOUR_GIB)
        return NULL;
    return phys_to_virt(bar->base);
}
