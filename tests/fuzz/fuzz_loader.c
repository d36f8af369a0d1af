/* Guest images are hostile: any bytes through the flat, Multiboot and ELF64 loaders into a
 * small fake partition, which refuses every write outside its RAM. */
#include <stdint.h>
#include <string.h>
#include "hv/core/loader/loader.h"

#define RAM (8u << 20)
static uint8_t ram[RAM];

static bool w(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    if (gpa > RAM || len > RAM - gpa)
        return false;
    memcpy(ram + gpa, buf, len);
    return true;
}

static bool z(void *ctx, uint64_t gpa, size_t len)
{
    if (gpa > RAM || len > RAM - gpa)
        return false;
    memset(ram + gpa, 0, len);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct guest_image_target t = { .write = w, .zero = z, .ram_bytes = RAM, .vcpus = 1 };
    struct loader_input in = { data, size, "fuzz.img", NULL, 0, "console=ttyS0" };
    struct vcpu_start st;
    char err[160];
    load_flat(&t, &in, &st, err, sizeof(err));
    load_multiboot(&t, &in, &st, err, sizeof(err));
    load_elf64(&t, &in, &st, err, sizeof(err));
    return 0;
}
