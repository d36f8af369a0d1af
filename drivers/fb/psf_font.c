#include "drivers/fb/psf_font.h"
#include "hv/lib/le.h"

#include <string.h>

#define PSF1_MAGIC   0x0436
#define PSF1_MODE512 0x01
#define PSF2_MAGIC   0x864ab572u

static bool plausible(const struct psf_font *f, size_t avail)
{
    return f->width >= 4 && f->width <= 32 && f->height >= 8 && f->height <= 32 &&
           f->count >= 128 && f->count <= 4096 &&
           f->bytes_per_glyph == f->bytes_per_row * f->height &&
           (uint64_t)f->count * f->bytes_per_glyph <= avail;
}

bool psf_parse(const void *data, size_t len, struct psf_font *out)
{
    const uint8_t *p = data;
    memset(out, 0, sizeof(*out));
    if (len >= 4 && (p[0] | p[1] << 8) == PSF1_MAGIC) {
        out->width = 8;
        out->height = p[3];
        out->count = (p[2] & PSF1_MODE512) ? 512 : 256;
        out->bytes_per_row = 1;
        out->bytes_per_glyph = p[3];
        out->glyphs = p + 4;
        return plausible(out, len - 4);
    }
    if (len >= 32 && le32(p) == PSF2_MAGIC) {
        uint32_t header = le32(p + 8);
        if (header < 32 || header > len)
            return false;
        out->count = le32(p + 16);
        out->bytes_per_glyph = le32(p + 20);
        out->height = le32(p + 24);
        out->width = le32(p + 28);
        out->bytes_per_row = (out->width + 7) / 8;
        out->glyphs = p + header;
        return plausible(out, len - header);
    }
    return false;
}

const uint8_t *psf_glyph(const struct psf_font *f, uint8_t c)
{
    return f->glyphs + (size_t)(c < f->count ? c : '?') * f->bytes_per_glyph;
}
