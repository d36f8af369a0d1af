/* PC Screen Font (PSF1 and PSF2) glyph tables, as Debian's console fonts ship them.
 * Portable: the font file is untrusted input and every size is checked. */
#ifndef ATOLL_DRIVERS_FB_PSF_FONT_H
#define ATOLL_DRIVERS_FB_PSF_FONT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct psf_font {
    const uint8_t *glyphs;
    uint32_t count;             /* glyphs */
    uint32_t width, height;     /* pixels */
    uint32_t bytes_per_glyph;
    uint32_t bytes_per_row;
};

/* False when data is not a well-formed PSF1/PSF2 font of 8..32 pixels a side. */
bool psf_parse(const void *data, size_t len, struct psf_font *out);
/* The glyph for a byte (Latin-1 position; '?' when out of range). */
const uint8_t *psf_glyph(const struct psf_font *f, uint8_t c);

#endif
