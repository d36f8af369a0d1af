/* A snapshot worker against a scripted sink: it shows the policy the queue's depth, the
 * bytes drained and the time, teaches it what each block cost at the level it chose, keeps
 * its counters by that level, puts every block once with data that decodes to the RAM,
 * and stops at a failed put. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/snap_codec_state.h"
#include "hv/snapshot/snap_pipeline.h"

#define BLOCKS 24
static uint8_t ram[BLOCKS * SNAP_BLOCK_SIZE], out[SNAP_ENCODED_MAX], back[SNAP_BLOCK_SIZE];

struct script {
    uint64_t queued, now, step_ns, drained, drain_per_block;
    uint64_t cpu, cpu_step_ns;          /* the worker's CPU clock */
    unsigned puts, fail_at;             /* fail_at: the put that fails (0: none) */
    uint64_t next_index;
};

static uint64_t s_queued(void *ctx) { return ((struct script *)ctx)->queued; }

static uint64_t s_now(void *ctx)
{
    struct script *s = ctx;
    return s->now += s->step_ns;
}

static uint64_t s_cpu(void *ctx)
{
    struct script *s = ctx;
    return s->cpu += s->cpu_step_ns;
}

static uint64_t s_drained(void *ctx)
{
    struct script *s = ctx;
    return s->drained += s->drain_per_block;
}

static bool s_put(void *ctx, uint64_t index, const struct snap_encoded *e, const uint8_t *data)
{
    struct script *s = ctx;
    assert_int_equal(index, s->next_index++);   /* one worker: RAM order, each once */
    assert_int_equal(snap_decode(codec_state, e, data, back), 0);
    assert_memory_equal(back, ram + index * SNAP_BLOCK_SIZE, SNAP_BLOCK_SIZE);
    return ++s->puts != s->fail_at;
}

static void fill_text(uint8_t *p, size_t n)
{
    static const char words[] = "a snapshot of guest memory, block after block; ";
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)words[(i * 5 + i / 977) % (sizeof(words) - 1)];
}

static void fill_random(uint8_t *p, size_t n)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        p[i] = (uint8_t)x;
    }
}

static void worker(struct snap_worker *w, enum snap_level start)
{
    memset(w, 0, sizeof(*w));
    w->codec_state = codec_state;
    w->out = out;
    snap_policy_init(&w->policy, start);
}

/* One worker from LZ4 over the whole of ram into sink. */
static void run_over_ram(struct snap_worker *w, const struct snap_sink *sink)
{
    struct snap_scan scan;
    snap_scan_init(&scan, ram, sizeof(ram));
    worker(w, SNAP_LZ4);
    snap_worker_run(w, &scan, sink);
}

static uint64_t sum(const uint64_t *v)
{
    uint64_t n = 0;
    for (unsigned l = 0; l < SNAP_LEVELS; l++)
        n += v[l];
    return n;
}

static void compressible_slow_disk_test(void **s)
{
    (void)s;
    fill_text(ram, sizeof(ram));
    memset(ram + 3 * SNAP_BLOCK_SIZE, 0, SNAP_BLOCK_SIZE);             /* a zero block */
    memset(ram + 7 * SNAP_BLOCK_SIZE + SNAP_PAGE_SIZE, 0, SNAP_PAGE_SIZE);   /* a zero page */
    /* a full 8 MiB queue on a slow disk: 16384 bytes drained per 1.2 ms between blocks
     * (13.7 MB/s, measured once 128 KiB have drained), every rung taking 600 us */
    struct script sc = { .queued = 8u << 20, .step_ns = 600000, .drain_per_block = 16384 };
    struct snap_sink sink = { &sc, 8u << 20, s_queued, s_put, s_drained, s_now, 1, NULL };
    struct snap_worker w;
    run_over_ram(&w, &sink);
    assert_false(w.failed);
    assert_int_equal(sc.puts, BLOCKS);
    assert_int_equal(w.blocks, BLOCKS);
    assert_int_equal(w.zero_blocks, 1);
    assert_int_equal(w.zero_pages, SNAP_BLOCK_PAGES + 1);
    assert_int_equal(sum(w.tried), BLOCKS - 1);
    assert_int_equal(sum(w.at_level), BLOCKS - 1);
    assert_int_equal(sum(w.ns_at), (BLOCKS - 1) * 600000ull);  /* one clock step per encode */
    assert_int_equal(w.last_ns, 600000);
    /* the policy measured the disk, and tried the rungs one above the last measured to
     * compress: LZ4 fast, then LZ4.  This text compresses to a few per cent, so at 600 us
     * a block even LZ4 fast writes only about as fast as the disk drains (half its rate is
     * the aim, with the queue full): the mix stays at the two fastest compressing rungs,
     * and at most one block is stored (before storing's own time is measured) */
    assert_int_equal(w.policy.drain_bps, 131072ull * 1000000 / (8 * 1200));
    for (unsigned l = SNAP_LZ4_FAST; l <= SNAP_LZ4; l++) {
        assert_true(w.tried[l] >= 1);
        assert_true(w.policy.out_permille[l] > 0 && w.policy.out_permille[l] < 100);
        /* 600 us a block: per KiB of 16 pages, or of 15 (block 7 has a zero page) */
        assert_in_range(w.policy.ns_per_kib[l], 600000ull * 1024 / SNAP_BLOCK_SIZE,
                        600000ull * 1024 / (SNAP_BLOCK_SIZE - SNAP_PAGE_SIZE));
    }
    assert_true(w.tried[SNAP_STORE] <= 1);
    assert_true(w.at_level[SNAP_STORE] <= 1);
    /* every block taught the policy the share of non-zero RAM (for the RAM left's bytes) */
    assert_int_equal(w.policy.seen, (uint64_t)BLOCKS * SNAP_BLOCK_SIZE);
    assert_int_equal(w.policy.seen_raw, (uint64_t)BLOCKS * SNAP_BLOCK_SIZE -
                                            (SNAP_BLOCK_PAGES + 1) * SNAP_PAGE_SIZE);
}

