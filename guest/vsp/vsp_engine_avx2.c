/* The AVX2 form of the engine's row stages (vsp_engine_row.h); host builds only. */
#include "guest/vsp/vsp_engine_row.h"

#if VSP_ROW_AVX2
#include <immintrin.h>

#include "guest/vsp/vsp_builtin.h"

#define AVX2 __attribute__((target("avx2")))

bool vsp_row_avx2_usable(void)
{
    return __builtin_cpu_supports("avx2");
}

AVX2 static inline __m256i ld(const int32_t *p) { return _mm256_loadu_si256((const __m256i *)p); }
AVX2 static inline void st(int32_t *p, __m256i v) { _mm256_storeu_si256((__m256i *)p, v); }
AVX2 static inline __m256i k(int32_t v) { return _mm256_set1_epi32(v); }
AVX2 static inline __m256i clamp255(__m256i v)
{
    return _mm256_min_epi32(_mm256_max_epi32(v, _mm256_setzero_si256()), k(255));
}
AVX2 static inline __m256i div255(__m256i v)
{
    v = _mm256_add_epi32(v, k(0x80));
    return _mm256_srai_epi32(_mm256_add_epi32(v, _mm256_srai_epi32(v, 8)), 8);
}

AVX2 void vsp_row_math_avx2(uint32_t bits, const int32_t (*u)[4], struct vsp_row *r, uint32_t n)
{
    for (uint32_t i = 0; i < n; i += 8) {
        __m256i s[4], d[4];
        for (unsigned l = 0; l < 4; l++)
            s[l] = ld(r->s[l] + i);
        if (bits & VSP_BUILTIN_YUV) {
            __m256i y = _mm256_add_epi32(s[0], k(u[2][0]));
            __m256i cu = _mm256_add_epi32(s[1], k(u[2][1]));
            __m256i cv = _mm256_add_epi32(s[2], k(u[2][2]));
            for (unsigned l = 0; l < 4; l++) {
                __m256i v = _mm256_add_epi32(_mm256_add_epi32(_mm256_mullo_epi32(y, k(u[3][l])),
                                                              _mm256_mullo_epi32(cu, k(u[4][l]))),
                                             _mm256_mullo_epi32(cv, k(u[5][l])));
                s[l] = _mm256_add_epi32(clamp255(_mm256_srai_epi32(v, 16)), k(u[6][l]));
            }
        }
        uint32_t keep = 0xff;
        if (bits & (VSP_BUILTIN_KEY_SRC | VSP_BUILTIN_KEY_DST)) {
            __m256i m = _mm256_set1_epi32(-1);
            for (unsigned l = 0; l < 3; l++) {
                __m256i v = bits & VSP_BUILTIN_KEY_SRC ? s[l] : ld(r->d[l] + i);
                m = _mm256_and_si256(m, _mm256_cmpeq_epi32(v, k(u[7][l])));
            }
            keep = (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(m));
            if (bits & VSP_BUILTIN_KEY_SRC)
                keep ^= 0xff;
        }
        r->keep[i / 8] = (uint8_t)keep;
        if (bits & VSP_BUILTIN_BLEND) {
            for (unsigned l = 0; l < 4; l++)
                s[l] = div255(_mm256_mullo_epi32(s[l], k(u[7][3])));
            __m256i inv = _mm256_sub_epi32(k(255), s[3]);
            for (unsigned l = 0; l < 4; l++)
                d[l] = clamp255(_mm256_add_epi32(s[l], div255(_mm256_mullo_epi32(ld(r->d[l] + i), inv))));
        } else {
            for (unsigned l = 0; l < 4; l++)
                d[l] = clamp255(s[l]);
        }
        for (unsigned l = 0; l < 4; l++)
            st(r->d[l] + i, d[l]);
    }
}

AVX2 uint32_t vsp_row_load_rgb_avx2(const uint8_t *p, bool argb, uint32_t n,
                                    int32_t (*planes)[VSP_ROW_CHUNK])
{
    uint32_t i = 0;
    const __m256i ff = k(0xff);
    for (; i + 8 <= n; i += 8) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(p + 4 * i));
        st(planes[0] + i, _mm256_and_si256(_mm256_srli_epi32(v, 16), ff));
        st(planes[1] + i, _mm256_and_si256(_mm256_srli_epi32(v, 8), ff));
        st(planes[2] + i, _mm256_and_si256(v, ff));
        st(planes[3] + i, argb ? _mm256_srli_epi32(v, 24) : ff);
    }
    return i;
}

