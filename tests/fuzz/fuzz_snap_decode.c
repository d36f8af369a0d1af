/* Hostile snapshot blocks: a header and data from the input must decode to exactly one
 * block or be refused, never read or write out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/snapshot/snap_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void *state;
    static uint8_t dst[SNAP_BLOCK_SIZE];
    if (!state && !(state = malloc(snap_codec_state_size())))
        return 0;
    if (size < 8)
        return 0;
    struct snap_encoded e = {
        .zero_mask = (uint16_t)(data[0] | data[1] << 8),
        .level = (enum snap_level)(data[2] % (SNAP_LEVELS + 1)),
        .raw_len = (uint32_t)(data[3] | data[4] << 8 | data[5] << 16),
        .len = (uint32_t)(size - 8 < SNAP_ENCODED_MAX + 2 ? size - 8 : SNAP_ENCODED_MAX + 2),
    };
    uint8_t *copy = malloc(e.len ? e.len : 1);      /* exactly len bytes: ASan sees overreads */
    memcpy(copy, data + 8, e.len);
    if (snap_decode(state, &e, copy, dst) == 0) {
        /* a decoded block re-encodes to the same pages */
        struct snap_encoded again;
        static uint8_t out[SNAP_ENCODED_MAX], back[SNAP_BLOCK_SIZE];
        snap_encode(state, SNAP_LZ4, dst, out, &again);
        if (snap_decode(state, &again, out, back) != 0 || memcmp(back, dst, sizeof(dst)))
            abort();
    }
    free(copy);
    return 0;
}
