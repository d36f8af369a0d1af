/*
 * An 82093AA-style I/O APIC at 0xFEC00000 with 24 redirection entries (version 0x20,
 * with the EOI register at offset 0x40).  Each asserted pin sends the MSI its entry
 * describes through plat->msi_send; level-triggered pins set Remote IRR until the
 * LAPIC's EOI broadcast (vioapic_eoi) and are resent while still asserted.  Edge
 * assertions that arrive while the entry is masked are lost (datasheet: ignored).
 * apic.md lists the datasheet's rules and what the model does with each.
 */
#ifndef ATOLL_HV_VDEV_IOAPIC_H
#define ATOLL_HV_VDEV_IOAPIC_H

#include "hv/vdev/vdev.h"

#define VIOAPIC_DEFAULT_BASE 0xfec00000ull
#define VIOAPIC_PINS         24
#define VIOAPIC_VERSION      0x20

#define VIOAPIC_RTE_MASKED     (1ull << 16)
#define VIOAPIC_RTE_LEVEL      (1ull << 15)
#define VIOAPIC_RTE_REMOTE_IRR (1ull << 14)

struct vioapic {
    const struct vdev_platform *plat;
    uint64_t base;
    uint32_t id;
    uint8_t regsel;
    uint64_t rte[VIOAPIC_PINS];
    uint32_t level;      /* asserted input pins */
    uint32_t irr;        /* pending edge requests */
    uint64_t sent;       /* MSIs sent, for tests and statistics */
};

void vioapic_init(struct vioapic *io, const struct vdev_platform *plat, uint64_t base);
bool vioapic_register(struct vioapic *io, struct vdev_bus *bus);
/* Reset, save and restore on bus (section 'IOAP': ID, IOREGSEL, table, pin levels). */
bool vioapic_register_state(struct vioapic *io, struct vdev_bus *bus);
void vioapic_set_irq(struct vioapic *io, unsigned pin, bool level);
/* EOI broadcast from a LAPIC for vector. */
void vioapic_eoi(struct vioapic *io, uint8_t vector);

bool vioapic_mmio_read(void *dev, uint64_t offset, unsigned size, uint64_t *value);
bool vioapic_mmio_write(void *dev, uint64_t offset, unsigned size, uint64_t value);

#endif
