/* The engine on the VSP's CPU. */
#include "guest/vsp/vsp_engine.h"

#include "guest/vsp/vsp_builtin.h"
#include "guest/vsp/vsp_engine_lanes.h"
#include "guest/vsp/vsp_engine_row.h"

#include <string.h>

static bool one_fill(const struct vsp_surface *dst, const struct vgpu_rect *r, uint32_t argb,
                     struct vsp_pos *pos, int64_t *budget)
{
    uint8_t px[4] = { (uint8_t)argb, (uint8_t)(argb >> 8), (uint8_t)(argb >> 16),
                      dst->format == VGPU_FMT_XRGB8888 ? 0xff : (uint8_t)(argb >> 24) };
    uint8_t two[8];
    memcpy(two, px, 4);
    memcpy(two + 4, px, 4);
    const uint8_t *first = NULL;        /* the first row this call filled: the others copy it */
    for (; pos->row < r->h; pos->row++) {
        if (*budget <= 0)
            return false;
        uint8_t *p = dst->pix + (uint64_t)(r->y + pos->row) * dst->stride + (uint64_t)r->x * 4;
        if (first) {
            memcpy(p, first, (size_t)r->w * 4);
        } else {
            uint32_t i = 0;
            for (; i + 2 <= r->w; i += 2)
                memcpy(p + 4 * i, two, 8);
            if (i < r->w)
                memcpy(p + 4 * i, px, 4);
            first = p;
        }
        *budget -= r->w;
    }
    return true;
}

static bool use_simd(void);

static bool one_blit(const struct vsp_surface *dst, uint32_t dx, uint32_t dy,
                     const struct vsp_surface *src, const struct vgpu_rect *sr,
                     struct vsp_pos *pos, int64_t *budget)
{
    bool upward = dst == src && dy > sr->y;     /* copy the last row first */
    bool force_x = dst->format == VGPU_FMT_XRGB8888 && src->format != VGPU_FMT_XRGB8888;
    bool force_a = dst->format == VGPU_FMT_ARGB8888 && src->format != VGPU_FMT_ARGB8888;
#if VSP_ROW_AVX2
    bool simd = use_simd();
#endif
    for (; pos->row < sr->h; pos->row++) {
        if (*budget <= 0)
            return false;
        uint32_t row = upward ? sr->h - 1 - pos->row : pos->row;
        uint8_t *d = dst->pix + (uint64_t)(dy + row) * dst->stride + (uint64_t)dx * 4;
        const uint8_t *s = src->pix + (uint64_t)(sr->y + row) * src->stride + (uint64_t)sr->x * 4;
#if VSP_ROW_AVX2
        /* a row whose bytes do not overlap its source's (surfaces may share memory): by
         * vectors, the alpha forced in the same pass */
        if (simd && (d + (size_t)sr->w * 4 <= s || s + (size_t)sr->w * 4 <= d)) {
            vsp_row_copy_avx2(d, s, NULL, sr->w, force_x || force_a ? 0xff000000u : 0, -1, 0);
            *budget -= sr->w;
            continue;
        }
#endif
        memmove(d, s, (size_t)sr->w * 4);
        if (force_x || force_a)
            for (uint32_t i = 0; i < sr->w; i++)
                d[4 * i + 3] = 0xff;
        *budget -= sr->w;
    }
    return true;
}

static inline int32_t add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t mul(int32_t a, int32_t b) { return (int32_t)((uint32_t)a * (uint32_t)b); }
static inline int32_t clamp255(int32_t v) { return v < 0 ? 0 : v > 255 ? 255 : v; }
static inline int32_t div255(int32_t v)
{
    v = add(v, 0x80);
    return add(v, v >> 8) >> 8;
}

/* A built-in shader (vsp_builtin.c) run natively: the same operations on the same
 * integers as its instructions, so the same pixels (test_vsp_shader checks); returns
 * false when the pixel is discarded. */
