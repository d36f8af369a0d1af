/*
 * The ACPI PM1 event and control registers a classic FADT points to (PM1a_EVT at base,
 * PM1a_CNT at base + 4): status and enable bits that read back what was written, SCI_EN
 * always set (the partition is always in ACPI mode), and sleep: SLP_EN with the S5 type
 * ends the partition as a power-off would (status 0).
 */
#ifndef ATOLL_HV_VDEV_ACPI_PM_H
#define ATOLL_HV_VDEV_ACPI_PM_H
#include <stdint.h>
#include "hv/vdev/vdev.h"

#define ACPI_PM_S5_TYPE 5           /* as the DSDT's \_S5 package says */
#define ACPI_PM_BASE    0x600       /* where every partition has it (its FADT says so) */

struct acpi_pm {
    const struct vdev_platform *plat;
    uint16_t base;
    uint16_t status, enable, control;
};

void acpi_pm_init(struct acpi_pm *pm, const struct vdev_platform *plat, uint16_t base);
bool acpi_pm_register(struct acpi_pm *pm, struct vdev_bus *bus);

#endif
