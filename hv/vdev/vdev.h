/*
 * The interface between emulated devices and the partition that owns them.
 *
 * Device models are portable: they include no hv/arch or hv/vmx header, see the guest
 * only through the port/MMIO handlers they register and the platform callbacks below,
 * and are unit-tested on the host.  The VT-x exit handlers (hv/vmx) decode an access and
 * call vdev_bus_io()/vdev_bus_mmio(); nothing VT-x-specific crosses this line.
 */
#ifndef ATOLL_HV_VDEV_VDEV_H
#define ATOLL_HV_VDEV_VDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a device may ask of its partition.  ctx is the partition's opaque pointer. */
struct vdev_platform {
    void *ctx;
    /* Guest console output (already per-partition; the platform adds the prefix). */
    void (*console_write)(void *ctx, const char *buf, size_t len);
    /* Monotonic guest time in nanoseconds. */
    uint64_t (*now_ns)(void *ctx);
    /* Ask for a call to vdev_bus_tick() at or after deadline_ns (0 cancels). */
    void (*timer_arm)(void *ctx, unsigned timer_id, uint64_t deadline_ns);
    /* Drive an interrupt line of the partition's interrupt controllers (ISA IRQ / GSI). */
    void (*irq_set)(void *ctx, unsigned gsi, bool level);
    /* Deliver a message-signalled / IPI-style interrupt to a vCPU (dest = APIC id). */
    void (*msi_send)(void *ctx, uint32_t dest_apic_id, uint8_t vector, bool level_trig);
    /* End the partition with this status (debug-exit port, fatal device error). */
    void (*partition_exit)(void *ctx, int status);
    /* Read/write guest-physical memory; false when any byte is outside the partition. */
    bool (*gpa_read)(void *ctx, uint64_t gpa, void *buf, size_t len);
    bool (*gpa_write)(void *ctx, uint64_t gpa, const void *buf, size_t len);
    /* Properties the device reports to the guest. */
    unsigned vcpu_count;
    uint64_t ram_bytes;
};

/* size is 1, 2 or 4 for ports; 1, 2, 4 or 8 for MMIO.  Return false if not claimed. */
typedef bool (*vdev_port_read_fn)(void *dev, uint16_t port, unsigned size, uint32_t *value);
typedef bool (*vdev_port_write_fn)(void *dev, uint16_t port, unsigned size, uint32_t value);
typedef bool (*vdev_mmio_read_fn)(void *dev, uint64_t offset, unsigned size, uint64_t *value);
typedef bool (*vdev_mmio_write_fn)(void *dev, uint64_t offset, unsigned size, uint64_t value);

struct vdev_port_range {
    uint16_t base, count;
    vdev_port_read_fn read;
    vdev_port_write_fn write;
    void *dev;
};

struct vdev_mmio_range {
    uint64_t base, size;
    vdev_mmio_read_fn read;
    vdev_mmio_write_fn write;
    void *dev;
};

#define VDEV_MAX_PORT_RANGES 32
#define VDEV_MAX_MMIO_RANGES 16

/* Counters of accesses nobody claimed (reads return all-ones, writes are dropped). */
struct vdev_bus_stats {
    uint64_t unclaimed_port_reads, unclaimed_port_writes;
    uint64_t unclaimed_mmio_reads, unclaimed_mmio_writes;
};

struct vdev_bus {
    struct vdev_port_range ports[VDEV_MAX_PORT_RANGES];
    unsigned port_count;
    struct vdev_mmio_range mmio[VDEV_MAX_MMIO_RANGES];
    unsigned mmio_count;
    struct vdev_bus_stats stats;
};

/* Registration fails (false) on overlap or when the table is full. */
bool vdev_bus_add_ports(struct vdev_bus *bus, const struct vdev_port_range *r);
bool vdev_bus_add_mmio(struct vdev_bus *bus, const struct vdev_mmio_range *r);

/* Dispatch one guest access.  Unclaimed reads yield all-ones; always "handled". */
void vdev_bus_io(struct vdev_bus *bus, uint16_t port, unsigned size, bool write, uint32_t *value);
/* MMIO dispatch; returns false when no device covers gpa (the caller decides the fate). */
bool vdev_bus_mmio(struct vdev_bus *bus, uint64_t gpa, unsigned size, bool write, uint64_t *value);

#endif
