/*
 * The ACPI PM1 event and control registers a classic FADT points to (PM1a_EVT at base,
 * PM1a_CNT at base + 4) and the PM timer (PM_TMR at base + 8): status and enable bits that
 * read back what was written, SCI_EN always set (the partition is always in ACPI mode),
 * and sleep: SLP_EN with the S5 type ends the partition as a power-off would (status 0).
 * The PM timer counts at 3.579545 MHz from the platform's now_ns, 32 bits wide (the FADT
 * sets TMR_VAL_EXT); PM1_STS.TMR_STS is set each time its bit 31 changes (no SCI is sent).
 */
#ifndef ATOLL_HV_VDEV_ACPI_PM_H
#define ATOLL_HV_VDEV_ACPI_PM_H
#include <stdint.h>
#include "hv/vdev/vdev.h"

#define ACPI_PM_S5_TYPE 5           /* as the DSDT's \_S5 package says */
#define ACPI_PM_BASE    0x600       /* where every partition has it (its FADT says so) */
#define ACPI_PM_TIMER_HZ 3579545ull
#define ACPI_PM_TIMER_OFFSET 8u

struct acpi_pm {
    const struct vdev_platform *plat;
    uint16_t base;
    uint16_t status, enable, control;
    uint64_t timer_msb_epoch;   /* PM timer ticks >> 31 when TMR_STS was last brought up to date */
};

/* The PM timer's count (all 64 bits; the guest sees the low 32). */
uint64_t acpi_pm_timer_ticks(const struct acpi_pm *pm);

void acpi_pm_init(struct acpi_pm *pm, const struct vdev_platform *plat, uint16_t base);
/* Registers the ports and the state operations (section 'ACPM': PM1 status, enable and
 * control, the PM timer's bit-31 epoch in guest time); the partition creates the device
 * itself, so its registration on the bus comes with the ports. */
bool acpi_pm_register(struct acpi_pm *pm, struct vdev_bus *bus);

#endif
