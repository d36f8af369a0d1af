/* Hostile snapshot files: whatever the bytes, opening, reading every index entry, block
 * and disk either succeeds or is refused with a line; never a read outside the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/snapshot/snap_file.h"

static const uint8_t *data;
static size_t size;

static int mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    (void)ctx;
    if (off > size || len > size - off)
        return -1;
    memcpy(buf, data + off, len);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    static void *state;
    static uint8_t buf[SNAP_ENCODED_MAX], block[SNAP_BLOCK_SIZE];
    if (!state && !(state = malloc(snap_codec_state_size())))
        return 0;
    data = d;
    size = n;
    struct snap_io io = { NULL, n, mem_read, NULL };
    struct snap_header h;
    char err[SNAP_ERR_LEN];
    if (snap_read_header(&io, &h, err, sizeof(err)))
        return 0;
    snap_verify_regions(&io, &h, buf, 4096, err, sizeof(err));
    for (uint32_t i = 0; i < h.block_count && i < 64; i++)
        snap_read_block(&io, &h, i, state, buf, block, err, sizeof(err));
    for (unsigned i = 0; i < h.disk_count; i++) {
        struct snap_disk_id disk;
        snap_read_disk(&io, &h, i, &disk, err, sizeof(err));
    }
    return 0;
}
