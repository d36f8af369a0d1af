/*
 * The virtio 1.x modern PCI transport (virtio spec 4.1), non-transitional: vendor 1AF4,
 * device 0x1040 + virtio device type, revision 1.
 *
 * BAR 1 (32-bit, 4 KiB) holds the MSI-X table (0x000) and PBA (0x800); BAR 4 (64-bit,
 * 16 KiB) holds the common configuration (0x0000), ISR (0x1000), device configuration
 * (0x2000) and notifications (0x3000, queue n at 0x3000 + 4 n).  Capabilities: MSI-X,
 * then virtio common, notify, ISR, device and PCI-config-access.
 *
 * The transport negotiates features (VIRTIO_F_VERSION_1 required, plus indirect
 * descriptors and event index, plus what the device offers), runs the status state
 * machine (FEATURES_OK only for an acceptable feature set; DRIVER_OK only after it;
 * DEVICE_NEEDS_RESET when the device gives up, with a configuration interrupt), keeps
 * the queue registers and delivers interrupts (MSI-X vector per queue and for config
 * changes; INTx with the ISR otherwise; a configuration change sets the ISR's bit 1 in
 * both cases).  Conformance to virtio 1.2, point by point: docs/virtio.md.
 */
#ifndef ATOLL_HV_VDEV_VIRTIO_PCI_H
#define ATOLL_HV_VDEV_VIRTIO_PCI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "hv/vdev/pci_host.h"
#include "hv/vdev/vdev.h"
#include "hv/vdev/virtqueue.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040

#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER      0x02
#define VIRTIO_STATUS_DRIVER_OK   0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED      0x80

#define VIRTIO_F_INDIRECT_DESC (1ull << 28)
#define VIRTIO_F_EVENT_IDX     (1ull << 29)
#define VIRTIO_F_VERSION_1     (1ull << 32)

#define VIRTIO_PCI_ISR_QUEUE  0x01
#define VIRTIO_PCI_ISR_CONFIG 0x02

#define VIRTIO_PCI_CAP_COMMON 1
#define VIRTIO_PCI_CAP_NOTIFY 2
#define VIRTIO_PCI_CAP_ISR    3
#define VIRTIO_PCI_CAP_DEVICE 4
#define VIRTIO_PCI_CAP_PCI_CFG 5

/* BAR layout. */
#define VIRTIO_PCI_MSIX_BAR    1
#define VIRTIO_PCI_REGS_BAR    4
#define VIRTIO_PCI_REGS_SIZE   0x4000
#define VIRTIO_PCI_COMMON_OFF  0x0000
#define VIRTIO_PCI_ISR_OFF     0x1000
#define VIRTIO_PCI_DEVICE_OFF  0x2000
#define VIRTIO_PCI_NOTIFY_OFF  0x3000
#define VIRTIO_PCI_NOTIFY_MULT 4
#define VIRTIO_PCI_COMMON_LEN  0x38

/* Common configuration registers (offsets in the common region). */
#define VIRTIO_COMMON_DFSELECT   0x00
#define VIRTIO_COMMON_DF         0x04
#define VIRTIO_COMMON_GFSELECT   0x08
#define VIRTIO_COMMON_GF         0x0c
#define VIRTIO_COMMON_MSIX       0x10
#define VIRTIO_COMMON_NUMQ       0x12
#define VIRTIO_COMMON_STATUS     0x14
#define VIRTIO_COMMON_CFGGEN     0x15
#define VIRTIO_COMMON_Q_SELECT   0x16
#define VIRTIO_COMMON_Q_SIZE     0x18
#define VIRTIO_COMMON_Q_MSIX     0x1a
#define VIRTIO_COMMON_Q_ENABLE   0x1c
#define VIRTIO_COMMON_Q_NOFF     0x1e
#define VIRTIO_COMMON_Q_DESCLO   0x20
#define VIRTIO_COMMON_Q_DESCHI   0x24
#define VIRTIO_COMMON_Q_AVAILLO  0x28
#define VIRTIO_COMMON_Q_AVAILHI  0x2c
#define VIRTIO_COMMON_Q_USEDLO   0x30
#define VIRTIO_COMMON_Q_USEDHI   0x34

#define VIRTIO_PCI_MAX_QUEUES 4

