/* A flat binary that ends at 1 MiB and starts at the reset vector F000:FFF0, real mode.
 * It fills the BIOS area itself, so its ACPI tables go below the EBDA (the RSDP's copy in
 * the EBDA is what the BIOS-area scan finds). */
#include "hv/core/loader/loader_common.h"

#define FLAT_END      0x100000ull
#define FLAT_MAX_SIZE 0x20000ull

int load_flat(const struct guest_image_target *t, const struct loader_input *in,
              struct vcpu_start *st, char *err, size_t err_size)
{
    if (in->image_len == 0 || in->image_len > FLAT_MAX_SIZE)
        return loader_fail(err, err_size, "%s: a flat image must be 1 byte to 128 KiB, not %zu",
                           in->image_name, in->image_len);
    if (t->ram_bytes < FLAT_END)
        return loader_fail(err, err_size, "%s: a flat image needs at least 1 MiB of memory",
                           in->image_name);
    if (!t->write(t->ctx, FLAT_END - in->image_len, in->image, in->image_len))
        return loader_fail(err, err_size, "%s: cannot place the image", in->image_name);
    if (!loader_write_acpi(t, LOADER_ACPI_TABLES_FLAT))
        return loader_fail(err, err_size, "%s: cannot write the ACPI tables (%u vCPUs)",
                           in->image_name, t->vcpus);
    *st = (struct vcpu_start){ .mode = START_REAL_MODE, .cs_selector = 0xf000, .rip = 0xfff0 };
    return 0;
}
