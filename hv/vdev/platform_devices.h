/*
 * The standard PC platform of one partition: UART at 0x3f8 (IRQ 4), debug-exit at 0xf4,
 * fw_cfg at 0x510, PIC pair, PIT (+ port 0x61), CMOS RTC, IOAPIC at 0xFEC00000, HPET at
 * 0xFED00000, the reset ports 0x92 and 0xCF9, and one LAPIC per vCPU (APIC ID = vCPU
 * index).
 *
 * The caller owns the storage (struct platform_devices, ~30 KiB for 64 vCPUs) and the
 * bus.  platform_devices is the partition's interrupt fabric: devices (also ones added
 * later, such as virtio-pci) must be given platform_devices_platform(), whose irq_set
 * drives the PIC and IOAPIC (ISA IRQ 0 reaches IOAPIC pin 2, as the MADT's interrupt
 * source override must say; other IRQs n reach pin n) and whose msi_send delivers to
 * the LAPICs.  The outer platform's irq_set and msi_send are never called.
 *
 * vCPU 0's LAPIC starts as firmware leaves it (software-enabled, LINT0 ExtINT, LINT1
 * NMI: virtual-wire mode), so PIC interrupts reach a guest that never touches its APIC.
 *
 * Not thread-safe: the VT-x layer holds one per-partition lock around every call here
 * and around vdev_bus_io/vdev_bus_mmio on the same bus.
 */
#ifndef ATOLL_HV_VDEV_PLATFORM_DEVICES_H
#define ATOLL_HV_VDEV_PLATFORM_DEVICES_H

#include "hv/vdev/cmos_rtc.h"
#include "hv/vdev/debug_exit.h"
#include "hv/vdev/fw_cfg.h"
#include "hv/vdev/hpet.h"
#include "hv/vdev/ioapic.h"
#include "hv/vdev/lapic.h"
#include "hv/vdev/pic8259.h"
#include "hv/vdev/pit8254.h"
#include "hv/vdev/reset_ctl.h"
#include "hv/vdev/uart8250.h"
#include "hv/vdev/vdev.h"

#define PLATFORM_MAX_VCPUS 64

/* timer_id values passed to the outer timer_arm. */
#define PLATFORM_TIMER_PIT       0u
#define PLATFORM_TIMER_LAPIC(i)  (1u + (i))
#define PLATFORM_TIMER_HPET      (1u + PLATFORM_MAX_VCPUS)
#define PLATFORM_TIMER_COUNT     (2u + PLATFORM_MAX_VCPUS)

/* GSI of ISA IRQ 0 on the IOAPIC (interrupt source override for the MADT). */
#define PLATFORM_PIT_GSI 2

enum platform_intr_source { PLATFORM_INTR_NONE, PLATFORM_INTR_LAPIC, PLATFORM_INTR_PIC };

struct platform_intr {
    enum platform_intr_source source;
    uint8_t vector;
};

enum vdev_msr_result { VDEV_MSR_OK = 0, VDEV_MSR_GP = 1, VDEV_MSR_NOT_MINE = 2 };

struct platform_stats {
    uint64_t bad_msis, ipis, init_ipis, sipis;
};

struct platform_devices {
    struct vdev_platform outer;   /* the partition's callbacks */
    struct vdev_platform inner;   /* what the devices see */
    struct vdev_platform hpet_plat; /* the HPET's: its lines bypass the legacy-replacement gate */
    struct vdev_bus *bus;
    unsigned vcpu_count;
    struct vuart uart;
    struct debug_exit debug_exit;
    struct fw_cfg fw_cfg;
    struct vpic pic;
    struct vpit pit;
    struct vrtc rtc;
    struct vioapic ioapic;
    struct vhpet hpet;
    struct reset_ctl reset;
    struct vlapic lapic[PLATFORM_MAX_VCPUS];
    struct platform_stats stats;
};

/* Creates the devices and registers them on bus: their ranges and their reset, save and
 * restore (vdev_bus_add_state; sections UART, FWCF, PIC8, PITC, CMOS, IOAP, HPET, RSTC and
 * LAPC per vCPU, hv/state/STREAM.md).  False (nothing usable) when plat->vcpu_count is 0
 * or above PLATFORM_MAX_VCPUS, or the bus refuses a range or a registration. */
bool platform_devices_init(struct platform_devices *pd, struct vdev_bus *bus,
                           const struct vdev_platform *plat);
/* The platform to hand to any further device of this partition. */
const struct vdev_platform *platform_devices_platform(const struct platform_devices *pd);

struct vlapic *platform_devices_lapic(struct platform_devices *pd, unsigned vcpu);
struct vuart *platform_devices_uart(struct platform_devices *pd);

/* Port access from vcpu (same as vdev_bus_io on the partition's bus). */
void platform_devices_io(struct platform_devices *pd, unsigned vcpu, uint16_t port,
                         unsigned size, bool write, uint32_t *value);
/* MMIO from vcpu: its LAPIC page first, then the bus.  False: nobody covers gpa. */
bool platform_devices_mmio(struct platform_devices *pd, unsigned vcpu, uint64_t gpa,
                           unsigned size, bool write, uint64_t *value);
/* RDMSR/WRMSR of IA32_APIC_BASE, IA32_TSC_DEADLINE and x2APIC MSRs 0x800-0x8ff. */
enum vdev_msr_result platform_devices_msr_read(struct platform_devices *pd, unsigned vcpu,
                                               uint32_t msr, uint64_t *value);
enum vdev_msr_result platform_devices_msr_write(struct platform_devices *pd, unsigned vcpu,
                                                uint32_t msr, uint64_t value);

/* The external interrupt vcpu should take next (PIC ExtINT first, then its LAPIC);
 * false when none.  RFLAGS.IF and interruptibility are the caller's to check. */
bool platform_devices_pending(struct platform_devices *pd, unsigned vcpu,
                              struct platform_intr *out);
/* vcpu was injected intr (as returned by pending): PIC INTA or LAPIC IRR->ISR.
 * Returns the vector actually acknowledged. */
uint8_t platform_devices_ack(struct platform_devices *pd, unsigned vcpu,
                             const struct platform_intr *intr);
/* The vector vcpu was injected last (its LAPIC's) was not delivered and waits: pending
 * again, as if never acknowledged (vlapic_untake).  False when it was not the LAPIC's. */
bool platform_devices_untake(struct platform_devices *pd, unsigned vcpu, uint8_t vector);
/* An NMI is pending for vcpu (consumed). */
bool platform_devices_take_nmi(struct platform_devices *pd, unsigned vcpu);
/* The CMOS bytes (128; the clock's time bytes are computed, the rest kept) out and in:
 * what survives a machine reset. */
void platform_devices_get_nvram(const struct platform_devices *pd, uint8_t *out);
void platform_devices_set_nvram(struct platform_devices *pd, const uint8_t *in);
/* The vCPU has left its NMI handler: NMIs that arrive now are no longer only latched. */
void platform_devices_nmi_unblocked(struct platform_devices *pd, unsigned vcpu);
/* An NMI is pending for vcpu; nothing is consumed. */
bool platform_devices_nmi_pending(struct platform_devices *pd, unsigned vcpu);
/* A device can still send an NMI on its own: an unmasked IOAPIC entry, or an unmasked
 * LINT0 (the PIC's line), in delivery mode NMI.  (LINT1 is wired to nothing here.) */
bool platform_devices_nmi_source_armed(const struct platform_devices *pd);
/* Runs every device timer that is due (PIT, LAPIC timers, HPET) and re-arms the rest. */
void platform_devices_tick(struct platform_devices *pd);

#endif