/* What a built-in shader does to a sampled texel r3 over the destination r1. */
static inline bool builtin_math(uint32_t bits, const int32_t (*u)[4], int32_t r3[4], int32_t r1[4])
{
    if (bits & VSP_BUILTIN_YUV) {
        int32_t yuv[3] = { add(r3[0], u[2][0]), add(r3[1], u[2][1]), add(r3[2], u[2][2]) };
        for (unsigned l = 0; l < 4; l++) {
            int32_t v = add(add(mul(yuv[0], u[3][l]), mul(yuv[1], u[4][l])), mul(yuv[2], u[5][l]));
            r3[l] = add(clamp255(v >> 16), u[6][l]);
        }
    }
    if (bits & VSP_BUILTIN_KEY_SRC) {
        if (r3[0] == u[7][0] && r3[1] == u[7][1] && r3[2] == u[7][2])
            return false;
    } else if (bits & VSP_BUILTIN_KEY_DST) {
        if (!(r1[0] == u[7][0] && r1[1] == u[7][1] && r1[2] == u[7][2]))
            return false;
    }
    if (bits & VSP_BUILTIN_BLEND) {
        for (unsigned l = 0; l < 4; l++)
            r3[l] = div255(mul(r3[l], u[7][3]));
        int32_t inv = add(255, -r3[3]);
        for (unsigned l = 0; l < 4; l++)
            r1[l] = clamp255(add(r3[l], div255(mul(r1[l], inv))));
    } else {
        for (unsigned l = 0; l < 4; l++)
            r1[l] = clamp255(r3[l]);
    }
    return true;
}

static uint32_t kil_cost(const struct vsp_shader *sh)
{
    for (uint32_t i = 0; i < sh->count; i++)
        if (sh->insn[i].op == VSP_OP_KIL)
            return i + 1;
    return sh->cost;
}

/* Whether a nearest built-in maps the rectangle's pixels 1:1 onto texels inside the
 * texture window: then texel (origin + col, origin + row) is what it samples. */
static bool one_to_one(const struct vsp_draw *d)
{
    const int32_t (*u)[4] = d->env.uniform;
    const struct vsp_texture *t = &d->env.tex[0];
    return !(d->shader->builtin & VSP_BUILTIN_BILINEAR) && u[0][0] == 0x10000 &&
           u[0][1] == 0x10000 && u[1][0] >= 0 && u[1][0] < 0x100 && u[1][1] >= 0 &&
           u[1][1] < 0x100 && d->origin_x >= 0 && d->origin_y >= 0 &&
           (int64_t)d->origin_x + d->rect.w <= t->w && (int64_t)d->origin_y + d->rect.h <= t->h;
}

static bool simd_allowed = true;

void vsp_cpu_engine_use_simd(bool on)
{
    simd_allowed = on;
}

static bool use_simd(void)
{
#if VSP_ROW_AVX2
    static int usable = -1;
    if (usable < 0)
        usable = vsp_row_avx2_usable();
    return simd_allowed && usable;
#else
    return false;
#endif
}

static inline void put(int32_t (*planes)[VSP_ROW_CHUNK], uint32_t i, const int32_t v[4])
{
    for (unsigned l = 0; l < 4; l++)
        planes[l][i] = v[l];
}

/* Where the destination pixel (x, y) of d's rect is read: under's pixel (x, y become its
 * position there), or dst's own. */
static inline const struct vsp_surface *below(const struct vsp_draw *d, uint32_t *x, uint32_t *y)
{
    if (!d->under)
        return d->dst;
    *x = d->under_x + (*x - d->rect.x);
    *y = d->under_y + (*y - d->rect.y);
    return d->under;
}

/* The bytes of under's pixel standing for destination pixel (x, y); NULL without under. */
static const uint8_t *under_at(const struct vsp_draw *d, uint32_t x, uint32_t y)
{
    if (!d->under)
        return NULL;
    const struct vsp_surface *u = below(d, &x, &y);
    return u->pix + (uint64_t)y * u->stride + (uint64_t)x * 4;
}

/* Pixels (x, y) .. (x + n - 1, y) of under into dst as they are (d->under set). */
static void copy_under(const struct vsp_draw *d, uint32_t x, uint32_t y, uint32_t n)
{
    memcpy(d->dst->pix + (uint64_t)y * d->dst->stride + (uint64_t)x * 4, under_at(d, x, y),
           (size_t)n * 4);
}

/* Texels [from, n) of row ty from column tx of surface s, its format the constant fmt (one
 * copy per format: the switch in vsp_texel folds). */
