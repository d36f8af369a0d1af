#include "hv/arch/x86/platform.h"

#include <string.h>
#include "drivers/acpi/acpi_tables.h"
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/console.h"
#include "hv/mm/kmem.h"

static struct acpi_info acpi;

static const void *map_phys(void *ctx, uint64_t phys, uint64_t len)
{
    (void)ctx;
    return phys + len > phys ? phys_to_virt(phys) : NULL;
}

static bool rsdp_checksum_ok(const uint8_t *p)
{
    uint8_t sum = 0;
    for (int i = 0; i < 20; i++)
        sum += p[i];
    return sum == 0;
}

/* Legacy BIOS: the EBDA's first KiB, then 0xE0000-0xFFFFF, on 16-byte boundaries. */
static uint64_t scan_for_rsdp(void)
{
    uint64_t ebda = (uint64_t)*(const uint16_t *)phys_to_virt(0x40e) << 4;
    const uint64_t ranges[2][2] = { { ebda, ebda + 1024 }, { 0xe0000, 0x100000 } };
    for (int r = 0; r < 2; r++) {
        if (ranges[r][0] < 0x80000 || ranges[r][1] > 0x100000)
            continue;
        for (uint64_t a = ranges[r][0]; a + 20 <= ranges[r][1]; a += 16) {
            const uint8_t *p = phys_to_virt(a);
            if (!memcmp(p, "RSD PTR ", 8) && rsdp_checksum_ok(p))
                return a;
        }
    }
    return 0;
}

/* The 8259 pair: moved off the exception vectors (0x20/0x28) and masked; the hypervisor
 * uses the LAPIC only. */
void legacy_pic_disable(void)
{
    outb(0x20, 0x11); outb(0xa0, 0x11);     /* ICW1: init, ICW4 follows */
    outb(0x21, 0x20); outb(0xa1, 0x28);     /* ICW2: vector bases */
    outb(0x21, 0x04); outb(0xa1, 0x02);     /* ICW3: cascade on IRQ2 */
    outb(0x21, 0x01); outb(0xa1, 0x01);     /* ICW4: 8086 mode */
    outb(0x21, 0xff); outb(0xa1, 0xff);     /* mask everything */
}

void platform_discover(const struct boot_info *bi, struct platform_info *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t rsdp = bi->rsdp ? bi->rsdp : scan_for_rsdp();
    char err[128];
    if (!rsdp) {
        kprintf("atoll: no ACPI tables found\n");
        return;
    }
    if (acpi_parse(rsdp, map_phys, NULL, &acpi, err, sizeof(err)) != 0) {
        kprintf("atoll: %s\n", err);
        return;
    }
    for (uint32_t i = 0; i < acpi.cpu_count && out->cpu_count < MAX_CPUS; i++)
        if (acpi.cpus[i].enabled)
            out->apic_ids[out->cpu_count++] = acpi.cpus[i].apic_id;
    if (acpi.ioapic_count)
        out->ioapic_base = acpi.ioapics[0].address;
    if (acpi.have_hpet)
        out->hpet_base = acpi.hpet_address;
    if (acpi.have_fadt && acpi.fadt.pm1a_control.space == 1)
        out->pm1a_control = (uint16_t)acpi.fadt.pm1a_control.address;
}
