/*
 * Isolation, partition A: fills its free RAM above 1 MiB with the secret, prints READY, then
 * keeps checking the secret for a while (`passes=N` on the command line, default 20) and
 * passes if it stayed intact.  Partition B runs meanwhile and must never see it.
 */
#include "guest/lib/guest.h"
#include "guest/tests/isolation_secret.h"

DEFINE_TEST("isolation_a");

#define LOW_LIMIT 0x100000ull

typedef uint64_t (*block_fn)(volatile uint64_t *block);

static uint64_t write_block(volatile uint64_t *b)
{
    for (unsigned k = 0; k < SECRET_WORDS; k++)
        b[k] = secret_word(k);
    return 0;
}

static uint64_t check_block(volatile uint64_t *b)
{
    uint64_t bad = 0;
    for (unsigned k = 0; k < SECRET_WORDS; k++)
        bad += b[k] != secret_word(k);
    return bad;
}

/* Applies fn to every secret block; returns the sum of its results. */
static uint64_t for_each_block(block_fn fn, uint64_t *bytes)
{
    uint64_t floor = (image_end() + SECRET_BLOCK - 1) & ~(uint64_t)(SECRET_BLOCK - 1), sum = 0;
    *bytes = 0;
    for (unsigned i = 0; i < boot.nranges; i++) {
        uint64_t start = boot.ranges[i].start, end = boot.ranges[i].end;
        start = start < floor ? floor : start;
        start = start < LOW_LIMIT ? LOW_LIMIT : start;
        end = end > FOUR_GIB ? FOUR_GIB : end;
        end &= ~(uint64_t)(SECRET_BLOCK - 1);
        for (uint64_t a = start; a + SECRET_BLOCK <= end; a += SECRET_BLOCK)
            sum += fn((volatile uint64_t *)(uintptr_t)a);
        *bytes += end > start ? end - start : 0;
    }
    return sum;
}

void test_main(void)
{
    uint64_t passes = cmdline_u64("passes", 20), bytes = 0;
    for_each_block(write_block, &bytes);
    printf("isolation_a: secret written over %lu KiB of RAM\n", (unsigned long)(bytes >> 10));
    printf("READY\n");
    uint64_t bad = 0;
    for (uint64_t p = 1; p <= passes && !bad; p++) {
        bad = for_each_block(check_block, &bytes);
        if (p % 5 == 0 || bad)
            printf("isolation_a: pass %lu of %lu, %lu words changed\n", p, passes, bad);
    }
    report(bytes > 0, "secret written (%lu KiB)", (unsigned long)(bytes >> 10));
    report(bad == 0, "secret intact after %lu checking passes", passes);
}