static inline void texels(uint16_t fmt, const struct vsp_surface *s, uint32_t tx, uint32_t ty,
                          uint32_t from, uint32_t n, int32_t (*planes)[VSP_ROW_CHUNK])
{
    struct vsp_surface f = *s;
    f.format = fmt;
    for (uint32_t i = from; i < n; i++) {
        int32_t v[4];
        vsp_texel(&f, tx + i, ty, v);
        put(planes, i, v);
    }
}

/* n texels from (tx, ty) of surface s, which holds them all. */
static void load_row(const struct vsp_surface *s, uint32_t tx, uint32_t ty, uint32_t n,
                     int32_t (*planes)[VSP_ROW_CHUNK], bool simd)
{
    uint32_t done = 0;
    const uint8_t *row = s->pix + (uint64_t)ty * s->stride;
    switch (s->format) {
    case VGPU_FMT_XRGB8888:
    case VGPU_FMT_ARGB8888:
#if VSP_ROW_AVX2
        if (simd)
            done = vsp_row_load_rgb_avx2(row + (uint64_t)tx * 4, s->format == VGPU_FMT_ARGB8888, n,
                                         planes);
#endif
        if (s->format == VGPU_FMT_XRGB8888)
            texels(VGPU_FMT_XRGB8888, s, tx, ty, done, n, planes);
        else
            texels(VGPU_FMT_ARGB8888, s, tx, ty, done, n, planes);
        return;
    case VGPU_FMT_YUY2:
#if VSP_ROW_AVX2
        if (simd) {
            if (tx & 1)
                texels(VGPU_FMT_YUY2, s, tx, ty, 0, done = 1, planes);
            uint32_t more = vsp_row_load_yuy2_avx2(row + (uint64_t)(tx + done) * 2, n - done,
                                                   (int32_t(*)[VSP_ROW_CHUNK]) & planes[0][done]);
            (void)more;
            done += more;
        }
#endif
        texels(VGPU_FMT_YUY2, s, tx, ty, done, n, planes);
        return;
    default:
        texels(VGPU_FMT_NV12, s, tx, ty, 0, n, planes);
        return;
    }
    (void)row;
}

static inline uint32_t clamp_to(int32_t v, uint32_t size)
{
    return (uint32_t)(v < 0 ? 0 : v >= (int32_t)size ? (int32_t)size - 1 : v);
}

/* Source coordinate (24.8) of position o along an axis: o * step (16.16) >> 8 + start,
 * with the instructions' wrapping. */
static inline int32_t source_pos(int32_t o, int32_t step, int32_t start)
{
    return add((int32_t)(uint32_t)(uint64_t)(((int64_t)o * step) >> 8), start);
}

/* vsp_texel with the rows found: row is the texel's row, uv its NV12 chroma row. */
static inline void texel_in_rows(uint16_t fmt, const uint8_t *row, const uint8_t *uv, uint32_t x,
                                 int32_t out[4])
{
    switch (fmt) {
    case VGPU_FMT_XRGB8888:
    case VGPU_FMT_ARGB8888: {
        const uint8_t *p = row + (uint64_t)x * 4;
        out[0] = p[2];
        out[1] = p[1];
        out[2] = p[0];
        out[3] = fmt == VGPU_FMT_ARGB8888 ? p[3] : 255;
        return;
    }
    case VGPU_FMT_YUY2: {
        const uint8_t *p = row + (uint64_t)(x >> 1) * 4;
        out[0] = p[(x & 1) * 2];
        out[1] = p[1];
        out[2] = p[3];
        out[3] = 255;
        return;
    }
    default:
        out[0] = row[x];
        out[1] = uv[x & ~1u];
        out[2] = uv[(x & ~1u) + 1];
        out[3] = 255;
        return;
    }
}

