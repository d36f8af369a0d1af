/* libFuzzer target: the input is physical memory at FUZZ_BASE with the RSDP at its start. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/acpi/acpi_tables.h"

#define FUZZ_BASE 0x1000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct window {
    const uint8_t *p;
    size_t size;
};

static const void *map(void *ctx, uint64_t phys, uint64_t len)
{
    const struct window *w = ctx;
    if (phys < FUZZ_BASE || len > w->size || phys - FUZZ_BASE > w->size - len)
        return NULL;
    return w->p + (phys - FUZZ_BASE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct acpi_info info;
    char err[256];
    uint8_t *copy = malloc(size ? size : 1);   /* exact size: ASan sees any overread */
    memcpy(copy, data, size);
    struct window w = { copy, size };
    if (acpi_parse(FUZZ_BASE, map, &w, &info, err, sizeof(err)) == 0) {
        if (info.cpu_count > ACPI_MAX_CPUS || info.ioapic_count > ACPI_MAX_IOAPICS ||
            info.override_count > ACPI_MAX_OVERRIDES || !info.have_madt)
            abort();
    } else if (strnlen(err, sizeof(err)) == sizeof(err) || strncmp(err, "acpi: ", 6) != 0) {
        abort();
    }
    free(copy);
    return 0;
}
