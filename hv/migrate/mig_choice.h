/*
 * Whether to compress the next page batch: LZ4 only when it raises throughput.  Sending a
 * byte raw costs 1/link; compressing it costs 1/codec and then sends `ratio` of it, so
 * LZ4 pays when 1/codec + ratio/link < 1/link, i.e. link/codec + ratio < 1 (one CPU does
 * both, one after the other).  The rates are measured: the link's from the wire bytes and
 * the time spent sending them, the codec's from the input bytes and the time compressing
 * them.  Until the codec has been measured, batches are compressed (to learn); while
 * sending raw, every MIG_CHOICE_PROBE_EVERY-th batch is compressed anyway so that a
 * change in the data (or the link) is noticed.  Portable, integer only.
 */
#ifndef ATOLL_HV_MIGRATE_MIG_CHOICE_H
#define ATOLL_HV_MIGRATE_MIG_CHOICE_H
#include <stdbool.h>
#include <stdint.h>

#define MIG_CHOICE_PROBE_EVERY 32u

struct mig_choice {
    /* decaying sums (halved when the link's passes 1 s of time) */
    uint64_t link_bytes, link_ns;           /* wire bytes sent and the time it took */
    uint64_t codec_in, codec_out, codec_ns; /* bytes compressed, what they became, time */
    uint32_t since_probe;                   /* raw batches since the last compressed one */
    uint64_t chose_raw, chose_lz4;          /* decisions, for the report */
};

void mig_choice_init(struct mig_choice *c);
/* The wire took `ns` to carry `bytes` (measured by the sender). */
void mig_choice_link(struct mig_choice *c, uint64_t bytes, uint64_t ns);
/* Compressing `in` bytes gave `out` bytes (the raw size when it did not shrink) in `ns`. */
void mig_choice_codec(struct mig_choice *c, uint64_t in, uint64_t out, uint64_t ns);
/* True: compress the next batch.  Counts the decision. */
bool mig_choice_compress(struct mig_choice *c);
/* The rule alone, from rates in bytes per second and the ratio in per mille (out/in). */
bool mig_choice_pays(uint64_t link_bps, uint64_t codec_bps, uint64_t ratio_permille);

#endif