/* TEX or TEXB at the scaled positions of pixels ox.. of row oy, fmt the constant format. */
static inline void sample_scaled_fmt(uint16_t fmt, bool bilinear, const struct vsp_texture *t,
                                     const int32_t (*u)[4], int32_t ox, int32_t oy, uint32_t n,
                                     int32_t (*planes)[VSP_ROW_CHUNK], bool simd)
{
    struct vsp_surface f = *t->s;
    f.format = fmt;
    int32_t fy = source_pos(oy, u[0][1], u[1][1]);
    if (!bilinear) {
        uint32_t ty = t->y + clamp_to(fy >> 8, t->h);
        for (uint32_t i = 0; i < n; i++) {
            int32_t v[4];
            int32_t fx = source_pos(add(ox, (int32_t)i), u[0][0], u[1][0]);
            vsp_texel(&f, t->x + clamp_to(fx >> 8, t->w), ty, v);
            put(planes, i, v);
        }
        return;
    }
    int32_t y0 = fy >> 8, wy = fy & 0xff;
    uint32_t ty0 = t->y + clamp_to(y0, t->h), ty1 = t->y + clamp_to(y0 + 1, t->h);
    const uint8_t *row0 = f.pix + (uint64_t)ty0 * f.stride, *row1 = f.pix + (uint64_t)ty1 * f.stride;
    const uint8_t *uv = f.pix + (uint64_t)f.stride * f.h;       /* NV12's chroma */
    const uint8_t *uv0 = uv + (uint64_t)(ty0 >> 1) * f.stride, *uv1 = uv + (uint64_t)(ty1 >> 1) * f.stride;
    struct vsp_quad q;
    for (uint32_t i = 0; i < n; i++) {
        int32_t fx = source_pos(add(ox, (int32_t)i), u[0][0], u[1][0]);
        uint32_t tx0 = t->x + clamp_to(fx >> 8, t->w), tx1 = t->x + clamp_to((fx >> 8) + 1, t->w);
        int32_t v[4];
        q.wx[i] = fx & 0xff;
        texel_in_rows(fmt, row0, uv0, tx0, v);
        put(q.t[0], i, v);
        texel_in_rows(fmt, row0, uv0, tx1, v);
        put(q.t[1], i, v);
        texel_in_rows(fmt, row1, uv1, tx0, v);
        put(q.t[2], i, v);
        texel_in_rows(fmt, row1, uv1, tx1, v);
        put(q.t[3], i, v);
    }
#if VSP_ROW_AVX2
    if (simd) {
        vsp_row_bilinear_avx2(&q, wy, n, planes);
        return;
    }
#endif
    for (uint32_t l = 0; l < 4; l++)
        for (uint32_t i = 0; i < n; i++) {
            int32_t wx = q.wx[i];
            int32_t top = q.t[0][l][i] * (256 - wx) + q.t[1][l][i] * wx;
            int32_t bot = q.t[2][l][i] * (256 - wx) + q.t[3][l][i] * wx;
            planes[l][i] = (top * (256 - wy) + bot * wy + 32768) >> 16;
        }
}

static void sample_scaled(bool bilinear, const struct vsp_texture *t, const int32_t (*u)[4],
                          int32_t ox, int32_t oy, uint32_t n, int32_t (*planes)[VSP_ROW_CHUNK],
                          bool simd)
{
    switch (t->s->format) {
#define SAMPLE(F) bilinear ? sample_scaled_fmt(F, true, t, u, ox, oy, n, planes, simd) \
                           : sample_scaled_fmt(F, false, t, u, ox, oy, n, planes, simd)
    case VGPU_FMT_XRGB8888: SAMPLE(VGPU_FMT_XRGB8888); break;
    case VGPU_FMT_ARGB8888: SAMPLE(VGPU_FMT_ARGB8888); break;
    case VGPU_FMT_YUY2: SAMPLE(VGPU_FMT_YUY2); break;
    default: SAMPLE(VGPU_FMT_NV12); break;
#undef SAMPLE
    }
}

/* The reference arithmetic over the planes, pixel by pixel. */
static void math_scalar(uint32_t bits, const int32_t (*u)[4], struct vsp_row *r, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        int32_t r3[4], r1[4];
        for (unsigned l = 0; l < 4; l++) {
            r3[l] = r->s[l][i];
            r1[l] = r->d[l][i];
        }
        if (i % 8 == 0)
            r->keep[i / 8] = 0;
        if (builtin_math(bits, u, r3, r1)) {
            r->keep[i / 8] |= (uint8_t)(1u << (i % 8));
            put(r->d, i, r1);
        }
    }
}