AVX2 uint32_t vsp_row_load_yuy2_avx2(const uint8_t *p, uint32_t n, int32_t (*planes)[VSP_ROW_CHUNK])
{
    uint32_t i = 0;
    const __m128i ys = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i us = _mm_setr_epi8(1, 1, 5, 5, 9, 9, 13, 13, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i vs = _mm_setr_epi8(3, 3, 7, 7, 11, 11, 15, 15, -1, -1, -1, -1, -1, -1, -1, -1);
    for (; i + 8 <= n; i += 8) {
        __m128i q = _mm_loadu_si128((const __m128i *)(p + 2 * i));
        st(planes[0] + i, _mm256_cvtepu8_epi32(_mm_shuffle_epi8(q, ys)));
        st(planes[1] + i, _mm256_cvtepu8_epi32(_mm_shuffle_epi8(q, us)));
        st(planes[2] + i, _mm256_cvtepu8_epi32(_mm_shuffle_epi8(q, vs)));
        st(planes[3] + i, k(255));
    }
    return i;
}

AVX2 uint32_t vsp_row_store_avx2(uint8_t *p, bool xrgb, uint32_t n, const struct vsp_row *r)
{
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint32_t keep = r->keep[i / 8];
        if (!keep)
            continue;
        __m256i a = xrgb ? k((int32_t)0xff000000u) : _mm256_slli_epi32(ld(r->d[3] + i), 24);
        __m256i v = _mm256_or_si256(_mm256_or_si256(_mm256_slli_epi32(ld(r->d[0] + i), 16),
                                                    _mm256_slli_epi32(ld(r->d[1] + i), 8)),
                                    _mm256_or_si256(ld(r->d[2] + i), a));
        if (keep == 0xff) {
            _mm256_storeu_si256((__m256i *)(p + 4 * i), v);
        } else {
            uint32_t lanes[8];
            _mm256_storeu_si256((__m256i *)lanes, v);
            for (unsigned j = 0; j < 8; j++)
                if (keep >> j & 1)
                    __builtin_memcpy(p + 4 * (i + j), &lanes[j], 4);
        }
    }
    return i;
}
#endif

#if VSP_ROW_AVX2
/* The whole pipeline for the commonest overlays, straight from bytes to bytes. */

/* The copy's pixels a vector at a time: which of the 8 at s (their RGB, source key) or d
 * (destination key) are drawn, as a lane mask: all for mode 0. */
AVX2 static inline __m256i copy_drawn(__m256i s, __m256i d, __m256i key, int mode)
{
    const __m256i rgb = k(0xffffff);
    if (mode == 0)
        return k(-1);
    __m256i hit = _mm256_cmpeq_epi32(_mm256_and_si256(mode == 1 ? s : d, rgb), key);
    return mode == 1 ? _mm256_xor_si256(hit, k(-1)) : hit;
}

AVX2 static inline uint32_t lanes(__m256i m)
{
    return (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(m));
}

/* Fewer than 16 pixels, by masks: nothing outside [0, n) is read or written.  (Scalar
 * arguments: a call taking vectors would leave the upper halves dirty for the SSE code
 * that runs next, pixman's among it, which then runs at a third of its speed.) */
AVX2 static uint32_t copy_part(uint8_t *dst, const uint8_t *src, const uint8_t *under, uint32_t n,
                               uint32_t alpha_or, int32_t key_rgb, int mode)
{
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i aor = k((int32_t)alpha_or), key = k(key_rgb);
    uint32_t kept = 0;
    for (uint32_t v = 0; v < n; v += 8) {
        int *dp = (int *)(dst + 4 * v);
        __m256i in = _mm256_cmpgt_epi32(k((int32_t)(n - v)), iota);
        __m256i s = _mm256_maskload_epi32((const int *)(src + 4 * v), in);
        __m256i u = under ? _mm256_maskload_epi32((const int *)(under + 4 * v), in) : s;
        __m256i d = mode == 2 ? (under ? u : _mm256_maskload_epi32(dp, in)) : s;
        __m256i m = _mm256_and_si256(in, copy_drawn(s, d, key, mode));
        if (under)
            _mm256_maskstore_epi32(dp, in, _mm256_blendv_epi8(u, _mm256_or_si256(s, aor), m));
        else
            _mm256_maskstore_epi32(dp, m, _mm256_or_si256(s, aor));
        kept += (uint32_t)__builtin_popcount(lanes(m));
    }
    return kept;
}

