/*
 * snapshot-costs RAM_IMAGE: for each 64 KiB block of the image, its non-zero bytes and, at
 * each level of the ladder, the bytes out and the thread CPU time of the encoding in ns
 * (the least of 3 tries; of 1 for the LZ4HC levels), one CSV line a block.  The input of
 * tests/bench/snapshot-policy-sim.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hv/snapshot/snap_codec.h"

static double cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    FILE *f = argc == 2 ? fopen(argv[1], "rb") : NULL;
    if (!f) {
        fprintf(stderr, "usage: snapshot-costs RAM_IMAGE\n");
        return 2;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    unsigned char *ram = malloc((size_t)n);
    if (!ram || fread(ram, 1, (size_t)n, f) != (size_t)n)
        return 1;
    fclose(f);
    void *state = aligned_alloc(64, (snap_codec_state_size() + 63) / 64 * 64);
    unsigned char *out = malloc(SNAP_ENCODED_MAX);
    for (long b = 0; b < n / SNAP_BLOCK_SIZE; b++) {
        struct snap_encoded e;
        printf("%ld", b);
        for (int l = 0; l < SNAP_LEVELS; l++) {
            double best = 1e18;
            for (int k = 0; k < (l >= SNAP_LZ4HC_3 ? 1 : 3); k++) {
                double t0 = cpu_ns();
                snap_encode(state, (enum snap_level)l, ram + b * SNAP_BLOCK_SIZE, out, &e);
                double t = cpu_ns() - t0;
                best = t < best ? t : best;
            }
            if (l == 0)
                printf(",%u", e.raw_len);
            printf(",%u,%.0f", e.len, best);
        }
        printf("\n");
    }
    return 0;
}