/* Stores the kept pixels; returns how many. */
static uint32_t store_row(const struct vsp_surface *dst, uint32_t x, uint32_t y, uint32_t n,
                          const struct vsp_row *r, bool simd)
{
    uint32_t i = 0, kept = 0;
#if VSP_ROW_AVX2
    if (simd)
        i = vsp_row_store_avx2(dst->pix + (uint64_t)y * dst->stride + (uint64_t)x * 4,
                               dst->format == VGPU_FMT_XRGB8888, n, r);
#endif
    for (uint32_t j = 0; j < i / 8; j++)
        kept += (uint32_t)__builtin_popcount(r->keep[j]);
    for (; i < n; i++) {
        if (!(r->keep[i / 8] >> (i % 8) & 1))
            continue;
        int32_t v[4] = { r->d[0][i], r->d[1][i], r->d[2][i], r->d[3][i] };
        vsp_store_rgb(dst, x + i, y, v);
        kept++;
    }
    return kept;
}

/* Pixels [0, n) of row oy from ox (at x, y in the destination) by the row stages;
 * returns how many were discarded. */
static uint32_t row_chunk(const struct vsp_draw *d, uint32_t bits, bool one, bool simd,
                          uint32_t x, uint32_t y, int32_t ox, int32_t oy, uint32_t n)
{
    const struct vsp_texture *t = &d->env.tex[0];
    struct vsp_row row;
    if (one)
        load_row(t->s, t->x + (uint32_t)ox, t->y + (uint32_t)oy, n, row.s, simd);
    else
        sample_scaled(bits & VSP_BUILTIN_BILINEAR, t, d->env.uniform, ox, oy, n, row.s, simd);
    if (bits & (VSP_BUILTIN_BLEND | VSP_BUILTIN_KEY_DST)) {
        uint32_t bx = x, by = y;
        const struct vsp_surface *b = below(d, &bx, &by);
        load_row(b, bx, by, n, row.d, simd);
    }
#if VSP_ROW_AVX2
    if (simd)
        vsp_row_math_avx2(bits, d->env.uniform, &row, n);
    else
#endif
        math_scalar(bits, d->env.uniform, &row, n);
    if (d->under && bits & (VSP_BUILTIN_KEY_SRC | VSP_BUILTIN_KEY_DST))
        copy_under(d, x, y, n);         /* what is discarded shows under; the rest overwrites it */
    return n - store_row(d->dst, x, y, n, &row, simd);
}

/* n pixels of row y from column x, texels from (tx, ty) of the window on: the 1:1 case
 * without SIMD (the guest's), straight from texel to pixel with the formats constant (one
 * copy per format pair, the switches folded). */
static inline void row_1to1(uint32_t bits, uint16_t sfmt, uint16_t dfmt, const struct vsp_draw *d,
                            uint32_t x, uint32_t y, uint32_t tx, uint32_t ty, uint32_t n,
                            uint32_t *killed)
{
    struct vsp_surface src = *d->env.tex[0].s, dst = *d->dst;
    src.format = sfmt;
    dst.format = dfmt;
    tx += d->env.tex[0].x;
    ty += d->env.tex[0].y;
    uint32_t bx = x, by = y;
    struct vsp_surface under = *below(d, &bx, &by);     /* dst, or what stands for it */
    under.format = dfmt;
    const uint8_t *up = under.pix + (uint64_t)by * under.stride + (uint64_t)bx * 4;
    uint8_t *dp = dst.pix + (uint64_t)y * dst.stride + (uint64_t)x * 4;
    bool reads_dst = bits & (VSP_BUILTIN_BLEND | VSP_BUILTIN_KEY_DST);
    for (uint32_t i = 0; i < n; i++) {
        int32_t r1[4] = { 0, 0, 0, 0 }, r3[4];
        vsp_texel(&src, tx + i, ty, r3);
        if (reads_dst)          /* else unread: the compositor may draw into the framebuffer */
            vsp_texel(&under, bx + i, by, r1);
        if (builtin_math(bits, d->env.uniform, r3, r1)) {
            vsp_store_rgb(&dst, x + i, y, r1);
        } else {
            (*killed)++;
            if (d->under)
                memcpy(dp + 4 * i, up + 4 * i, 4);
        }
    }
}

