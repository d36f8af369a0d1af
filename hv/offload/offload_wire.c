/* The offload link's wire format (hv/offload/offload_wire.h). */
#include "hv/offload/offload_wire.h"

#include <string.h>

#include "hv/offload/offload.h"
#include "hv/lib/be.h"

static const uint8_t magic[8] = { 'A', 'T', 'O', 'L', 'L', 'O', 'F', 'R' };

#define OFF_GRANT   8
#define OFF_TOKOFF  (OFF_GRANT + GRANT_SIZE)
#define OFF_LENGTH  (OFF_TOKOFF + 8)
#define OFF_GRANULE (OFF_LENGTH + 8)
#define OFF_ZERO    (OFF_GRANULE + 4)
_Static_assert(OFF_ZERO + 4 == OFFLOAD_WIRE_REQUEST_SIZE, "request layout");


void offload_wire_request_encode(const struct offload_wire_request *r,
                                 uint8_t out[OFFLOAD_WIRE_REQUEST_SIZE])
{
    memcpy(out, magic, sizeof magic);
    memcpy(out + OFF_GRANT, r->grant, GRANT_SIZE);
    put_be64(out + OFF_TOKOFF, r->token_offset);
    put_be64(out + OFF_LENGTH, r->length);
    put_be32(out + OFF_GRANULE, r->granule);
    put_be32(out + OFF_ZERO, 0);
}

bool offload_wire_request_decode(const uint8_t *buf, size_t len, struct offload_wire_request *r)
{
    if (len != OFFLOAD_WIRE_REQUEST_SIZE || memcmp(buf, magic, sizeof magic) ||
        be32(buf + OFF_ZERO) != 0)
        return false;
    uint32_t g = be32(buf + OFF_GRANULE);
    if (!g || g > 4096 || (g & (g - 1)))
        return false;
    memcpy(r->grant, buf + OFF_GRANT, GRANT_SIZE);
    r->token_offset = be64(buf + OFF_TOKOFF);
    r->length = be64(buf + OFF_LENGTH);
    r->granule = g;
    return true;
}

void offload_wire_data_header(uint8_t out[OFFLOAD_WIRE_HEADER], uint32_t length)
{
    memset(out, 0, OFFLOAD_WIRE_HEADER);
    out[0] = OFFLOAD_WIRE_DATA;
    put_be32(out + 4, length);
}

void offload_wire_end_header(uint8_t out[OFFLOAD_WIRE_HEADER], int status, size_t text_len,
                             uint64_t sent)
{
    memset(out, 0, OFFLOAD_WIRE_HEADER);
    out[0] = OFFLOAD_WIRE_END;
    out[1] = (uint8_t)-status;
    put_be16(out + 2, (uint16_t)(text_len > OFFLOAD_WIRE_TEXT_MAX ? OFFLOAD_WIRE_TEXT_MAX : text_len));
    put_be64(out + 8, sent);
}

bool offload_wire_frame_decode(const uint8_t h[OFFLOAD_WIRE_HEADER], uint64_t received,
                               uint64_t total, struct offload_wire_frame *f)
{
    memset(f, 0, sizeof(*f));
    f->type = h[0];
    if (h[0] == OFFLOAD_WIRE_DATA) {
        f->length = be32(h + 4);
        return f->length && f->length <= OFFLOAD_CHUNK && received <= total &&
               f->length <= total - received;
    }
    if (h[0] != OFFLOAD_WIRE_END)
        return false;
    f->status = -(int)h[1];
    f->length = be16(h + 2);
    f->sent = be64(h + 8);
    return f->length <= OFFLOAD_WIRE_TEXT_MAX && f->status <= 0 && f->status >= OFFLOAD_E_GRANT;
}
