/* What the firmware's ACPI tables say about this machine. */
#ifndef ATOLL_HV_ARCH_X86_PLATFORM_H
#define ATOLL_HV_ARCH_X86_PLATFORM_H
#include <stdint.h>
#include "boot/bootinfo.h"
#include "hv/arch/x86/percpu.h"

struct platform_info {
    unsigned cpu_count;
    uint32_t apic_ids[MAX_CPUS];
    uint64_t ioapic_base;
    uint64_t hpet_base;
    uint16_t pm1a_control;      /* ACPI PM1a control block port, 0 if none */
};

void legacy_pic_disable(void);
void platform_discover(const struct boot_info *bi, struct platform_info *out);

#endif
