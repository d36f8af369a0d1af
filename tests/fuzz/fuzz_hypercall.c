/* libFuzzer target: hypercalls with arbitrary arguments from four partitions, run through
 * the dispatcher's checks (hv/core/hypercall_args.c) and the channel table
 * (hv/core/channel_grants.c) as hypercall_dispatch and hv/core/channel.c run them, with
 * partitions ending along the way.  The input is a sequence of 34-byte calls: the caller
 * (low 2 bits; 0xff ends that partition instead), a number (a small one, or the byte
 * shifted into the high bits), then four 64-bit arguments.  After each call every grant
 * must lie in its owner's RAM and its share, and every mapping in its peer's window, clear
 * of the others. */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "hv/core/channel_grants.h"
#include "hv/core/hypercall_abi.h"
#include "hv/core/hypercall_args.h"

#define PARTS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint64_t ram_size[PARTS + 1] = { 0, 16ull << 20, 1ull << 20, 4096, 3ull << 30 };

static bool known_result(int64_t r)
{
    return r >= 0 || r == -HC_EPERM || r == -HC_ENOENT || r == -HC_EFAULT ||
           r == -HC_EINVAL || r == -HC_ENOSPC || r == -HC_ENOSYS;
}

static void check_table(const struct channel_grants *t, const bool *alive)
{
    for (unsigned o = 0; o < CHANNEL_PARTITIONS; o++) {
        unsigned used = 0;
        for (unsigned i = 0; i < CHANNEL_GRANTS_PER_PARTITION; i++) {
            const struct channel_grant *g = &t->slot[o][i];
            if (!g->used)
                continue;
            used++;
            assert(g->owner == o + 1 && g->owner <= PARTS && alive[g->owner]);
            assert(g->peer >= 1 && g->peer <= PARTS && g->peer != g->owner &&
                   (alive[g->peer] || g->peer_gone) && (!g->peer_gone || !g->mapped));
            assert(g->pages >= 1 && g->pages <= CHANNEL_MAX_PAGES);
            assert((g->owner_gpa & 0xfff) == 0 && g->owner_gpa < ram_size[g->owner] &&
                   g->pages <= (ram_size[g->owner] - g->owner_gpa) / 4096);
            assert(g->owner_vector >= 32);
            if (!g->mapped)
                continue;
            assert(g->peer_vector >= 32);
            assert((g->peer_gpa & 0xfff) == 0 && g->peer_gpa >= CHANNEL_WINDOW_BASE &&
                   g->peer_gpa < CHANNEL_WINDOW_END &&
                   g->pages <= (CHANNEL_WINDOW_END - g->peer_gpa) / 4096);
            for (unsigned o2 = 0; o2 < CHANNEL_PARTITIONS; o2++)
                for (unsigned k = 0; k < CHANNEL_GRANTS_PER_PARTITION; k++) {
                    const struct channel_grant *h = &t->slot[o2][k];
                    if (h == g || !h->used || !h->mapped || h->peer != g->peer)
                        continue;
                    assert(h->peer_gpa >= g->peer_gpa + 4096ull * g->pages ||
                           g->peer_gpa >= h->peer_gpa + 4096ull * h->pages);
                }
        }
        assert(used <= CHANNEL_GRANTS_PER_PARTITION && used == channel_grants_count(t, o + 1));
    }
}

static uint64_t number(uint8_t b)
{
    return b < 0x40 ? b : (uint64_t)b << 56 | b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct channel_grants t;
    memset(&t, 0, sizeof(t));
    bool alive[PARTS + 1] = { false, true, true, true, true };
    for (size_t off = 0; off + 34 <= size; off += 34) {
        unsigned caller = (data[off] & 3) + 1;
        if (data[off] == 0xff) {            /* the partition ends */
            struct channel_grant was;
            while (channel_grants_take_partition(&t, caller, &was))
                assert(was.owner == caller || was.peer == caller);
            alive[caller] = false;
            check_table(&t, alive);
            continue;
        }
        if (!alive[caller])
            continue;
        uint64_t nr = number(data[off + 1]), arg[4];
        memcpy(arg, data + off + 2, sizeof(arg));
        int64_t r = hypercall_check_args(nr, arg, ram_size[caller]);
        assert(known_result(r) && r <= 0);
        if (r == 0) {
            bool peer_live = arg[2] >= 1 && arg[2] <= PARTS && alive[arg[2]];
            struct channel_grant *g = NULL, was;
            unsigned to;
            uint8_t vec;
            switch (nr) {
            case HC_CHANNEL_GRANT:
                r = channel_grants_add(&t, caller, ram_size[caller], arg[0], arg[1], arg[2],
                                       peer_live, arg[3]);
                /* The dispatcher's checks passed: only the peer or the share can refuse. */
                assert(r > 0 || r == -HC_ENOENT || r == -HC_ENOSPC);
                assert(r <= 0 || (uint64_t)r <= CHANNEL_HANDLE_MAX);
                break;
            case HC_CHANNEL_MAP:
                r = channel_grants_check_map(&t, caller, arg[0], arg[1], arg[2], &g);
                if (r == 0)
                    channel_grants_mapped(g, arg[1], arg[2]);
                break;
            case HC_CHANNEL_NOTIFY:
                r = channel_grants_other_side(&t, caller, arg[0], &to, &vec);
                assert(r != 0 || (to >= 1 && to <= PARTS && to != caller && alive[to] && vec >= 32));
                break;
            case HC_CHANNEL_REVOKE:
                r = channel_grants_revoke(&t, caller, arg[0], &was);
                assert(r != 0 || was.owner == caller);
                break;
            default:
                break;
            }
            assert(known_result(r));
        }
        check_table(&t, alive);
    }
    return 0;
}
