#include "hv/snapshot/snap_codec.h"

#include <stdbool.h>
#include <string.h>
#include <lz4.h>
#include <lz4hc.h>

#define LZ4_FAST_ACCELERATION 8

/* The gathered non-zero pages: compressed from here, one block at a time per worker. */
struct codec_state {
    uint8_t gathered[SNAP_BLOCK_SIZE];
    union {
        LZ4_stream_t fast;
        LZ4_streamHC_t hc;
    } lz4;
};

size_t snap_codec_state_size(void)
{
    return sizeof(struct codec_state);
}

static bool page_is_zero(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;
    uint64_t any = 0;
    for (unsigned i = 0; i < SNAP_PAGE_SIZE / 8; i++)
        any |= w[i];
    return any == 0;
}

static int compress(struct codec_state *s, enum snap_level level, const uint8_t *src, int n,
                    uint8_t *out)
{
    switch (level) {
    case SNAP_LZ4_FAST:
        return LZ4_compress_fast_extState(&s->lz4.fast, (const char *)src, (char *)out, n, n,
                                          LZ4_FAST_ACCELERATION);
    case SNAP_LZ4:
        return LZ4_compress_fast_extState(&s->lz4.fast, (const char *)src, (char *)out, n, n, 1);
    case SNAP_LZ4HC_3:
    case SNAP_LZ4HC_9:
        return LZ4_compress_HC_extStateHC(&s->lz4.hc, (const char *)src, (char *)out, n, n,
                                          level == SNAP_LZ4HC_3 ? 3 : 9);
    default:
        return 0;
    }
}

void snap_encode(void *state, enum snap_level level, const uint8_t *src, uint8_t *out,
                 struct snap_encoded *e)
{
    struct codec_state *s = state;
    uint32_t n = 0;
    e->zero_mask = 0;
    for (unsigned i = 0; i < SNAP_BLOCK_PAGES; i++) {
        const uint8_t *page = src + i * SNAP_PAGE_SIZE;
        if (page_is_zero(page)) {
            e->zero_mask |= (uint16_t)(1u << i);
            continue;
        }
        memcpy(s->gathered + n, page, SNAP_PAGE_SIZE);
        n += SNAP_PAGE_SIZE;
    }
    e->raw_len = n;
    int c = n && level != SNAP_STORE ? compress(s, level, s->gathered, (int)n, out) : 0;
    if (c > 0 && (uint32_t)c < n) {
        e->level = level;
        e->len = (uint32_t)c;
        return;
    }
    memcpy(out, s->gathered, n);
    e->level = SNAP_STORE;
    e->len = n;
}

int snap_decode(void *state, const struct snap_encoded *e, const uint8_t *data, uint8_t *dst)
{
    struct codec_state *s = state;
    unsigned zeros = snap_mask_pages(e->zero_mask);
    uint32_t expect = (SNAP_BLOCK_PAGES - zeros) * SNAP_PAGE_SIZE;
    if (e->raw_len != expect || e->len > SNAP_ENCODED_MAX || (unsigned)e->level >= SNAP_LEVELS)
        return -1;
    const uint8_t *pages = data;
    if (e->level == SNAP_STORE) {
        if (e->len != expect)
            return -1;
    } else {
        if (LZ4_decompress_safe((const char *)data, (char *)s->gathered, (int)e->len,
                                (int)sizeof(s->gathered)) != (int)expect)
            return -1;
        pages = s->gathered;
    }
    uint32_t off = 0;
    for (unsigned i = 0; i < SNAP_BLOCK_PAGES; i++) {
        uint8_t *page = dst + i * SNAP_PAGE_SIZE;
        if (e->zero_mask & (1u << i)) {
            memset(page, 0, SNAP_PAGE_SIZE);
        } else {
            memcpy(page, pages + off, SNAP_PAGE_SIZE);
            off += SNAP_PAGE_SIZE;
        }
    }
    return 0;
}