static void row_any(uint32_t bits, const struct vsp_draw *d, uint32_t x, uint32_t y, uint32_t tx,
                    uint32_t ty, uint32_t n, uint32_t *killed)
{
    bool argb = d->dst->format == VGPU_FMT_ARGB8888;
    switch (d->env.tex[0].s->format) {
#define ROW(F) argb ? row_1to1(bits, F, VGPU_FMT_ARGB8888, d, x, y, tx, ty, n, killed) \
                    : row_1to1(bits, F, VGPU_FMT_XRGB8888, d, x, y, tx, ty, n, killed)
    case VGPU_FMT_XRGB8888: ROW(VGPU_FMT_XRGB8888); break;
    case VGPU_FMT_ARGB8888: ROW(VGPU_FMT_ARGB8888); break;
    case VGPU_FMT_YUY2: ROW(VGPU_FMT_YUY2); break;
    default: ROW(VGPU_FMT_NV12); break;
#undef ROW
    }
}

static uint32_t row_stages(const struct vsp_draw *d, uint32_t bits, bool one, bool simd,
                           uint32_t x, uint32_t y, int32_t ox, int32_t oy, uint32_t n)
{
    uint32_t killed = 0;
    if (one && !simd) {
        row_any(bits, d, x, y, (uint32_t)ox, (uint32_t)oy, n, &killed);
        return killed;
    }
    for (uint32_t i = 0; i < n; i += VSP_ROW_CHUNK)
        killed += row_chunk(d, bits, one, simd, x + i, y, add(ox, (int32_t)i), oy,
                            n - i < VSP_ROW_CHUNK ? n - i : VSP_ROW_CHUNK);
    return killed;
}

enum whole { WHOLE_NONE, WHOLE_COPY, WHOLE_OVER, WHOLE_YUY2 };

/* Which whole-row pipeline a 1:1 draw can take: SIMD rows, the copy's also without. */
static enum whole whole_kind(const struct vsp_draw *d, uint32_t bits)
{
    if (d->env.tex[0].s->format == VGPU_FMT_YUY2)
        return bits == VSP_BUILTIN_YUV ? WHOLE_YUY2 : WHOLE_NONE;
    if (!vsp_format_is_rgb(d->env.tex[0].s->format))
        return WHOLE_NONE;
    if (bits == 0 || bits == VSP_BUILTIN_KEY_SRC || bits == VSP_BUILTIN_KEY_DST)
        return WHOLE_COPY;
    uint32_t ga = (uint32_t)d->env.uniform[7][3];
    return bits == VSP_BUILTIN_BLEND && ga <= 255 ? WHOLE_OVER : WHOLE_NONE;
}

/* The copy built-ins as vsp_engine_row.h's copy takes them: the alpha the pixels get, the
 * key as R G B (-1, which no pixel is, when a lane is outside 0..255) and the mode. */
struct copy_args {
    uint32_t alpha_or;
    int32_t key;
    int mode;
};

static struct copy_args copy_args(const struct vsp_draw *d, uint32_t bits)
{
    const int32_t (*u)[4] = d->env.uniform;
    bool key_ok = u[7][0] >= 0 && u[7][0] <= 255 && u[7][1] >= 0 && u[7][1] <= 255 &&
                  u[7][2] >= 0 && u[7][2] <= 255;
    bool opaque = d->env.tex[0].s->format == VGPU_FMT_XRGB8888 ||
                  d->dst->format == VGPU_FMT_XRGB8888;
    return (struct copy_args){
        .alpha_or = opaque ? 0xff000000u : 0,
        .key = key_ok ? u[7][0] << 16 | u[7][1] << 8 | u[7][2] : -1,
        .mode = bits == VSP_BUILTIN_KEY_SRC ? 1 : bits == VSP_BUILTIN_KEY_DST ? 2 : 0,
    };
}

/* The copy without SIMD (the guest's), a pixel a 32-bit word (x86: B G R X from the low
 * byte up), mode a constant in each copy; returns the pixels drawn. */
