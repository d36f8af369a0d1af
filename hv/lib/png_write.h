/*
 * A PNG writer for 32-bpp framebuffers (bytes B G R X, or R G B X), portable and allocation-free.
 * The file is 8-bit RGB, filter 0 on every row, and its zlib stream is stored (type 0)
 * deflate blocks: no compression, so no tables and no buffer beyond the stack, and the
 * size is known before the first byte (png_size).  Every decoder reads it.
 */
#ifndef ATOLL_HV_LIB_PNG_WRITE_H
#define ATOLL_HV_LIB_PNG_WRITE_H
#include <stddef.h>
#include <stdint.h>

#define PNG_MAX_DIM 16384u

enum png_byte_order { PNG_BGRX = 0, PNG_RGBX = 1 };

struct png_image {
    const uint8_t *pixels;      /* row 0 first, 4 bytes a pixel in `order` */
    uint32_t width, height;     /* 1..PNG_MAX_DIM */
    uint32_t pitch;             /* bytes from one row to the next, >= 4 * width */
    enum png_byte_order order;
};

/* Takes the next len bytes of the file; nonzero stops the writer, which returns it. */
typedef int (*png_sink)(void *ctx, const void *buf, size_t len);

/* The file's exact size in bytes; 0 when the dimensions are out of range. */
uint64_t png_size(uint32_t width, uint32_t height);

/* Writes the whole file through sink in order: 0, -1 for a bad image, or the sink's value. */
int png_write(const struct png_image *img, png_sink sink, void *ctx);

/* CRC-32 (ISO-HDLC, reflected 0xEDB88320) as PNG chunks use it: start with crc = 0;
 * png_crc32(0, "123456789", 9) == 0xCBF43926. */
uint32_t png_crc32(uint32_t crc, const void *data, size_t len);

/* Adler-32 as zlib ends its stream with: start with 1. */
uint32_t png_adler32(uint32_t adler, const void *data, size_t len);

#endif
