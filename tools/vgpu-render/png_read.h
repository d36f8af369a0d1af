/* A host PNG reader (zlib) for the frames the hypervisor captures: 8-bit RGB or RGBA, not
 * interlaced, any row filter.  Pixels come back as 0x00RRGGBB (alpha dropped). */
#ifndef ATOLL_TOOLS_VGPU_RENDER_PNG_READ_H
#define ATOLL_TOOLS_VGPU_RENDER_PNG_READ_H
#include <stddef.h>
#include <stdint.h>

struct png_pixels {
    uint32_t width, height;
    uint32_t *xrgb;             /* width * height, malloc'd: free() it */
};

/* 0, or -1 with a reason in err. */
int png_read_file(const char *path, struct png_pixels *out, char *err, size_t err_size);

#endif