__attribute__((always_inline)) static inline uint32_t
copy_words(uint8_t *dst, const uint8_t *src, const uint8_t *under, uint32_t n, uint32_t alpha_or,
           int32_t key, const int mode)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t s, d = 0;
        memcpy(&s, src + 4 * i, 4);
        if (mode == 2)
            memcpy(&d, (under ? under : dst) + 4 * i, 4);
        if (mode && (((mode == 1 ? s : d) & 0xffffff) == (uint32_t)key) == (mode == 1)) {
            if (under)
                memcpy(dst + 4 * i, under + 4 * i, 4);
            continue;
        }
        s |= alpha_or;
        memcpy(dst + 4 * i, &s, 4);
        kept++;
    }
    return kept;
}

/* n pixels of row y from column x by a copy built-in, 1:1 from (ox, oy) of the window;
 * returns how many were discarded. */
static uint32_t row_copy(const struct vsp_draw *d, const struct copy_args *a, bool simd,
                         uint32_t x, uint32_t y, int32_t ox, int32_t oy, uint32_t n)
{
    const struct vsp_texture *t = &d->env.tex[0];
    uint8_t *dp = d->dst->pix + (uint64_t)y * d->dst->stride + (uint64_t)x * 4;
    const uint8_t *sp = t->s->pix + (uint64_t)(t->y + (uint32_t)oy) * t->s->stride +
                        (uint64_t)(t->x + (uint32_t)ox) * 4;
    const uint8_t *up = a->mode ? under_at(d, x, y) : NULL;     /* mode 0 draws every pixel */
#if VSP_ROW_AVX2
    if (simd)
        return n - vsp_row_copy_avx2(dp, sp, up, n, a->alpha_or, a->key, a->mode);
#endif
    (void)simd;
    if (up)             /* one copy each with and without under: its test folds */
        return n - (a->mode == 1 ? copy_words(dp, sp, up, n, a->alpha_or, a->key, 1)
                                 : copy_words(dp, sp, up, n, a->alpha_or, a->key, 2));
    switch (a->mode) {
    case 0: return n - copy_words(dp, sp, NULL, n, a->alpha_or, a->key, 0);
    case 1: return n - copy_words(dp, sp, NULL, n, a->alpha_or, a->key, 1);
    default: return n - copy_words(dp, sp, NULL, n, a->alpha_or, a->key, 2);
    }
}

#if VSP_ROW_AVX2
/* Whole groups of 8 of n pixels by the OVER or YUY2 pipeline (neither discards); returns
 * how many it did. */
static uint32_t row_whole(const struct vsp_draw *d, enum whole kind, uint32_t x, uint32_t y,
                          int32_t ox, int32_t oy, uint32_t n)
{
    const struct vsp_texture *t = &d->env.tex[0];
    const int32_t (*u)[4] = d->env.uniform;
    uint8_t *dp = d->dst->pix + (uint64_t)y * d->dst->stride + (uint64_t)x * 4;
    uint32_t tx = t->x + (uint32_t)ox;
    const uint8_t *sp = t->s->pix + (uint64_t)(t->y + (uint32_t)oy) * t->s->stride;
    bool src_x = t->s->format == VGPU_FMT_XRGB8888, dst_x = d->dst->format == VGPU_FMT_XRGB8888;
    uint32_t done = n & ~7u;
    if (kind == WHOLE_YUY2) {           /* from a pixel pair's first: else by the stages */
        if (tx & 1)
            return 0;
        vsp_row_yuy2_avx2(dp, sp + (uint64_t)tx * 2, done, u, !dst_x);
        return done;
    }
    vsp_row_over_avx2(dp, sp + (uint64_t)tx * 4, under_at(d, x, y), done, src_x ? 0xff000000u : 0,
                      dst_x ? 0xff000000u : 0, (uint32_t)u[7][3]);
    return done;
}
#endif

/* A built-in shader (vsp_builtin.c) run natively, a row chunk at a time: the same
 * operations on the same integers as its instructions, so the same pixels and units
 * (test_vsp_shader checks); the budget is checked per chunk, the chunk cut to the pixels
 * the per-pixel check would have run. */
