/*
 * The CPU engine's built-in shaders a row at a time (vsp_engine_cpu.c): up to
 * VSP_ROW_CHUNK pixels are sampled into lane planes, run through the shader's arithmetic
 * together, then stored.  The arithmetic and the 1:1 sampling and storing have an AVX2
 * form (vsp_engine_avx2.c) for hosts that have it; the scalar form is the reference and
 * both give the same bits (test_vsp_shader compares them).  The guest is compiled without
 * SSE (guest/lib/lib.mk: -mno-sse), so there only the scalar form exists.
 */
#ifndef ATOLL_GUEST_VSP_VSP_ENGINE_ROW_H
#define ATOLL_GUEST_VSP_VSP_ENGINE_ROW_H
#include <stdbool.h>
#include <stdint.h>

#define VSP_ROW_CHUNK 32u

#if defined(__x86_64__) && defined(__SSE2__) && !defined(ATOLL_GUEST)
#define VSP_ROW_AVX2 1
#else
#define VSP_ROW_AVX2 0
#endif

struct vsp_row {
    int32_t s[4][VSP_ROW_CHUNK];        /* sampled texels (R G B A or Y U V 255) */
    int32_t d[4][VSP_ROW_CHUNK];        /* the destination pixels in, the results out */
    uint8_t keep[VSP_ROW_CHUNK / 8];    /* bit i % 8 of byte i / 8: pixel i is stored */
};

/* The four texels of each pixel's bilinear sample (top left, top right, bottom left,
 * bottom right), lane planes each, and the horizontal weights (0..255). */
struct vsp_quad {
    int32_t t[4][4][VSP_ROW_CHUNK];
    int32_t wx[VSP_ROW_CHUNK];
};

#if VSP_ROW_AVX2
/* TEXB's weighting of q's texels (0..255 each) with vertical weight wy into planes. */
void vsp_row_bilinear_avx2(const struct vsp_quad *q, int32_t wy, uint32_t n,
                           int32_t (*planes)[VSP_ROW_CHUNK]);
bool vsp_row_avx2_usable(void);
/* The built-in arithmetic of bits over pixels [0, n) (whole groups of 8 past n are
 * computed too, on whatever the planes hold, and ignored). */
void vsp_row_math_avx2(uint32_t bits, const int32_t (*u)[4], struct vsp_row *r, uint32_t n);
/* n pixels of 4-byte RGB from p into planes[4] (alpha 255 unless argb); returns how many
 * it did (a multiple of 8), the rest is the caller's. */
uint32_t vsp_row_load_rgb_avx2(const uint8_t *p, bool argb, uint32_t n, int32_t (*planes)[VSP_ROW_CHUNK]);
/* n pixels of YUY2 from p, which points at a pixel pair's Y0. */
uint32_t vsp_row_load_yuy2_avx2(const uint8_t *p, uint32_t n, int32_t (*planes)[VSP_ROW_CHUNK]);
/* Stores the kept pixels of r->d (lanes 0..255) to p; alpha 0xff when xrgb. */
uint32_t vsp_row_store_avx2(uint8_t *p, bool xrgb, uint32_t n, const struct vsp_row *r);

/* Whole pipelines, 1:1 from 4-byte RGB to 4-byte RGB.  Copy, all n pixels: each becomes
 * src | alpha_or; mode 0 always, 1 unless src's R G B are key (source key), 2 only where
 * dst's are (destination key); a pixel not drawn is neither read (but for mode 2) nor
 * written; returns the pixels drawn.  OVER, whole groups of 8 of the n pixels (the caller
 * does the rest): src | src_or times ga (0..255) / 255, OVER dst | dst_or, then | dst_or;
 * returns the pixels done.  With under (else NULL) both read what lies below from under
 * instead of dst and write every pixel of dst once: a pixel not drawn gets under's. */
uint32_t vsp_row_copy_avx2(uint8_t *dst, const uint8_t *src, const uint8_t *under, uint32_t n,
                           uint32_t alpha_or, int32_t key, int mode);
uint32_t vsp_row_over_avx2(uint8_t *dst, const uint8_t *src, const uint8_t *under, uint32_t n,
                           uint32_t src_or, uint32_t dst_or, uint32_t ga);
/* YUY2 (src at a pixel pair's first) to RGB by the YUV built-in without key or blend. */
uint32_t vsp_row_yuy2_avx2(uint8_t *dst, const uint8_t *src, uint32_t n, const int32_t (*u)[4],
                           bool argb);
#endif

#endif