/* What a device type supplies.  Every callback gets dev. */
struct virtio_device_ops {
    const char *name;               /* for log lines, e.g. "virtio-blk" */
    uint16_t device_type;           /* virtio device ID (2: block) */
    uint64_t features;              /* device-specific feature bits offered */
    unsigned num_queues;            /* 1..VIRTIO_PCI_MAX_QUEUES */
    uint16_t queue_max;             /* power of two, up to VIRTQ_MAX_SIZE */
    unsigned config_len;            /* bytes of device configuration (up to 0x1000) */
    /* Device configuration access: offset + size <= config_len. */
    uint32_t (*config_read)(void *dev, unsigned offset, unsigned size);
    void (*config_write)(void *dev, unsigned offset, unsigned size, uint32_t value);
    /* The driver notified queue q (enabled, DRIVER_OK, not NEEDS_RESET). */
    void (*queue_notify)(void *dev, unsigned q);
    /* The driver reset the device (status written 0); queues are already reset. */
    void (*reset)(void *dev);
};

struct virtio_pci_stats {
    uint64_t notifies, queue_irqs, config_irqs, resets, needs_reset, log_dropped;
};

struct virtio_pci {
    struct pci_function *fn;
    const struct vdev_platform *plat;
    const struct virtio_device_ops *ops;
    void *dev;
    uint32_t dfselect, gfselect;
    uint64_t driver_features;
    uint8_t status;
    uint8_t config_generation;
    bool config_unread;             /* changed since the driver last read it (not saved) */
    uint8_t isr;
    uint16_t config_msix;
    uint16_t queue_select;
    uint32_t reset_count;           /* bumped on every reset: stale async work is dropped */
    uint8_t pcicfg_cap;
    struct virtq queues[VIRTIO_PCI_MAX_QUEUES];
    uint64_t log_window_ns;
    unsigned log_lines;
    struct virtio_pci_stats stats;
    uint16_t state_instance;        /* its 'VPCI' section's instance */
};

/* Puts the transport for device dev in slot of host.  False when the slot or the
 * capability space cannot take it or ops is invalid. */
bool virtio_pci_init(struct virtio_pci *vp, struct pci_host *host, unsigned slot,
                     const struct vdev_platform *plat, const struct virtio_device_ops *ops,
                     void *dev);

/* Reset, save and restore of the transport on bus: section 'VPCI' with this instance
 * (use the PCI slot): feature selectors, the driver's features, device status, ISR,
 * configuration generation and MSI-X vector, queue select, and per queue its size,
 * vector, enable, negotiated features, ring addresses and indices (last_avail_idx, the
 * used index, the used index last signalled).  The PCI configuration space and MSI-X
 * table are the host's ('PCIF').  Restore refuses states the driver's writes cannot
 * reach (DRIVER_OK without FEATURES_OK, features not offered, a queue size that is not a
 * power of two up to the maximum, a misaligned or wrapping ring of an enabled queue);
 * ring addresses outside guest RAM are refused at use (the device needs a reset).  The
 * device type's own state is the device type's (virtio_blk_register_state).  Reset is a
 * driver's reset (status 0), which also resets the device type. */
bool virtio_pci_register_state(struct virtio_pci *vp, struct vdev_bus *bus, uint16_t instance);

/* Features both sides agreed on (valid once FEATURES_OK is set). */
uint64_t virtio_pci_features(const struct virtio_pci *vp);
bool virtio_pci_driver_ok(const struct virtio_pci *vp);
struct virtq *virtio_pci_queue(struct virtio_pci *vp, unsigned q);

/* The queue has new used entries: interrupt the driver if it wants one. */
void virtio_pci_queue_interrupt(struct virtio_pci *vp, unsigned q);
/* Device configuration changed: a configuration interrupt, and a new generation from the
 * driver's next read of the device configuration on. */
void virtio_pci_config_changed(struct virtio_pci *vp);
/* The device cannot go on: logs why (one line), sets DEVICE_NEEDS_RESET and raises
 * the configuration interrupt.  Queues stay stopped until the driver resets. */
void virtio_pci_needs_reset(struct virtio_pci *vp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bool virtio_pci_broken(const struct virtio_pci *vp);
/* One log line "<name> 00:SS.0: ..." on the partition's console, at most 10 a second. */
void virtio_pci_log(struct virtio_pci *vp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The BAR 4 handlers (exported for the tests). */
bool virtio_pci_regs_read(void *vp, uint64_t off, unsigned size, uint64_t *value);
bool virtio_pci_regs_write(void *vp, uint64_t off, unsigned size, uint64_t value);

#endif
