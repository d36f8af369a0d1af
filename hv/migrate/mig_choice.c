#include "hv/migrate/mig_choice.h"

#include <string.h>
#include "hv/snapshot/snap_codec.h"

#define DECAY_NS 1000000000ull

void mig_choice_init(struct mig_choice *c)
{
    memset(c, 0, sizeof(*c));
}

void mig_choice_link(struct mig_choice *c, uint64_t bytes, uint64_t ns)
{
    c->link_bytes += bytes;
    c->link_ns += ns;
    if (c->link_ns > DECAY_NS) {
        c->link_bytes /= 2;
        c->link_ns /= 2;
    }
}

void mig_choice_codec(struct mig_choice *c, enum mig_codec k, uint64_t in, uint64_t out,
                      uint64_t ns)
{
    if (k <= MIG_RAW || k >= MIG_CODECS)
        return;
    struct mig_codec_rate *r = &c->codec[k];
    r->in += in;
    r->out += out;
    r->ns += ns ? ns : 1;
    if (r->ns > DECAY_NS || r->in > (1ull << 40)) {
        r->in /= 2;
        r->out /= 2;
        r->ns /= 2;
    }
}

/* a * b / d without overflow for the magnitudes here (bytes < 2^40, ns < 2^40). */
static uint64_t rate(uint64_t bytes, uint64_t ns)
{
    if (!ns)
        return UINT64_MAX;
    if (bytes > UINT64_MAX / 1000000000ull)
        return bytes / (ns / 1000000000ull + 1);
    return bytes * 1000000000ull / ns;
}

/* A codec's cost per guest byte in per mille of raw's: link/codec + ratio. */
static uint64_t cost(uint64_t link_bps, uint64_t codec_bps, uint64_t ratio_permille)
{
    uint64_t share = link_bps / codec_bps >= 1000 ? 1000 : link_bps * 1000 / codec_bps;
    return share + ratio_permille;
}

bool mig_choice_pays(uint64_t link_bps, uint64_t codec_bps, uint64_t ratio_permille)
{
    if (!codec_bps || ratio_permille >= 1000)
        return false;
    if (!link_bps)
        return true;
    return cost(link_bps, codec_bps, ratio_permille) < 1000;
}

enum mig_codec mig_choice_best(uint64_t link_bps, const uint64_t codec_bps[MIG_CODECS],
                               const uint64_t ratio_permille[MIG_CODECS])
{
    enum mig_codec best = MIG_RAW;
    uint64_t best_cost = 1000;
    for (enum mig_codec k = MIG_LZ4_ACCEL; k < MIG_CODECS; k++) {
        if (!codec_bps[k] || ratio_permille[k] >= 1000)
            continue;
        /* link not measured: only the ratio counts */
        uint64_t c = link_bps ? cost(link_bps, codec_bps[k], ratio_permille[k])
                              : ratio_permille[k];
        if (c < best_cost) {
            best = k;
            best_cost = c;
        }
    }
    return best;
}

unsigned mig_codec_level(enum mig_codec k)
{
    return k == MIG_LZ4_ACCEL ? SNAP_LZ4_FAST : k == MIG_LZ4 ? SNAP_LZ4 : SNAP_STORE;
}

enum mig_codec mig_choice_next(struct mig_choice *c)
{
    enum mig_codec k;
    if (!c->codec[MIG_LZ4_ACCEL].in) {
        k = MIG_LZ4_ACCEL;                      /* nothing measured yet: learn */
    } else if (!c->codec[MIG_LZ4].in) {
        k = MIG_LZ4;
    } else {
        uint64_t bps[MIG_CODECS] = { 0 }, ratio[MIG_CODECS] = { 0 };
        for (enum mig_codec i = MIG_LZ4_ACCEL; i < MIG_CODECS; i++) {
            bps[i] = rate(c->codec[i].in, c->codec[i].ns);
            ratio[i] = c->codec[i].out * 1000 / c->codec[i].in;
        }
        k = mig_choice_best(c->link_ns ? rate(c->link_bytes, c->link_ns) : 0, bps, ratio);
        if (++c->since_probe >= MIG_CHOICE_PROBE_EVERY) {
            /* a codec other than the best (raw needs no measuring): the other LZ4 one,
             * or while raw is best each in turn */
            enum mig_codec p = k == MIG_LZ4_ACCEL ? MIG_LZ4
                             : k == MIG_LZ4 ? MIG_LZ4_ACCEL
                             : c->probes++ % 2 ? MIG_LZ4 : MIG_LZ4_ACCEL;
            k = p;
            c->since_probe = 0;
        }
    }
    c->chose[k]++;
    return k;
}
