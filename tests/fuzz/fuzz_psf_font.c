/* Console fonts are files from outside: parse anything and draw every glyph's bits. */
#include <stddef.h>
#include <stdint.h>
#include "drivers/fb/psf_font.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct psf_font f;
    if (!psf_parse(data, size, &f))
        return 0;
    unsigned sum = 0;
    for (unsigned c = 0; c < 256; c++) {
        const uint8_t *g = psf_glyph(&f, (uint8_t)c);
        for (uint32_t i = 0; i < f.bytes_per_glyph; i++)
            sum += g[i];
    }
    return (int)(sum & 0);
}
