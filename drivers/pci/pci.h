/*
 * PCI through configuration mechanism #1 (ports 0xcf8/0xcfc): enumeration, BAR sizing and
 * the command register.  Memory BARs below 4 GiB are reached through the direct map.
 */
#ifndef ATOLL_DRIVERS_PCI_PCI_H
#define ATOLL_DRIVERS_PCI_PCI_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCI_VENDOR_ID   0x00
#define PCI_DEVICE_ID   0x02
#define PCI_COMMAND     0x04
#define PCI_CLASS_REV   0x08
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0        0x10
#define PCI_IRQ_LINE    0x3c

#define PCI_CMD_IO          0x0001
#define PCI_CMD_MEMORY      0x0002
#define PCI_CMD_BUS_MASTER  0x0004

struct pci_device {
    uint8_t bus, dev, fn;
    uint16_t vendor, device;
    uint8_t class_code, subclass, prog_if;
};

struct pci_bar {
    uint64_t base;      /* physical address (memory) or port (I/O) */
    uint64_t size;      /* 0: not implemented */
    bool io, is64, prefetchable;
};

uint32_t pci_read32(const struct pci_device *d, uint8_t off);
uint16_t pci_read16(const struct pci_device *d, uint8_t off);
void pci_write32(const struct pci_device *d, uint8_t off, uint32_t v);
void pci_write16(const struct pci_device *d, uint8_t off, uint16_t v);

/* Calls visit for every function present; stops early when visit returns true.
 * Returns whether some visit returned true. */
typedef bool (*pci_visit_fn)(const struct pci_device *d, void *ctx);
bool pci_scan(pci_visit_fn visit, void *ctx);

/* Sizes BAR `index` (0-5), with decoding off while it probes.  False: no such BAR. */
bool pci_bar_read(const struct pci_device *d, unsigned index, struct pci_bar *bar);
/* Sets bits in the command register (PCI_CMD_*). */
void pci_enable(const struct pci_device *d, uint16_t cmd_bits);
/* A memory BAR as a pointer through the direct map; NULL for I/O BARs or above 4 GiB. */
volatile void *pci_bar_map(const struct pci_bar *bar);

#endif
