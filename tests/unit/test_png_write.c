/* The PNG writer, read back by zlib: chunk CRCs, the zlib stream (its Adler-32 included),
 * the filtered rows against the pixels, png_size against the bytes written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>

#include "hv/lib/png_write.h"

struct buf {
    uint8_t *p;
    size_t n, cap;
    size_t fail_after;          /* 0: never */
    unsigned calls;
};

static int to_buf(void *ctx, const void *p, size_t len)
{
    struct buf *b = ctx;
    if (b->fail_after && ++b->calls >= b->fail_after)
        return 7;
    assert_true(b->n + len <= b->cap);
    memcpy(b->p + b->n, p, len);
    b->n += len;
    return 0;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Decodes what png_write wrote (RGB 8-bit, filter 0) and compares with the B G R X image. */
static void decode_and_compare(const uint8_t *f, size_t n, const struct png_image *img)
{
    static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    assert_true(n > 8 && memcmp(f, sig, 8) == 0);
    size_t at = 8, zlen = 0;
    uint8_t *z = malloc(n);
    bool ihdr = false, iend = false;
    while (at < n) {
        assert_true(at + 12 <= n);
        uint32_t len = rd32(f + at);
        assert_true(at + 12 + len <= n);
        const uint8_t *type = f + at + 4, *data = f + at + 8;
        uint32_t crc = (uint32_t)crc32(0, type, 4 + len);
        assert_int_equal(rd32(data + len), crc);
        if (!memcmp(type, "IHDR", 4)) {
            assert_int_equal(len, 13);
            assert_int_equal(rd32(data), img->width);
            assert_int_equal(rd32(data + 4), img->height);
            assert_int_equal(data[8], 8);
            assert_int_equal(data[9], 2);
            ihdr = true;
        } else if (!memcmp(type, "IDAT", 4)) {
            memcpy(z + zlen, data, len);
            zlen += len;
        } else if (!memcmp(type, "IEND", 4)) {
            assert_int_equal(len, 0);
            iend = true;
        }
        at += 12 + len;
    }
    assert_true(ihdr && iend);
    size_t row = 1 + 3 * (size_t)img->width;
    uLongf rawlen = (uLongf)(row * img->height + 1);
    uint8_t *raw = malloc(rawlen);
    assert_int_equal(uncompress(raw, &rawlen, z, zlen), Z_OK);   /* checks the Adler-32 */
    assert_int_equal(rawlen, row * img->height);
    for (uint32_t y = 0; y < img->height; y++) {
        assert_int_equal(raw[y * row], 0);
        for (uint32_t x = 0; x < img->width; x++) {
            const uint8_t *px = img->pixels + y * img->pitch + 4 * x, *q = raw + y * row + 1 + 3 * x;
            bool rgb = img->order == PNG_RGBX;
            assert_int_equal(q[0], px[rgb ? 0 : 2]);
            assert_int_equal(q[1], px[1]);
            assert_int_equal(q[2], px[rgb ? 2 : 0]);
        }
    }
    free(raw);
    free(z);
}

static void roundtrip_order(uint32_t w, uint32_t h, uint32_t pitch, enum png_byte_order order)
{
    uint8_t *px = malloc((size_t)pitch * h);
    for (size_t i = 0; i < (size_t)pitch * h; i++)
        px[i] = (uint8_t)(i * 2654435761u >> 13);
    struct png_image img = { px, w, h, pitch, order };
    uint64_t size = png_size(w, h);
    struct buf b = { malloc(size), 0, size, 0, 0 };
    assert_int_equal(png_write(&img, to_buf, &b), 0);
    assert_int_equal(b.n, size);
    decode_and_compare(b.p, b.n, &img);
    free(b.p);
    free(px);
}

static void roundtrip(uint32_t w, uint32_t h, uint32_t pitch)
{
    roundtrip_order(w, h, pitch, PNG_BGRX);
}

static void one_pixel(void **s) { (void)s; roundtrip(1, 1, 4); }
static void odd_sizes_and_pitch(void **s) { (void)s; roundtrip(37, 13, 37 * 4 + 12); }
/* 1024 x 768: 36 stored blocks, the last one short; rows cross block boundaries. */
static void screen_sized(void **s) { (void)s; roundtrip(1024, 768, 4096); }
/* A raw stream of exactly one full stored block: 771 rows of (1 + 3 * 28) = 65535 bytes. */
static void exactly_one_block(void **s) { (void)s; roundtrip(28, 771, 28 * 4); }

static void rgbx_order(void **s) { (void)s; roundtrip_order(33, 7, 33 * 4, PNG_RGBX); }

static void check_values(void **s)
{
    (void)s;
    assert_int_equal(png_crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(png_crc32(png_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
    assert_int_equal(png_adler32(1, "Wikipedia", 9), 0x11E60398u);
    static uint8_t big[100000];
    memset(big, 0xff, sizeof(big));
    assert_int_equal(png_adler32(1, big, sizeof(big)), (uint32_t)adler32(1, big, sizeof(big)));
}

static void refuses_bad_images(void **s)
{
    (void)s;
    uint8_t px[16] = { 0 };
    struct buf b = { NULL, 0, 0, 0, 0 };
    struct png_image zero_w = { px, 0, 1, 4, PNG_BGRX }, narrow_pitch = { px, 2, 1, 4, PNG_BGRX },
                     huge = { px, PNG_MAX_DIM + 1, 1, 4 * (PNG_MAX_DIM + 1), PNG_BGRX },
                     none = { NULL, 1, 1, 4, PNG_BGRX },
                     bad_order = { px, 1, 1, 4, (enum png_byte_order)2 };
    assert_int_equal(png_write(&zero_w, to_buf, &b), -1);
    assert_int_equal(png_write(&narrow_pitch, to_buf, &b), -1);
    assert_int_equal(png_write(&huge, to_buf, &b), -1);
    assert_int_equal(png_write(&none, to_buf, &b), -1);
    assert_int_equal(png_write(&bad_order, to_buf, &b), -1);
    assert_int_equal(b.n, 0);
    assert_int_equal(png_size(0, 5), 0);
    assert_int_equal(png_size(5, PNG_MAX_DIM + 1), 0);
}

static void sink_error_stops_writer(void **s)
{
    (void)s;
    static uint8_t px[64 * 64 * 4];
    struct png_image img = { px, 64, 64, 256, PNG_BGRX };
    for (size_t after = 1; after < 12; after++) {
        struct buf b = { malloc(png_size(64, 64)), 0, png_size(64, 64), after, 0 };
        assert_int_equal(png_write(&img, to_buf, &b), 7);
        assert_int_equal(b.calls, after);
        free(b.p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check_values),
        cmocka_unit_test(one_pixel),
        cmocka_unit_test(odd_sizes_and_pitch),
        cmocka_unit_test(screen_sized),
        cmocka_unit_test(exactly_one_block),
        cmocka_unit_test(rgbx_order),
        cmocka_unit_test(refuses_bad_images),
        cmocka_unit_test(sink_error_stops_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
