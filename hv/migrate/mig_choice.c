#include "hv/migrate/mig_choice.h"

#include <string.h>

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

void mig_choice_codec(struct mig_choice *c, uint64_t in, uint64_t out, uint64_t ns)
{
    c->codec_in += in;
    c->codec_out += out;
    c->codec_ns += ns ? ns : 1;
    if (c->codec_ns > DECAY_NS || c->codec_in > (1ull << 40)) {
        c->codec_in /= 2;
        c->codec_out /= 2;
        c->codec_ns /= 2;
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

bool mig_choice_pays(uint64_t link_bps, uint64_t codec_bps, uint64_t ratio_permille)
{
    if (!codec_bps || ratio_permille >= 1000)
        return false;
    if (!link_bps)
        return true;
    /* link/codec + ratio < 1, in per mille */
    uint64_t share = link_bps / codec_bps >= 1000 ? 1000
                   : link_bps * 1000 / codec_bps;
    return share + ratio_permille < 1000;
}

bool mig_choice_compress(struct mig_choice *c)
{
    bool lz4;
    if (!c->codec_in || !c->link_ns) {
        lz4 = true;                             /* nothing measured yet: learn */
    } else if (++c->since_probe >= MIG_CHOICE_PROBE_EVERY) {
        lz4 = true;
    } else {
        uint64_t ratio = c->codec_out * 1000 / c->codec_in;
        lz4 = mig_choice_pays(rate(c->link_bytes, c->link_ns), rate(c->codec_in, c->codec_ns),
                              ratio);
    }
    if (lz4)
        c->since_probe = 0;
    *(lz4 ? &c->chose_lz4 : &c->chose_raw) += 1;
    return lz4;
}