/* Stores v's lanes in m (lane bits mb) at p: whole, masked or not at all. */
AVX2 static inline void store_drawn(uint8_t *p, __m256i v, __m256i m, uint32_t mb)
{
    if (mb == 0xff)
        _mm256_storeu_si256((__m256i *)p, v);
    else if (mb)
        _mm256_maskstore_epi32((int *)p, m, v);
}

/* Pixels [i, n) from a cache line's start of dst a line (16 pixels) at a time, mode a
 * constant in each copy, and fused whether under is there (const too): then each line of
 * dst is written whole, from src, from under or from both; returns where it stopped (fewer
 * than 16 left) and adds to *kept. */
AVX2 __attribute__((always_inline)) static inline uint32_t
copy_lines(uint8_t *dst, const uint8_t *src, const uint8_t *under, uint32_t i, uint32_t n,
           uint32_t alpha_or, int32_t key, const int mode, const bool fused, uint32_t *kept)
{
    const __m256i aor = k((int32_t)alpha_or), kv = k(key);
    for (; i + 16 <= n; i += 16) {
        const __m256i *sp = (const __m256i *)(src + 4 * i);
        uint8_t *dp = dst + 4 * i;
        const __m256i *bp = (const __m256i *)(fused ? under + 4 * i : dp);
        __m256i s0 = _mm256_loadu_si256(sp), s1 = _mm256_loadu_si256(sp + 1);
        __m256i d0 = s0, d1 = s1;
        if (mode == 2) {
            d0 = _mm256_loadu_si256(bp);
            d1 = _mm256_loadu_si256(bp + 1);
        }
        __m256i m0 = copy_drawn(s0, d0, kv, mode), m1 = copy_drawn(s1, d1, kv, mode);
        uint32_t b0 = lanes(m0), b1 = lanes(m1);
        *kept += (uint32_t)__builtin_popcount(b0 | b1 << 8);
        s0 = _mm256_or_si256(s0, aor);
        s1 = _mm256_or_si256(s1, aor);
        if (!fused) {
            store_drawn(dp, s0, m0, b0);
            store_drawn(dp + 32, s1, m1, b1);
            continue;
        }
        if (mode != 2) {        /* read whether needed or not: no branch on the key */
            d0 = _mm256_loadu_si256(bp);
            d1 = _mm256_loadu_si256(bp + 1);
        }
        _mm256_storeu_si256((__m256i *)dp, _mm256_blendv_epi8(d0, s0, m0));
        _mm256_storeu_si256((__m256i *)dp + 1, _mm256_blendv_epi8(d1, s1, m1));
    }
    return i;
}

/* A cache line of the destination (16 pixels) per step once a head brings dst to one's
 * start: a line with every pixel drawn is written whole (no partial line, no masked
 * store), one with none is not touched; only lines where a key's edge falls are masked. */
AVX2 uint32_t vsp_row_copy_avx2(uint8_t *dst, const uint8_t *src, const uint8_t *under,
                                uint32_t n, uint32_t alpha_or, int32_t key, int mode)
{
    if (mode == 0)
        under = NULL;                   /* every pixel drawn: nothing shows from under */
    uint32_t head = (uintptr_t)dst & 3 ? 0 : (uint32_t)(-(uintptr_t)dst & 63) / 4;
    if (head > n)
        head = n;
    uint32_t kept = copy_part(dst, src, under, head, alpha_or, key, mode), i = head;
    if (mode == 0)
        i = copy_lines(dst, src, NULL, i, n, alpha_or, key, 0, false, &kept);
    else if (under)
        i = mode == 1 ? copy_lines(dst, src, under, i, n, alpha_or, key, 1, true, &kept)
                      : copy_lines(dst, src, under, i, n, alpha_or, key, 2, true, &kept);
    else if (mode == 1)
        i = copy_lines(dst, src, NULL, i, n, alpha_or, key, 1, false, &kept);
    else
        i = copy_lines(dst, src, NULL, i, n, alpha_or, key, 2, false, &kept);
    return kept + copy_part(dst + 4 * i, src + 4 * i, under ? under + 4 * i : NULL, n - i,
                            alpha_or, key, mode);
}

/* x * 255-division of 16-bit lanes holding at most 255 * 255, as div255 rounds. */
AVX2 static inline __m256i div255_16(__m256i x)
{
    return _mm256_mulhi_epu16(_mm256_add_epi16(x, _mm256_set1_epi16(0x80)), _mm256_set1_epi16(257));
}

/* s OVER d in 16-bit lanes, inv the lanes' 255 - alpha of s. */
AVX2 static inline __m256i over_16(__m256i s, __m256i d, __m256i inv)
{
    return _mm256_add_epi16(s, div255_16(_mm256_mullo_epi16(d, inv)));
}

