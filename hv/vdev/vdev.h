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

#include "hv/state/state_stream.h"

/* What a device may ask of its partition.  ctx is the partition's opaque pointer.
 * Callbacks marked optional may be NULL. */
struct vdev_platform {
    void *ctx;
    /* Guest console output (already per-partition; the platform adds the prefix). */
    void (*console_write)(void *ctx, const char *buf, size_t len);
    /* Monotonic guest time in nanoseconds. */
    uint64_t (*now_ns)(void *ctx);
    /* Ask for a call to the owner's tick (platform_devices_tick) at or after deadline_ns;
     * 0 cancels.  Each timer_id has at most one deadline; a new one replaces it. */
    void (*timer_arm)(void *ctx, unsigned timer_id, uint64_t deadline_ns);
    /* Drive an interrupt line: ISA IRQ 0-15 (PIC and IOAPIC) or GSI 16-23 (IOAPIC).
     * level is the logical assertion; edge devices pulse it. */
    void (*irq_set)(void *ctx, unsigned gsi, bool level);
    /* A message-signalled interrupt in the x86 MSI format (SDM 10.11): address
     * 0xFEExxxxx with destination in bits 19:12, bit 2 logical destination; data with
     * vector in bits 7:0, delivery mode in 10:8, bit 15 level-triggered. */
    void (*msi_send)(void *ctx, uint64_t addr, uint32_t data);
    /* End the partition with this status (debug-exit port, fatal device error). */
    void (*partition_exit)(void *ctx, int status);
    /* Read/write guest-physical memory; false when any byte is outside the partition. */
    bool (*gpa_read)(void *ctx, uint64_t gpa, void *buf, size_t len);
    bool (*gpa_write)(void *ctx, uint64_t gpa, const void *buf, size_t len);
    /* Optional.  An interrupt, NMI or start-up event became pending for vcpu (index in
     * the partition): wake it if halted, or make it exit soon if it runs elsewhere. */
    void (*vcpu_kick)(void *ctx, unsigned vcpu);
    /* Optional.  INIT (sipi false) or start-up IPI (sipi true, vector = 4 KiB page of the
     * real-mode entry) addressed to vcpu by another vCPU; the VT-x layer acts on it. */
    void (*vcpu_startup)(void *ctx, unsigned vcpu, bool sipi, uint8_t vector);
    /* Optional.  Wall-clock time, seconds since 1970-01-01 UTC (CMOS RTC); when NULL the
     * RTC starts at a fixed epoch and advances with now_ns. */
    uint64_t (*wall_clock_s)(void *ctx);
    /* Optional.  vCPU `vcpu`'s current TSC (each has its own offset); when NULL it is
     * now_ns scaled by tsc_hz. */
    uint64_t (*guest_tsc)(void *ctx, unsigned vcpu);
    /* Optional.  The guest asked for a platform reset (source: "port 0xcf9", ...); when
     * NULL the request is ignored. */
    void (*guest_reset)(void *ctx, const char *source);
    /* Properties the device reports to the guest. */
    unsigned vcpu_count;
    uint64_t ram_bytes;
    uint64_t tsc_hz;    /* guest TSC frequency (TSC-deadline timer); 0 means 1 GHz */
    unsigned phys_addr_bits;    /* the guest's MAXPHYADDR (CPUID.80000008H:EAX[7:0]);
                                   0 means 36 */
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

/*
 * Reset, save and restore of one device model, registered once on its partition's bus
 * (vdev_bus_add_state).  save writes the device's sections (one, or one per instance, as
 * the LAPIC per vCPU) into w; restore takes one section of the device's id, validates it
 * into a scratch copy and only then takes it (0), or refuses it (-1, one line in err) and
 * leaves the device as it was.  reset puts the device in its power-on state.
 */
struct vdev_state_ops {
    const char *name;               /* "pit", "lapic", ... for messages */
    struct state_kind kind;         /* section id and the versions restore reads */
    void *dev;
    void (*reset)(void *dev);       /* may be NULL: nothing of its own to reset */
    bool (*save)(void *dev, struct state_writer *w);
    int (*restore)(void *dev, const struct state_section *s, char *err, size_t err_size);
    /* Several devices of one kind (a virtio-blk per PCI slot) each register under the
     * same id with per_instance set: each saves and restores only `instance`.  Without
     * it a registration owns every instance of its id (the LAPIC's, one per vCPU). */
    bool per_instance;
    uint16_t instance;
};
#define VDEV_MAX_STATE_OPS 24

#define VDEV_MAX_PORT_RANGES 32
#define VDEV_MAX_MMIO_RANGES 16

/* Counters of accesses nobody claimed (reads return all-ones, writes are dropped). */
struct vdev_bus_stats {
    uint64_t unclaimed_port_reads, unclaimed_port_writes;
    uint64_t unclaimed_mmio_reads, unclaimed_mmio_writes;
};

/* Unassigned guest-physical ranges already reported, in 4 KiB pages [first, last]. */
#define VDEV_MAX_UNASSIGNED_RANGES 8
struct vdev_unassigned_range {
    uint64_t first, last;
};

struct vdev_bus {
    struct vdev_port_range ports[VDEV_MAX_PORT_RANGES];
    unsigned port_count;
    struct vdev_mmio_range mmio[VDEV_MAX_MMIO_RANGES];
    unsigned mmio_count;
    struct vdev_bus_stats stats;
    struct vdev_unassigned_range unassigned[VDEV_MAX_UNASSIGNED_RANGES];
    unsigned unassigned_count;
    struct vdev_state_ops state_ops[VDEV_MAX_STATE_OPS];
    unsigned state_count;
};

/* Empties the bus (no ranges, zero counters). */
void vdev_bus_init(struct vdev_bus *bus);

/* Registration fails (false) on overlap, an empty or wrapping range, or a full table.
 * A NULL read or write handler makes that direction unclaimed. */
bool vdev_bus_add_ports(struct vdev_bus *bus, const struct vdev_port_range *r);
bool vdev_bus_add_mmio(struct vdev_bus *bus, const struct vdev_mmio_range *r);

/*
 * Dispatch one guest access to the range holding its first byte; the device checks the
 * rest.  Unclaimed reads (no range, handler said no, size not 1/2/4) yield all-ones
 * masked to size; always "handled".  Not thread-safe: the caller serialises all
 * accesses to one partition's devices (one lock per partition).
 */
void vdev_bus_io(struct vdev_bus *bus, uint16_t port, unsigned size, bool write, uint32_t *value);
/* MMIO dispatch; returns false when no device covers gpa (the caller decides the fate).
 * An access that a device covers but refuses (bad size, crosses the range's end) is
 * counted as unclaimed: reads yield all-ones, writes are dropped, and it returns true. */
bool vdev_bus_mmio(struct vdev_bus *bus, uint64_t gpa, unsigned size, bool write, uint64_t *value);

/*
 * Registers a device's state operations; false when its section id is already taken (by
 * a registration that owns every instance, or by one for the same instance) or the table
 * is full.
 *
 * Preconditions of reset, save and restore: the caller holds the partition's device lock
 * and no vCPU runs; save needs the devices quiescent (virtio-blk refuses while a request
 * is in flight: drain the disks first).  Restore expects the devices reset first
 * (vdev_bus_reset_state) and the partition's guest clock (now_ns) already continuing
 * from the saved moment: devices re-arm their timers at the saved guest-time deadlines
 * and re-drive the interrupt lines they hold.  A section that is missing from a stream
 * leaves its device in the reset state.  Sections go out grouped by id in registration
 * order, the instances of one id in increasing order, as the reader requires.
 */
bool vdev_bus_add_state(struct vdev_bus *bus, const struct vdev_state_ops *ops);
/* Every registered device to its power-on state, in registration order. */
void vdev_bus_reset_state(struct vdev_bus *bus);
/* Every registered device's sections into w; false when the writer failed. */
bool vdev_bus_save_state(struct vdev_bus *bus, struct state_writer *w);
/* The kinds of every registered device, for a reader's table; returns how many (<= max). */
unsigned vdev_bus_state_kinds(const struct vdev_bus *bus, struct state_kind *out, unsigned max);
/* Hands s to the device registered for its id (and instance, for per_instance ones):
 * 0 taken, -1 refused (err; also an instance of a per_instance id that nothing here
 * owns), 1 no device here has that id (the caller decides: another layer's section, or a
 * refusal). */
int vdev_bus_restore_section(struct vdev_bus *bus, const struct state_section *s, char *err,
                             size_t err_size);

/* An access outside RAM and every device (the caller read all-ones or dropped a write):
 * counted as unclaimed.  Whether to report it: once per range of pages (an access within
 * 16 pages of a reported range extends it), for the first VDEV_MAX_UNASSIGNED_RANGES
 * ranges; VDEV_UNASSIGNED_LAST_REPORT marks the last one reported. */
enum vdev_unassigned_report { VDEV_UNASSIGNED_QUIET, VDEV_UNASSIGNED_REPORT, VDEV_UNASSIGNED_LAST_REPORT };
enum vdev_unassigned_report vdev_bus_unassigned(struct vdev_bus *bus, uint64_t gpa, bool write);

#endif
