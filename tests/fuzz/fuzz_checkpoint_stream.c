/* libFuzzer: hostile checkpoint streams (hv/core/checkpoint_stream.h) and the vCPU states
 * in them.  An input that does not start with the magic is sealed as a header section
 * followed by sections (kind, instance, length, payload), so hostile payloads get past the
 * CRCs to the header checks and vcpu_state_load. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/core/checkpoint_stream.h"
#include "hv/core/vcpu_state_desc.h"

#define DEV STATE_ID('D', 'E', 'V', '0')

static uint8_t sealed[1 << 17];
static struct vcpu_state vcpu;

static size_t seal(const uint8_t *data, size_t size)
{
    static const uint32_t ids[] = { CHECKPOINT_ID, STATE_ID('V', 'C', 'P', 'U'), DEV };
    struct state_writer w;
    state_writer_init(&w, sealed, sizeof(sealed));
    while (size >= 4) {
        uint32_t id = ids[data[0] % 3];
        uint16_t instance = data[1];
        size_t len = (size_t)data[2] * 64 + data[3];
        data += 4;
        size -= 4;
        if (len > size)
            len = size;
        state_begin(&w, id, instance, 1, 0);
        state_put_bytes(&w, data, len);
        state_end(&w);
        data += len;
        size -= len;
    }
    return state_writer_finish(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct state_kind dev = { DEV, 1, 1, false };
    char err[STATE_ERR_LEN];
    static struct checkpoint_reader r;
    struct checkpoint_header h;
    if (size < 4 || memcmp(data, STATE_MAGIC, 4) != 0) {
        size = seal(data, size);
        data = sealed;
    }
    if (checkpoint_stream_open(&r, data, size, &dev, 1, &h, err, sizeof(err)) != 0)
        return 0;
    if (h.vcpu_count == 0 || h.vcpu_count > CHECKPOINT_MAX_VCPUS || !memchr(h.name, 0, sizeof(h.name)))
        abort();
    struct state_section s;
    unsigned vcpus = 0;
    while (state_reader_next(&r.r, &s) == 1)
        if (s.id == vcpu_state_desc.id) {
            if (s.instance != vcpus++)
                abort();
            (void)vcpu_state_load(&s, &vcpu, err, sizeof(err));
        }
    if (vcpus != h.vcpu_count)
        abort();
    return 0;
}
