/* libFuzzer target: hostile bzImage setup headers through bzimage_parse.  The input is
 * the file, copied to a buffer of exactly its size so ASan sees any read past it; an
 * accepted header must describe a kernel that lies inside the file, with a header length,
 * alignment and kernel_info the parser promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/core/loader/bzimage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *img = malloc(size ? size : 1);
    memcpy(img, data, size);
    struct bzimage bz;
    char err[240];
    if (bzimage_parse(img, size, "fuzz", &bz, err, sizeof(err)) == 0) {
        if (bz.version < BZ_PROTOCOL_MIN || bz.setup_len < 1024 || bz.kernel_len == 0 ||
            bz.setup_len + bz.kernel_len > size || bz.header_end > BZ_HEADER_MAX_END ||
            bz.header_end < BZ_KERNEL_INFO || bz.init_size == 0 ||
            !(bz.xloadflags & BZ_XLF_KERNEL_64))
            abort();
        if (bz.relocatable && (bz.kernel_alignment < 0x1000 ||
                               (bz.kernel_alignment & (bz.kernel_alignment - 1))))
            abort();
    } else if (strnlen(err, sizeof(err)) == sizeof(err) || strncmp(err, "fuzz: ", 6)) {
        abort();
    }
    free(img);
    return 0;
}
