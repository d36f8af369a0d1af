/*
 * How to send the next page batch: raw, LZ4 with acceleration (SNAP_LZ4_FAST: faster,
 * shrinks less) or LZ4 (SNAP_LZ4), whichever moves guest bytes fastest.  Sending a byte
 * raw costs 1/link; compressing it with a codec costs 1/codec and then sends `ratio` of
 * it, so (one CPU doing both, one after the other) a codec's cost per guest byte, in
 * units of the raw cost, is link/codec + ratio, and raw's is 1: the least wins, ties going
 * to the cheaper CPU work (raw, then LZ4 with acceleration).  The rates are measured: the
 * link's from the wire bytes and the time spent sending them, each codec's from its input
 * bytes and the time compressing them.  Until the link and both codecs have been measured,
 * batches are compressed with the codec not yet measured (to learn); then every
 * MIG_CHOICE_PROBE_EVERY-th batch goes to the LZ4 codec that is not the best (while raw
 * is, to each in turn; raw needs no measuring), so that a change in the data (or the link) is noticed.  Portable, integer only.
 */
#ifndef ATOLL_HV_MIGRATE_MIG_CHOICE_H
#define ATOLL_HV_MIGRATE_MIG_CHOICE_H
#include <stdbool.h>
#include <stdint.h>

#define MIG_CHOICE_PROBE_EVERY 32u

enum mig_codec { MIG_RAW, MIG_LZ4_ACCEL, MIG_LZ4, MIG_CODECS };

struct mig_codec_rate {
    uint64_t in, out, ns;               /* bytes compressed, what they became, time */
};

struct mig_choice {
    /* decaying sums (halved when their time passes 1 s) */
    uint64_t link_bytes, link_ns;       /* wire bytes sent and the time it took */
    struct mig_codec_rate codec[MIG_CODECS];    /* [MIG_RAW] unused */
    uint32_t since_probe;               /* batches since the last probe */
    uint32_t probes;                    /* probes made, to take turns */
    uint64_t chose[MIG_CODECS];         /* decisions, for the report */
};

void mig_choice_init(struct mig_choice *c);
/* The wire took `ns` to carry `bytes` (measured by the sender). */
void mig_choice_link(struct mig_choice *c, uint64_t bytes, uint64_t ns);
/* Compressing `in` bytes with codec k gave `out` bytes (the raw size when it did not
 * shrink) in `ns`. */
void mig_choice_codec(struct mig_choice *c, enum mig_codec k, uint64_t in, uint64_t out,
                      uint64_t ns);
/* The codec for the next batch.  Counts the decision. */
enum mig_codec mig_choice_next(struct mig_choice *c);
/* The rule alone: rates in bytes per second (0: not measured), ratios in per mille
 * (out/in), indexed by enum mig_codec ([MIG_RAW] ignored).  A codec never measured is
 * never best; with the link not measured, the best-shrinking measured codec is. */
enum mig_codec mig_choice_best(uint64_t link_bps, const uint64_t codec_bps[MIG_CODECS],
                               const uint64_t ratio_permille[MIG_CODECS]);
/* The rule for one codec against raw: link/codec + ratio < 1. */
bool mig_choice_pays(uint64_t link_bps, uint64_t codec_bps, uint64_t ratio_permille);
/* The snapshot codec level of k (enum snap_level). */
unsigned mig_codec_level(enum mig_codec k);

#endif
