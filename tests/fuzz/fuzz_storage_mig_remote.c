/* libFuzzer target: the "after" mode's unit map (hv/storage/storage_mig_remote.c) driven by
 * any sequence of guest reads and writes, requests, background pulls, arrivals (whatever
 * unit a hostile source's DATA names), link losses and the around mode's hand-over (any
 * bitmap); after every step the map's counts
 * agree with its states, and a unit a read was let through on is present. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/storage/storage_mig_proto.h"
#include "hv/storage/storage_mig_remote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t get32(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void check_counts(const struct smig_remote *r)
{
    uint32_t present = 0, fetching = 0;
    for (uint32_t u = 0; u < r->units; u++) {
        if (r->state[u] > SMIG_UNIT_PRESENT)
            abort();
        present += r->state[u] == SMIG_UNIT_PRESENT;
        fetching += r->state[u] == SMIG_UNIT_FETCHING;
    }
    if (present != r->present || fetching != r->fetching)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t map[64];
    struct smig_remote r;
    if (size < 4)
        return 0;
    uint64_t disk = (uint64_t)get32(data) % (64ull * SMIG_UNIT) + 1;     /* 1..64 units */
    if (smig_remote_init(&r, disk, map, sizeof(map)))
        abort();
    for (size_t i = 4; i + 9 <= size; i += 9) {
        uint8_t op = data[i] % 8;
        uint64_t off = get32(data + i + 1) % disk, len = get32(data + i + 5) % (disk - off + 1);
        uint32_t u = get32(data + i + 1);       /* any unit number, in range or not */
        switch (op) {
        case 0: {
            int64_t need = smig_remote_read_needs(&r, off, len);
            if (need < -1 || need >= (int64_t)r.units)
                abort();
            if (need < 0 && len)        /* let through: every unit it touches is present */
                for (uint64_t k = off / SMIG_UNIT; k <= (off + len - 1) / SMIG_UNIT; k++)
                    if (r.state[k] != SMIG_UNIT_PRESENT)
                        abort();
            break;
        }
        case 1:
            if (smig_remote_write_needs(&r, off, len) < 0)
                smig_remote_written(&r, off, len);
            break;
        case 2:
            smig_remote_request(&r, u);
            break;
        case 3: {
            int64_t p = smig_remote_next_pull(&r);
            if (p >= (int64_t)r.units || (p >= 0 && r.state[p] != SMIG_UNIT_FETCHING))
                abort();
            break;
        }
        case 4:
        case 5:
            smig_remote_arrived(&r, u % (r.units + 2));
            break;
        case 6:
            smig_remote_link_lost(&r);
            if (r.fetching)
                abort();
            break;
        case 7: {
            uint8_t bm[8];      /* 64 units at most */
            uint32_t before = r.present;
            for (unsigned k = 0; k < sizeof(bm); k++)
                bm[k] = data[i + 1 + k];
            uint32_t n = smig_remote_preset(&r, bm);
            if (r.present != before + n)
                abort();
            break;
        }
        }
        check_counts(&r);
    }
    return 0;
}
