/* libFuzzer target: hostile bzImage and vmlinux headers through the Linux loader.  The
 * first input byte picks the partition's memory and vCPU count; the rest is the image.
 * Guest memory is not backed: the target checks every write lies inside RAM and reads
 * every source byte, so ASan sees any read past the image. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/core/loader/loader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static bool check_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    const struct guest_image_target *t = ctx;
    if (gpa > t->ram_bytes || len > t->ram_bytes - gpa)
        abort();                /* every loader write is range-checked first */
    const uint8_t *p = buf;
    uint8_t x = 0;
    for (size_t i = 0; i < len; i++)
        x ^= p[i];
    sink = x;
    return true;
}

static bool check_zero(void *ctx, uint64_t gpa, size_t len)
{
    const struct guest_image_target *t = ctx;
    if (gpa > t->ram_bytes || len > t->ram_bytes - gpa)
        abort();
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t knob = data[0];
    uint8_t *image = malloc(size - 1 ? size - 1 : 1);
    memcpy(image, data + 1, size - 1);
    static const uint8_t initrd[4096];
    struct guest_image_target t = { NULL, check_write, check_zero,
                                    (uint64_t)(16 + (knob & 0x3f) * 16) << 20, 1u + (knob >> 6) * 40,
                                    knob & 2 };
    t.ctx = &t;
    struct loader_input in = { image, size - 1, "fuzz", (knob & 1) ? initrd : NULL,
                               sizeof(initrd), "console=ttyS0 quiet" };
    struct vcpu_start st;
    char err[200];
    if (load_linux(&t, &in, &st, err, sizeof(err)) == 0) {
        if (st.rip >= t.ram_bytes || (st.mode != START_LONG_64 && st.mode != START_PROTECTED_32))
            abort();
        if (st.mode == START_LONG_64 &&     /* the 64-bit boot protocol's entry state */
            (st.code_sel != 0x10 || st.data_sel != 0x18 || st.rsi != LOADER_BOOT_INFO ||
             st.rip < (1u << 20) + 0x200))
            abort();
    } else if (strnlen(err, sizeof(err)) == sizeof(err) || strncmp(err, "fuzz: ", 6)) {
        abort();
    }
    free(image);
    return 0;
}