static void cpu_clock_test(void **s)
{
    (void)s;
    fill_text(ram, sizeof(ram));
    /* with the worker's CPU clock, the encoding is timed by it (200 us a block, in 600 us
     * of wall time) and the policy is shown it at every pick */
    struct script sc = { .queued = 8u << 20, .step_ns = 600000, .drain_per_block = 16384,
                         .cpu = 7000000, .cpu_step_ns = 200000 };
    struct snap_sink sink = { &sc, 8u << 20, s_queued, s_put, s_drained, s_now, 1, s_cpu };
    struct snap_worker w;
    run_over_ram(&w, &sink);
    assert_false(w.failed);
    assert_int_equal(sum(w.tried), BLOCKS);
    assert_int_equal(sum(w.ns_at), BLOCKS * 200000ull);
    assert_int_equal(w.last_ns, 200000);
    for (unsigned l = SNAP_LZ4_FAST; l <= SNAP_LZ4; l++) {
        assert_true(w.tried[l] >= 1);
        assert_int_equal(w.policy.ns_per_kib[l], 200000ull * 1024 / SNAP_BLOCK_SIZE);
    }
    /* the last pick saw the clock read before the last block's encoding */
    assert_int_equal(w.policy.last_pick_cpu, sc.cpu - 200000);
}

static void incompressible_test(void **s)
{
    (void)s;
    fill_random(ram, sizeof(ram));
    struct script sc = { .queued = 1000 };
    struct snap_sink sink = { .ctx = &sc, .capacity = 1000, .queued = s_queued, .put = s_put };
    struct snap_worker w;
    run_over_ram(&w, &sink);
    /* one block at LZ4 fast, stored because it did not shrink, taught the policy that the
     * level saves nothing: the rest are stored without trying, but for one try each time
     * the policy forgets it (every SNAP_POLICY_RETRY_PICKS blocks) */
    unsigned tries = 1 + (BLOCKS - 1) / SNAP_POLICY_RETRY_PICKS;
    assert_int_equal(w.tried[SNAP_LZ4_FAST], tries);
    assert_int_equal(w.tried[SNAP_STORE], BLOCKS - tries);
    assert_int_equal(w.at_level[SNAP_STORE], BLOCKS);
    assert_int_equal(w.policy.out_permille[SNAP_LZ4_FAST], 1000);
    /* no clock: nothing timed, no rate */
    assert_int_equal(sum(w.ns_at), 0);
    assert_int_equal(w.policy.ns_per_kib[SNAP_LZ4_FAST], 0);
    assert_int_equal(w.policy.drain_bps, 0);
}

static void empty_queue_and_failure_test(void **s)
{
    (void)s;
    fill_text(ram, sizeof(ram));
    /* an empty queue, the disk's speed not known: the lowest rung fills the queue (and
     * while the disk keeps it empty, the workers are the bottleneck: blocks are stored) */
    struct script sc = { .queued = 0, .step_ns = 1000, .fail_at = 8 };
    struct snap_sink sink = { &sc, 1000, s_queued, s_put, s_drained, s_now, 1, NULL };
    struct snap_worker w;
    run_over_ram(&w, &sink);
    assert_true(w.failed);                      /* the eighth put failed: the worker stopped */
    assert_int_equal(w.blocks, 8);
    assert_int_equal(sc.puts, 8);
    assert_int_equal(w.tried[SNAP_STORE], 8);
    assert_int_equal(w.last_tried, SNAP_STORE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compressible_slow_disk_test),
        cmocka_unit_test(cpu_clock_test),
        cmocka_unit_test(incompressible_test),
        cmocka_unit_test(empty_queue_and_failure_test),
    };
    return cmocka_run_group_tests(tests, codec_state_setup, codec_state_teardown);
}
