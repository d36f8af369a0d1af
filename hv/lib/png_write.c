#include "hv/lib/png_write.h"

#include <stdbool.h>

#define STORED_MAX 65535u       /* bytes in one stored deflate block */
#define CHUNK_OVERHEAD 12u      /* length, type, CRC */
#define PIECE 768u              /* bytes converted at a time (256 pixels of RGB) */

static const uint32_t crc_nibble[16] = {
    0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC, 0x76DC4190, 0x6B6B51F4,
    0x4DB26158, 0x5005713C, 0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C,
    0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C,
};

uint32_t png_crc32(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
    }
    return ~crc;
}

uint32_t png_adler32(uint32_t adler, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t a = adler & 0xffff, b = adler >> 16;
    while (len) {
        size_t n = len < 5552 ? len : 5552;     /* the most bytes before b can overflow */
        len -= n;
        while (n--) {
            a += *p++;
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    return b << 16 | a;
}

static uint64_t raw_size(uint32_t w, uint32_t h)
{
    return (uint64_t)h * (1 + 3 * (uint64_t)w);
}

static uint64_t stored_blocks(uint64_t raw)
{
    return (raw + STORED_MAX - 1) / STORED_MAX;
}

static bool dims_ok(uint32_t w, uint32_t h)
{
    return w >= 1 && h >= 1 && w <= PNG_MAX_DIM && h <= PNG_MAX_DIM;
}

uint64_t png_size(uint32_t w, uint32_t h)
{
    if (!dims_ok(w, h))
        return 0;
    uint64_t raw = raw_size(w, h);
    return 8 + (CHUNK_OVERHEAD + 13)            /* signature, IHDR */
         + (CHUNK_OVERHEAD + 2)                 /* IDAT: zlib header */
         + stored_blocks(raw) * (CHUNK_OVERHEAD + 5) + raw
         + (CHUNK_OVERHEAD + 4)                 /* IDAT: Adler-32 */
         + CHUNK_OVERHEAD;                      /* IEND */
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A chunk written in pieces: header, data (CRC running), then the CRC. */
struct chunk_out {
    png_sink sink;
    void *ctx;
    uint32_t crc;
};

static int chunk_begin(struct chunk_out *o, const char type[4], uint32_t len)
{
    uint8_t h[8];
    be32(h, len);
    for (int i = 0; i < 4; i++)
        h[4 + i] = (uint8_t)type[i];
    o->crc = png_crc32(0, h + 4, 4);
    return o->sink(o->ctx, h, 8);
}

static int chunk_data(struct chunk_out *o, const void *p, size_t len)
{
    o->crc = png_crc32(o->crc, p, len);
    return o->sink(o->ctx, p, len);
}

static int chunk_end(struct chunk_out *o)
{
    uint8_t c[4];
    be32(c, o->crc);
    return o->sink(o->ctx, c, 4);
}

static int chunk(struct chunk_out *o, const char type[4], const void *p, uint32_t len)
{
    int r = chunk_begin(o, type, len);
    if (!r && len)
        r = chunk_data(o, p, len);
    return r ? r : chunk_end(o);
}

/* The filtered image data, produced in order: per row a 0 (filter none), then R G B. */
struct raw_reader {
    const struct png_image *img;
    uint32_t row;
    uint32_t col;               /* 0: the filter byte is next; else pixel col - 1 */
};

static size_t raw_read(struct raw_reader *r, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (n + 3 <= cap && r->row < r->img->height) {
        if (r->col == 0) {
            out[n++] = 0;
            r->col = 1;
            continue;
        }
        const uint8_t *px = r->img->pixels + (size_t)r->row * r->img->pitch + 4 * (size_t)(r->col - 1);
        bool rgb = r->img->order == PNG_RGBX;
        out[n++] = px[rgb ? 0 : 2];
        out[n++] = px[1];
        out[n++] = px[rgb ? 2 : 0];
        if (r->col++ == r->img->width) {
            r->col = 0;
            r->row++;
        }
    }
    return n;
}

int png_write(const struct png_image *img, png_sink sink, void *ctx)
{
    if (!img || !img->pixels || !dims_ok(img->width, img->height) ||
        img->pitch / 4 < img->width || (img->order != PNG_BGRX && img->order != PNG_RGBX))
        return -1;
    static const uint8_t signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    struct chunk_out o = { sink, ctx, 0 };
    int r = sink(ctx, signature, sizeof(signature));
    if (r)
        return r;
    uint8_t ihdr[13] = { 0 };
    be32(ihdr, img->width);
    be32(ihdr + 4, img->height);
    ihdr[8] = 8;                /* bits per sample */
    ihdr[9] = 2;                /* truecolour */
    if ((r = chunk(&o, "IHDR", ihdr, sizeof(ihdr))))
        return r;
    static const uint8_t zlib_header[2] = { 0x78, 0x01 };   /* deflate, 32 KiB window */
    if ((r = chunk(&o, "IDAT", zlib_header, sizeof(zlib_header))))
        return r;

    /* Stored blocks of 65535 bytes cut the raw stream anywhere; pieces carry over. */
    struct raw_reader rd = { img, 0, 0 };
    uint64_t left = raw_size(img->width, img->height);
    uint32_t adler = 1;
    uint8_t piece[PIECE];
    size_t have = 0, used = 0;
    while (left) {
        uint32_t n = left < STORED_MAX ? (uint32_t)left : STORED_MAX;
        left -= n;
        uint8_t hdr[5] = { left ? 0 : 1, (uint8_t)n, (uint8_t)(n >> 8),
                           (uint8_t)~n, (uint8_t)(~n >> 8) };
        if ((r = chunk_begin(&o, "IDAT", 5 + n)) || (r = chunk_data(&o, hdr, 5)))
            return r;
        while (n) {
            if (used == have) {
                have = raw_read(&rd, piece, PIECE);
                used = 0;
                if (!have)
                    return -1;      /* cannot happen: the sizes agree */
            }
            size_t k = have - used < n ? have - used : n;
            adler = png_adler32(adler, piece + used, k);
            if ((r = chunk_data(&o, piece + used, k)))
                return r;
            used += k;
            n -= (uint32_t)k;
        }
        if ((r = chunk_end(&o)))
            return r;
    }
    uint8_t tail[4];
    be32(tail, adler);
    if ((r = chunk(&o, "IDAT", tail, sizeof(tail))))
        return r;
    return chunk(&o, "IEND", NULL, 0);
}
