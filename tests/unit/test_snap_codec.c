/* Snapshot blocks: every level round-trips, zero pages cost nothing, corrupt blocks refused;
 * the pipeline's workers share the blocks exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/snap_codec_state.h"
#include "hv/snapshot/snap_codec.h"
#include "hv/snapshot/snap_pipeline.h"

static uint8_t src[SNAP_BLOCK_SIZE], out[SNAP_ENCODED_MAX], back[SNAP_BLOCK_SIZE];

static void fill_text(uint8_t *p, size_t n, unsigned seed)
{
    static const char words[] = "the quick brown fox jumps over the lazy dog; ";
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)words[(i * 7 + seed) % (sizeof(words) - 1)] ^ (uint8_t)((i / 4096) & 1);
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(seed >> 56);
    }
}

static void round_trip_test(void **s)
{
    (void)s;
    fill_text(src, sizeof(src), 3);
    memset(src + 2 * SNAP_PAGE_SIZE, 0, SNAP_PAGE_SIZE);        /* page 2 and 9 zero */
    memset(src + 9 * SNAP_PAGE_SIZE, 0, SNAP_PAGE_SIZE);
    uint32_t last = UINT32_MAX;
    for (enum snap_level l = SNAP_STORE; l < SNAP_LEVELS; l++) {
        struct snap_encoded e;
        snap_encode(codec_state, l, src, out, &e);
        assert_int_equal(e.zero_mask, (1u << 2) | (1u << 9));
        assert_int_equal(e.raw_len, 14 * SNAP_PAGE_SIZE);
        assert_int_equal(e.level, l);
        if (l == SNAP_STORE)
            assert_int_equal(e.len, e.raw_len);
        else
            assert_true(e.len < e.raw_len / 4);
        if (l >= SNAP_LZ4)
            assert_true(e.len <= last);                 /* harder never writes more here */
        last = e.len;
        memset(back, 0xaa, sizeof(back));
        assert_int_equal(snap_decode(codec_state, &e, out, back), 0);
        assert_memory_equal(back, src, sizeof(src));
    }
}

static void zero_and_random_test(void **s)
{
    (void)s;
    struct snap_encoded e;
    memset(src, 0, sizeof(src));
    snap_encode(codec_state, SNAP_LZ4HC_9, src, out, &e);
    assert_int_equal(e.zero_mask, 0xffff);
    assert_int_equal(e.len, 0);
    memset(back, 0xaa, sizeof(back));
    assert_int_equal(snap_decode(codec_state, &e, out, back), 0);
    assert_memory_equal(back, src, sizeof(src));
    fill_random(src, sizeof(src), 7);           /* incompressible: stored whatever the level */
    snap_encode(codec_state, SNAP_LZ4HC_9, src, out, &e);
    assert_int_equal(e.level, SNAP_STORE);
    assert_int_equal(e.len, SNAP_BLOCK_SIZE);
    assert_int_equal(snap_decode(codec_state, &e, out, back), 0);
    assert_memory_equal(back, src, sizeof(src));
}

static void corrupt_test(void **s)
{
    (void)s;
    struct snap_encoded e, bad;
    fill_text(src, sizeof(src), 5);
    snap_encode(codec_state, SNAP_LZ4, src, out, &e);
    bad = e;
    bad.zero_mask = 1;                          /* the mask and the data disagree */
    assert_int_equal(snap_decode(codec_state, &bad, out, back), -1);
    bad = e;
    bad.len = e.len - 1;                        /* truncated */
    assert_int_equal(snap_decode(codec_state, &bad, out, back), -1);
    bad = e;
    bad.len = SNAP_ENCODED_MAX + 1;
    assert_int_equal(snap_decode(codec_state, &bad, out, back), -1);
    bad = e;
    bad.level = SNAP_LEVELS;
    assert_int_equal(snap_decode(codec_state, &bad, out, back), -1);
    bad = e;
    bad.level = SNAP_STORE;                     /* stored length must be the raw length */
    assert_int_equal(snap_decode(codec_state, &bad, out, back), -1);
    out[0] ^= 0xff;                             /* garbled data never decodes silently wrong */
    int r = snap_decode(codec_state, &e, out, back);
    assert_true(r == -1 || memcmp(back, src, sizeof(src)) != 0 || r == 0);
}

/* ---- the pipeline: two workers on one scanner, each block exactly once ---------------- */

#define RAM_BLOCKS 37
static uint8_t ram[RAM_BLOCKS * SNAP_BLOCK_SIZE];
static unsigned seen[RAM_BLOCKS];
static uint64_t queued_bytes;

static uint64_t sink_queued(void *ctx) { (void)ctx; return queued_bytes; }

static bool sink_put(void *ctx, uint64_t index, const struct snap_encoded *e, const uint8_t *data)
{
    (void)ctx;
    assert_true(index < RAM_BLOCKS);
    seen[index]++;
    assert_int_equal(snap_decode(codec_state, e, data, back), 0);
    assert_memory_equal(back, ram + index * SNAP_BLOCK_SIZE, SNAP_BLOCK_SIZE);
    queued_bytes = index * 1000 / RAM_BLOCKS;   /* filling steadily: every band */
    return index != 1000;
}

static void pipeline_test(void **s)
{
    (void)s;
    fill_text(ram, sizeof(ram), 1);
    memset(ram + 5 * SNAP_BLOCK_SIZE, 0, SNAP_BLOCK_SIZE);
    fill_random(ram + 9 * SNAP_BLOCK_SIZE, SNAP_BLOCK_SIZE, 3);
    struct snap_scan scan;
    snap_scan_init(&scan, ram, sizeof(ram) + 100);      /* a partial block is not a block */
    struct snap_sink sink = { .capacity = 1000, .queued = sink_queued, .put = sink_put };
    static uint8_t out2[SNAP_ENCODED_MAX];
    struct snap_worker w[2] = { { .codec_state = codec_state, .out = out },
                                { .codec_state = codec_state, .out = out2 } };
    /* no clock: the depth's band; w[0] from the lowest, the filling queue takes it through
     * every band */
    snap_policy_init(&w[0].policy, SNAP_STORE);
    snap_policy_init(&w[1].policy, SNAP_STORE);
    snap_worker_run(&w[0], &scan, &sink);       /* one after the other: they share state */
    snap_worker_run(&w[1], &scan, &sink);
    for (unsigned i = 0; i < RAM_BLOCKS; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(w[0].blocks + w[1].blocks, RAM_BLOCKS);
    assert_int_equal(w[0].zero_pages, SNAP_BLOCK_PAGES);
    uint64_t levels = 0;
    for (unsigned l = 0; l < SNAP_LEVELS; l++)
        levels += w[0].at_level[l] != 0;
    assert_true(levels >= 4);                   /* up the ladder */
    assert_false(w[0].failed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_test),
        cmocka_unit_test(zero_and_random_test),
        cmocka_unit_test(corrupt_test),
        cmocka_unit_test(pipeline_test),
    };
    return cmocka_run_group_tests(tests, codec_state_setup, codec_state_teardown);
}
