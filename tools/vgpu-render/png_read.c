#include "tools/vgpu-render/png_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int fail(char *err, size_t n, const char *why)
{
    snprintf(err, n, "%s", why);
    return -1;
}

static uint8_t paeth(uint8_t a, uint8_t b, uint8_t c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Undoes the row filters in place: raw is height rows of 1 + row bytes. */
static int unfilter(uint8_t *raw, uint32_t height, size_t row, unsigned bpp)
{
    for (uint32_t y = 0; y < height; y++) {
        uint8_t *r = raw + y * (row + 1), *cur = r + 1;
        const uint8_t *up = y ? raw + (y - 1) * (row + 1) + 1 : NULL;
        for (size_t i = 0; i < row; i++) {
            uint8_t a = i >= bpp ? cur[i - bpp] : 0, b = up ? up[i] : 0;
            uint8_t c = up && i >= bpp ? up[i - bpp] : 0;
            switch (r[0]) {
            case 0: break;
            case 1: cur[i] = (uint8_t)(cur[i] + a); break;
            case 2: cur[i] = (uint8_t)(cur[i] + b); break;
            case 3: cur[i] = (uint8_t)(cur[i] + (a + b) / 2); break;
            case 4: cur[i] = (uint8_t)(cur[i] + paeth(a, b, c)); break;
            default: return -1;
            }
        }
    }
    return 0;
}

int png_read_file(const char *path, struct png_pixels *out, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, err_size, "cannot open the file");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *file = size > 0 ? malloc((size_t)size) : NULL;
    if (!file || fread(file, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        free(file);
        return fail(err, err_size, "cannot read the file");
    }
    fclose(f);
    static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    size_t n = (size_t)size, at = 8, zlen = 0;
    uint8_t *z = malloc(n);
    uint32_t w = 0, h = 0;
    unsigned bpp = 0;
    int rc = -1;
    uint8_t *raw = NULL;
    if (n < 8 || memcmp(file, sig, 8)) {
        fail(err, err_size, "not a PNG file");
        goto out;
    }
    for (;;) {
        if (at + 12 > n || be32(file + at) > n - at - 12) {
            fail(err, err_size, "a chunk runs past the end of the file");
            goto out;
        }
        uint32_t len = be32(file + at);
        const uint8_t *type = file + at + 4, *data = type + 4;
        if ((uint32_t)crc32(0, type, len + 4) != be32(data + len)) {
            fail(err, err_size, "a chunk's CRC is wrong");
            goto out;
        }
        if (!memcmp(type, "IHDR", 4)) {
            if (len != 13 || data[8] != 8 || (data[9] != 2 && data[9] != 6) || data[12]) {
                fail(err, err_size, "only 8-bit RGB or RGBA, not interlaced, is read");
                goto out;
            }
            w = be32(data);
            h = be32(data + 4);
            bpp = data[9] == 2 ? 3 : 4;
        } else if (!memcmp(type, "IDAT", 4)) {
            memcpy(z + zlen, data, len);
            zlen += len;
        } else if (!memcmp(type, "IEND", 4)) {
            break;
        }
        at += 12 + len;
    }
    if (!bpp || !w || !h || w > 16384 || h > 16384) {
        fail(err, err_size, "no IHDR, or dimensions out of range");
        goto out;
    }
    size_t row = (size_t)w * bpp;
    uLongf rawlen = (uLongf)((row + 1) * h);
    raw = malloc(rawlen);
    if (uncompress(raw, &rawlen, z, zlen) != Z_OK || rawlen != (row + 1) * h) {
        fail(err, err_size, "the image data does not inflate to the image's size");
        goto out;
    }
    if (unfilter(raw, h, row, bpp)) {
        fail(err, err_size, "a row has an unknown filter");
        goto out;
    }
    out->width = w;
    out->height = h;
    out->xrgb = malloc((size_t)w * h * 4);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            const uint8_t *p = raw + y * (row + 1) + 1 + x * bpp;
            out->xrgb[(size_t)y * w + x] = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
        }
    rc = 0;
out:
    free(raw);
    free(z);
    free(file);
    return rc;
}