static bool draw_builtin(const struct vsp_draw *d, struct vsp_pos *pos, int64_t *budget)
{
    const struct vgpu_rect *r = &d->rect;
    uint32_t bits = (uint32_t)d->shader->builtin, cost = d->shader->cost;
    uint32_t killed_cost = kil_cost(d->shader);
    bool one = one_to_one(d), simd = use_simd();
    enum whole whole = one ? whole_kind(d, bits) : WHOLE_NONE;
    if (!simd && whole != WHOLE_COPY)
        whole = WHOLE_NONE;
    struct copy_args ca = copy_args(d, bits);
    uint64_t per = 1 + (uint64_t)cost;
    for (; pos->row < r->h; pos->row++, pos->col = 0) {
        uint32_t y = r->y + pos->row;
        int32_t oy = add(d->origin_y, (int32_t)pos->row);
        while (pos->col < r->w) {
            if (*budget <= 0)
                return false;
            uint64_t n = ((uint64_t)*budget + per - 1) / per;
            if (n > r->w - pos->col)
                n = r->w - pos->col;
            if (n > VSP_ROW_CHUNK && whole == WHOLE_NONE)
                n = VSP_ROW_CHUNK;
            uint32_t x = r->x + pos->col, done = 0, killed = 0;
            int32_t ox = add(d->origin_x, (int32_t)pos->col);
            if (whole == WHOLE_COPY) {
                killed = row_copy(d, &ca, simd, x, y, ox, oy, (uint32_t)n);
                done = (uint32_t)n;
            }
#if VSP_ROW_AVX2
            else if (whole != WHOLE_NONE)
                done = row_whole(d, whole, x, y, ox, oy, (uint32_t)n);
#endif
            if (done < n)
                killed += row_stages(d, bits, one, simd, x + done, y, add(ox, (int32_t)done), oy,
                                     (uint32_t)n - done);
            *budget -= (int64_t)(n * per) - (int64_t)killed * (cost - killed_cost);
            pos->col += (uint32_t)n;
        }
    }
    return true;
}

static bool one_draw(const struct vsp_draw *d, struct vsp_pos *pos, int64_t *budget)
{
    if (d->shader->builtin >= 0)
        return draw_builtin(d, pos, budget);
    const struct vgpu_rect *r = &d->rect;
    for (; pos->row < r->h; pos->row++, pos->col = 0) {
        uint32_t y = r->y + pos->row;
        for (; pos->col < r->w; pos->col++) {
            if (*budget <= 0)
                return false;
            uint32_t x = r->x + pos->col, bx = x, by = y;
            const struct vsp_surface *b = below(d, &bx, &by);
            int32_t px[4];
            bool killed;
            vsp_texel(b, bx, by, px);
            uint32_t ran = vsp_shader_run(d->shader, &d->env, d->origin_x + (int32_t)pos->col,
                                          d->origin_y + (int32_t)pos->row, px, &killed);
            if (!killed)
                vsp_store_rgb(d->dst, x, y, px);
            else if (d->under)
                copy_under(d, x, y, 1);
            *budget -= 1 + (int64_t)ran;
        }
    }
    return true;
}

/* The engine on this CPU alone: what each lane runs on its band. */
static const struct vsp_engine_ops one_cpu = {
    .fill = one_fill,
    .blit = one_blit,
    .draw = one_draw,
};

static bool cpu_fill(const struct vsp_surface *dst, const struct vgpu_rect *r, uint32_t argb,
                     struct vsp_pos *pos, int64_t *budget)
{
    return vsp_lanes_fill(&one_cpu, dst, r, argb, pos, budget) ||
           one_fill(dst, r, argb, pos, budget);
}

static bool cpu_blit(const struct vsp_surface *dst, uint32_t dx, uint32_t dy,
                     const struct vsp_surface *src, const struct vgpu_rect *sr,
                     struct vsp_pos *pos, int64_t *budget)
{
    return vsp_lanes_blit(&one_cpu, dst, dx, dy, src, sr, pos, budget) ||
           one_blit(dst, dx, dy, src, sr, pos, budget);
}

static bool cpu_draw(const struct vsp_draw *d, struct vsp_pos *pos, int64_t *budget)
{
    return vsp_lanes_draw(&one_cpu, d, pos, budget) || one_draw(d, pos, budget);
}

const struct vsp_engine_ops vsp_cpu_engine = {
    .fill = cpu_fill,
    .blit = cpu_blit,
    .draw = cpu_draw,
};
