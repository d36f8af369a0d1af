/*
 * A PCI host bridge for one partition: configuration mechanism #1 at 0xcf8/0xcfc, bus 0
 * with the host bridge 8086:1237 at 00:00.0 and single-function devices in slots 1-31.
 *
 * Each function has a 256-byte configuration space with per-byte write masks, memory
 * BARs (32-bit or 64-bit, power-of-two sizes, sized by writing all-ones), a capability
 * list, an optional MSI-X capability whose table and PBA live in one of its BARs, and
 * INTx (pin A, wired to GSI 16 + slot % 8 and pre-set in the interrupt line register).
 *
 * Memory BARs are decoded only while the function's command register has memory space
 * enabled and only inside the host's windows, which pci_host_create registers on the
 * partition's vdev_bus: the 32-bit window PCI_MMIO32_BASE..+SIZE and the 64-bit window
 * PCI_MMIO64_BASE..+SIZE.  Like firmware, the host pre-assigns every BAR an address in
 * the 32-bit window when a function is added (decoding stays off until the guest turns
 * it on); guests may move BARs anywhere inside either window.
 *
 * Not thread-safe: called under the partition's lock like every device.
 */
#ifndef ATOLL_HV_VDEV_PCI_HOST_H
#define ATOLL_HV_VDEV_PCI_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/vdev/vdev.h"

#define PCI_CONFIG_ADDR_PORT 0xcf8
#define PCI_CONFIG_DATA_PORT 0xcfc

#define PCI_MMIO32_BASE 0xE0000000ull
#define PCI_MMIO32_SIZE 0x10000000ull
#define PCI_MMIO64_BASE 0x8000000000ull     /* 512 GiB */
#define PCI_MMIO64_SIZE 0x1000000000ull     /* 64 GiB */

#define PCI_SLOTS      32
#define PCI_BARS       6
#define PCI_INTX_GSI(slot) (16u + (slot) % 8u)

#ifndef PCI_HOST_POOL
#define PCI_HOST_POOL 8                 /* hosts that pci_host_create can hand out */
#endif

/* Standard configuration header offsets and bits. */
#define PCI_VENDOR_ID      0x00
#define PCI_DEVICE_ID      0x02
#define PCI_COMMAND        0x04
#define PCI_STATUS         0x06
#define PCI_REVISION       0x08
#define PCI_CLASS_PROG     0x09
#define PCI_HEADER_TYPE    0x0e
#define PCI_BAR0           0x10
#define PCI_SUBSYS_VENDOR  0x2c
#define PCI_SUBSYS_ID      0x2e
#define PCI_CAP_PTR        0x34
#define PCI_INTR_LINE      0x3c
#define PCI_INTR_PIN       0x3d

#define PCI_CMD_IO          0x0001
#define PCI_CMD_MEMORY      0x0002
#define PCI_CMD_MASTER      0x0004
#define PCI_CMD_INTX_DISABLE 0x0400
#define PCI_STATUS_INTX     0x0008
#define PCI_STATUS_CAPS     0x0010

#define PCI_BAR_MEM64       0x4
#define PCI_BAR_PREFETCH    0x8

#define PCI_CAP_ID_MSIX   0x11
#define PCI_CAP_ID_VENDOR 0x09

#define PCI_MSIX_ENABLE  0x8000
#define PCI_MSIX_MASKALL 0x4000
#define PCI_MSIX_MAX_VECTORS 16
#define PCI_MSIX_NO_VECTOR 0xffff

struct pci_host;
struct pci_function;

/* A memory BAR: size is a power of two, at least 16 bytes (4 KiB or more is best).
 * Offsets passed to the handlers are from the BAR's start; size is 1, 2, 4 or 8 and the
 * access lies inside the BAR.  A NULL handler ignores writes / reads as zero. */
struct pci_bar_desc {
    uint64_t size;              /* 0: BAR not implemented */
    bool is64, prefetchable;
    vdev_mmio_read_fn read;
    vdev_mmio_write_fn write;
};

/* Optional hooks on configuration space beyond what the host emulates.  cfg_read may
 * replace *value for an access (offset aligned to size); cfg_write runs after the host
 * has applied the write masks. */
struct pci_function_desc {
    uint16_t vendor, device, subsys_vendor, subsys_id;
    uint8_t revision, class_code, subclass, prog_if;
    struct pci_bar_desc bars[PCI_BARS];
    unsigned msix_vectors;      /* 0: no MSI-X; else 1..PCI_MSIX_MAX_VECTORS */
    unsigned msix_bar;          /* table at msix_table_off, PBA at msix_pba_off */
    uint32_t msix_table_off, msix_pba_off;
    void *dev;                  /* passed to the BAR and config handlers */
    void (*cfg_read)(void *dev, unsigned offset, unsigned size, uint32_t *value);
    void (*cfg_write)(void *dev, unsigned offset, unsigned size, uint32_t value);
};

