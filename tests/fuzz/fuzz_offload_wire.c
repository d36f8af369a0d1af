/* libFuzzer: hostile bytes on the offload link (hv/offload/offload_wire.c): as a request
 * (what A reads from any key) and as frame headers (what B reads from A), with the input's
 * first 16 bytes as B's received and total counts.  A decoded request re-encodes to the
 * same bytes; a data frame accepted never goes past the total. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/offload/offload.h"
#include "hv/offload/offload_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct offload_wire_request r;
    if (offload_wire_request_decode(data, size, &r)) {
        uint8_t again[OFFLOAD_WIRE_REQUEST_SIZE];
        offload_wire_request_encode(&r, again);
        if (memcmp(again, data, sizeof again))
            abort();
    }
    if (size < 16)
        return 0;
    uint64_t received, total;
    memcpy(&received, data, 8);
    memcpy(&total, data + 8, 8);
    for (size_t off = 16; off + OFFLOAD_WIRE_HEADER <= size; off += OFFLOAD_WIRE_HEADER) {
        struct offload_wire_frame f;
        if (!offload_wire_frame_decode(data + off, received, total, &f))
            continue;
        if (f.type == OFFLOAD_WIRE_DATA &&
            (!f.length || f.length > OFFLOAD_CHUNK || received > total || f.length > total - received))
            abort();
        if (f.type == OFFLOAD_WIRE_END && f.length > OFFLOAD_WIRE_TEXT_MAX)
            abort();
    }
    return 0;
}