/* OVER at global alpha 255 on the bytes where they lie: the even bytes (B, R) and the odd
 * ones (G, A) of d each in 16-bit lanes, times 255 - alpha of s, divided by 255 as
 * div255_16 rounds, put back together and added to s with unsigned saturation (the lanes'
 * clamp to 255).  No unpacking and packing: fewer instructions than over_16's path. */
AVX2 static inline __m256i over_opaque_ga(__m256i s, __m256i d, __m256i alpha16, __m256i lo8)
{
    __m256i inv = _mm256_xor_si256(_mm256_shuffle_epi8(s, alpha16), lo8);    /* 255 - a, twice */
    __m256i even = div255_16(_mm256_mullo_epi16(_mm256_and_si256(d, lo8), inv));
    __m256i odd = div255_16(_mm256_mullo_epi16(_mm256_srli_epi16(d, 8), inv));
    return _mm256_adds_epu8(s, _mm256_or_si256(even, _mm256_slli_epi16(odd, 8)));
}

AVX2 uint32_t vsp_row_over_avx2(uint8_t *dst, const uint8_t *src, const uint8_t *under,
                                uint32_t n, uint32_t src_or, uint32_t dst_or, uint32_t ga)
{
    uint32_t i = 0;
    const uint8_t *below = under ? under : dst;
    const __m256i sor = k((int32_t)src_or), dor = k((int32_t)dst_or), z = _mm256_setzero_si256();
    const __m256i g = _mm256_set1_epi16((short)ga), ones = k(-1);
    const __m256i alpha = _mm256_setr_epi8(3, 3, 3, 3, 7, 7, 7, 7, 11, 11, 11, 11, 15, 15, 15, 15,
                                           3, 3, 3, 3, 7, 7, 7, 7, 11, 11, 11, 11, 15, 15, 15, 15);
    if (ga == 255) {
        const __m256i alpha16 = _mm256_setr_epi8(3, -1, 3, -1, 7, -1, 7, -1, 11, -1, 11, -1, 15, -1, 15, -1,
                                                 3, -1, 3, -1, 7, -1, 7, -1, 11, -1, 11, -1, 15, -1, 15, -1);
        const __m256i lo8 = k(0x00ff00ff);
        const __m256i rgb = k(0x00ffffff);
        for (; i + 16 <= n; i += 16) {
            __m256i s0 = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(src + 4 * i)), sor);
            __m256i s1 = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(src + 4 * i + 32)), sor);
            __m256i *dp = (__m256i *)(dst + 4 * i);
            /* runs of opaque pixels are copies, runs of clear ones (all zero, as premultiplied
             * clear pixels are) leave d; the same bytes the arithmetic gives */
            __m256i both = _mm256_and_si256(s0, s1);
            if (_mm256_testc_si256(_mm256_or_si256(both, rgb), ones)) {
                _mm256_storeu_si256(dp, _mm256_or_si256(s0, dor));
                _mm256_storeu_si256(dp + 1, _mm256_or_si256(s1, dor));
                continue;
            }
            const __m256i *bp = (const __m256i *)(below + 4 * i);
            __m256i either = _mm256_or_si256(s0, s1);
            if (_mm256_testz_si256(either, either) && !dst_or) {
                if (under) {
                    _mm256_storeu_si256(dp, _mm256_loadu_si256(bp));
                    _mm256_storeu_si256(dp + 1, _mm256_loadu_si256(bp + 1));
                }
                continue;
            }
            __m256i d0 = _mm256_or_si256(_mm256_loadu_si256(bp), dor);
            __m256i d1 = _mm256_or_si256(_mm256_loadu_si256(bp + 1), dor);
            _mm256_storeu_si256(dp, _mm256_or_si256(over_opaque_ga(s0, d0, alpha16, lo8), dor));
            _mm256_storeu_si256(dp + 1, _mm256_or_si256(over_opaque_ga(s1, d1, alpha16, lo8), dor));
        }
        for (; i + 8 <= n; i += 8) {
            __m256i s0 = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(src + 4 * i)), sor);
            __m256i *dp = (__m256i *)(dst + 4 * i);
            __m256i d0 = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(below + 4 * i)), dor);
            _mm256_storeu_si256(dp, _mm256_or_si256(over_opaque_ga(s0, d0, alpha16, lo8), dor));
        }
        return i;
    }
    for (; i + 8 <= n; i += 8) {
        __m256i s = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(src + 4 * i)), sor);
        __m256i *dp = (__m256i *)(dst + 4 * i);
        __m256i d = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(below + 4 * i)), dor);
        __m256i slo = _mm256_unpacklo_epi8(s, z), shi = _mm256_unpackhi_epi8(s, z);
        /* times ga / 255, then the alphas of that */
        slo = div255_16(_mm256_mullo_epi16(slo, g));
        shi = div255_16(_mm256_mullo_epi16(shi, g));
        s = _mm256_packus_epi16(slo, shi);
        __m256i inv = _mm256_xor_si256(_mm256_shuffle_epi8(s, alpha), ones);
        __m256i lo = over_16(slo, _mm256_unpacklo_epi8(d, z), _mm256_unpacklo_epi8(inv, z));
        __m256i hi = over_16(shi, _mm256_unpackhi_epi8(d, z), _mm256_unpackhi_epi8(inv, z));
        _mm256_storeu_si256(dp, _mm256_or_si256(_mm256_packus_epi16(lo, hi), dor));
    }
    return i;
}