struct pci_msix_entry {
    uint32_t addr_lo, addr_hi, data, ctrl;
};

struct pci_function {
    struct pci_host *host;
    unsigned slot;
    bool present;
    struct pci_function_desc desc;
    uint8_t cfg[256];
    uint8_t wmask[256];
    uint8_t cfg_poweron[256];   /* cfg as the host and device built it (reset) */
    uint8_t cap_next;           /* where the next capability goes */
    uint8_t cap_last;           /* offset of the last capability (0: none) */
    uint8_t msix_cap;           /* offset of the MSI-X capability (0: none) */
    bool intx_level;
    struct pci_msix_entry msix[PCI_MSIX_MAX_VECTORS];
    uint64_t msix_pending;      /* PBA */
};

struct pci_host_stats {
    uint64_t cfg_reads, cfg_writes, bad_cfg_accesses, msix_sent, msix_masked;
};

struct pci_host {
    struct vdev_bus *bus;
    const struct vdev_platform *plat;
    uint32_t cfg_addr;          /* the 0xcf8 register */
    uint64_t next_bar_addr;     /* pre-assignment cursor in the 32-bit window */
    struct pci_function fn[PCI_SLOTS];
    struct pci_host_stats stats;
    bool in_use;
};

/* Initialises a caller-owned host and registers its ports and windows on bus, and its
 * reset, save and restore: section 'PCIH' (the 0xcf8 address register) and 'PCIF', one
 * per present function (instance = slot: its 256 configuration bytes, BARs included, the
 * INTx level, the MSI-X table and PBA).  Restore refuses a function whose read-only
 * bytes differ from the one in that slot here (another device), and re-drives INTx.
 * False when the bus refuses a range or a registration.  plat must be the partition's
 * interrupt fabric (platform_devices_platform()). */
bool pci_host_init(struct pci_host *host, struct vdev_bus *bus, const struct vdev_platform *plat);
/* Same, with storage from a static pool of PCI_HOST_POOL; NULL when full or refused. */
struct pci_host *pci_host_create(struct vdev_bus *bus, const struct vdev_platform *plat);
/* Gives a pool host back (the bus is the caller's to discard with the partition). */
void pci_host_destroy(struct pci_host *host);

/* Adds a function at slot (1..31, free).  NULL when the slot is taken or desc invalid
 * (BAR size not a power of two, 64-bit BAR in slot 5, MSI-X table or PBA outside its
 * BAR).  The MSI-X capability, when asked for, is added first. */
struct pci_function *pci_host_add_function(struct pci_host *host, unsigned slot,
                                           const struct pci_function_desc *desc);
/* Appends a capability (id, then next pointer, then body of len bytes, which are
 * read-only unless wmask gives a mask per body byte).  Returns its offset, 0 if full. */
uint8_t pci_function_add_cap(struct pci_function *fn, uint8_t id, const void *body,
                             unsigned len, const uint8_t *wmask);

/* Interrupt delivery.  msix_enabled: MSI-X enable bit set (INTx is then unused). */
bool pci_function_msix_enabled(const struct pci_function *fn);
/* Sends MSI-X vector (or marks it pending while masked).  False when the vector is
 * PCI_MSIX_NO_VECTOR, out of range, or MSI-X is off. */
bool pci_function_msix_notify(struct pci_function *fn, unsigned vector);
/* INTx pin A level (ignored while INTx is disabled in the command register). */
void pci_function_set_intx(struct pci_function *fn, bool level);
/* Whether the function may master the bus (DMA): command bit 2. */
bool pci_function_bus_master(const struct pci_function *fn);

/* Where BAR n currently decodes; false when memory decoding is off, the BAR is not
 * implemented or lies outside the windows. */
bool pci_function_bar_addr(const struct pci_function *fn, unsigned n, uint64_t *addr);

/* Config space access as mechanism #1 does it (for tests and an ECAM window later). */
uint32_t pci_host_cfg_read(struct pci_host *host, unsigned slot, unsigned fn,
                           unsigned offset, unsigned size);
void pci_host_cfg_write(struct pci_host *host, unsigned slot, unsigned fn,
                        unsigned offset, unsigned size, uint32_t value);

/* One MMIO access inside a window (the bus handler); exported for the tests. */
bool pci_host_mmio(struct pci_host *host, uint64_t gpa, unsigned size, bool write,
                   uint64_t *value);

#endif