AVX2 uint32_t vsp_row_yuy2_avx2(uint8_t *dst, const uint8_t *src, uint32_t n, const int32_t (*u)[4],
                                bool argb)
{
    uint32_t i = 0;
    const __m128i ys = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i us = _mm_setr_epi8(1, 1, 5, 5, 9, 9, 13, 13, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i vs = _mm_setr_epi8(3, 3, 7, 7, 11, 11, 15, 15, -1, -1, -1, -1, -1, -1, -1, -1);
    __m256i cy[4], cu[4], cv[4], off[4];
    for (unsigned l = 0; l < 4; l++) {
        cy[l] = k(u[3][l]);
        cu[l] = k(u[4][l]);
        cv[l] = k(u[5][l]);
        off[l] = k(u[6][l]);
    }
    const __m256i by = k(u[2][0]), bu = k(u[2][1]), bv = k(u[2][2]);
    unsigned lanes = argb ? 4 : 3;
    for (; i + 8 <= n; i += 8) {
        __m128i q = _mm_loadu_si128((const __m128i *)(src + 2 * i));
        __m256i y = _mm256_add_epi32(_mm256_cvtepu8_epi32(_mm_shuffle_epi8(q, ys)), by);
        __m256i cb = _mm256_add_epi32(_mm256_cvtepu8_epi32(_mm_shuffle_epi8(q, us)), bu);
        __m256i cr = _mm256_add_epi32(_mm256_cvtepu8_epi32(_mm_shuffle_epi8(q, vs)), bv);
        __m256i c[4];
        c[3] = k((int32_t)0xff);
        for (unsigned l = 0; l < lanes; l++) {
            __m256i v = _mm256_add_epi32(_mm256_add_epi32(_mm256_mullo_epi32(y, cy[l]),
                                                          _mm256_mullo_epi32(cb, cu[l])),
                                         _mm256_mullo_epi32(cr, cv[l]));
            c[l] = clamp255(_mm256_add_epi32(clamp255(_mm256_srai_epi32(v, 16)), off[l]));
        }
        __m256i px = _mm256_or_si256(_mm256_or_si256(_mm256_slli_epi32(c[0], 16), _mm256_slli_epi32(c[1], 8)),
                                     _mm256_or_si256(c[2], _mm256_slli_epi32(c[3], 24)));
        _mm256_storeu_si256((__m256i *)(dst + 4 * i), px);
    }
    return i;
}

AVX2 void vsp_row_bilinear_avx2(const struct vsp_quad *q, int32_t wy, uint32_t n,
                                int32_t (*planes)[VSP_ROW_CHUNK])
{
    const __m256i w256 = k(256), vy = k(wy), iy = k(256 - wy), half = k(32768);
    for (uint32_t i = 0; i < n; i += 8) {
        __m256i wx = ld(q->wx + i), ix = _mm256_sub_epi32(w256, wx);
        for (unsigned l = 0; l < 4; l++) {
            __m256i top = _mm256_add_epi32(_mm256_mullo_epi32(ld(q->t[0][l] + i), ix),
                                           _mm256_mullo_epi32(ld(q->t[1][l] + i), wx));
            __m256i bot = _mm256_add_epi32(_mm256_mullo_epi32(ld(q->t[2][l] + i), ix),
                                           _mm256_mullo_epi32(ld(q->t[3][l] + i), wx));
            __m256i v = _mm256_add_epi32(_mm256_add_epi32(_mm256_mullo_epi32(top, iy),
                                                          _mm256_mullo_epi32(bot, vy)), half);
            st(planes[l] + i, _mm256_srai_epi32(v, 16));
        }
    }
}
#endif
