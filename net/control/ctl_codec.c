/* Encoding and validating control messages: the header and TLV records. */
#include "net/control/ctl_codec.h"
#include <string.h>
#include "hv/lib/be.h"


void ctl_header_encode(uint8_t out[CTL_HEADER_SIZE], uint16_t type, uint32_t request_id,
                       uint32_t length)
{
    put_be32(out, CTL_MAGIC);
    put_be16(out + 4, CTL_VERSION);
    put_be16(out + 6, type);
    put_be32(out + 8, request_id);
    put_be32(out + 12, length);
}

void ctl_header_decode(const uint8_t in[CTL_HEADER_SIZE], struct ctl_header *h)
{
    h->magic = be32(in);
    h->version = be16(in + 4);
    h->type = be16(in + 6);
    h->request_id = be32(in + 8);
    h->length = be32(in + 12);
}

uint16_t ctl_header_check(const struct ctl_header *h, uint32_t max_payload)
{
    if (h->magic != CTL_MAGIC)
        return CTL_ERR_MALFORMED;
    if (h->version != CTL_VERSION)
        return CTL_ERR_VERSION;
    if (h->length > max_payload)
        return CTL_ERR_TOO_LARGE;
    return CTL_OK;
}

void ctl_tlv_writer_init(struct ctl_tlv_writer *w, void *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = false;
}

static uint8_t *reserve(struct ctl_tlv_writer *w, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = true;
        return NULL;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

bool ctl_put_bytes(struct ctl_tlv_writer *w, uint16_t tag, const void *v, size_t n)
{
    if (n > 0xffff) {
        w->overflow = true;
        return false;
    }
    uint8_t *p = reserve(w, CTL_TLV_HEADER_SIZE + n);
    if (!p)
        return false;
    put_be16(p, tag);
    put_be16(p + 2, (uint16_t)n);
    if (n)
        memcpy(p + CTL_TLV_HEADER_SIZE, v, n);
    return true;
}

bool ctl_put_u8(struct ctl_tlv_writer *w, uint16_t tag, uint8_t v)
{
    return ctl_put_bytes(w, tag, &v, 1);
}

bool ctl_put_u16(struct ctl_tlv_writer *w, uint16_t tag, uint16_t v)
{
    uint8_t b[2];
    put_be16(b, v);
    return ctl_put_bytes(w, tag, b, sizeof b);
}

bool ctl_put_u32(struct ctl_tlv_writer *w, uint16_t tag, uint32_t v)
{
    uint8_t b[4];
    put_be32(b, v);
    return ctl_put_bytes(w, tag, b, sizeof b);
}

bool ctl_put_u64(struct ctl_tlv_writer *w, uint16_t tag, uint64_t v)
{
    uint8_t b[8];
    put_be32(b, (uint32_t)(v >> 32));
    put_be32(b + 4, (uint32_t)v);
    return ctl_put_bytes(w, tag, b, sizeof b);
}

bool ctl_put_str(struct ctl_tlv_writer *w, uint16_t tag, const char *s)
{
    return ctl_put_bytes(w, tag, s, strlen(s));
}

size_t ctl_put_open(struct ctl_tlv_writer *w, uint16_t tag)
{
    size_t mark = w->len;
    uint8_t *p = reserve(w, CTL_TLV_HEADER_SIZE);
    if (p) {
        put_be16(p, tag);
        put_be16(p + 2, 0);
    }
    return mark;
}

bool ctl_put_close(struct ctl_tlv_writer *w, size_t mark)
{
    if (w->overflow)
        return false;
    size_t n = w->len - mark - CTL_TLV_HEADER_SIZE;
    if (n > 0xffff) {
        w->overflow = true;
        return false;
    }
    put_be16(w->buf + mark + 2, (uint16_t)n);
    return true;
}

void ctl_tlv_reader_init(struct ctl_tlv_reader *r, const void *buf, size_t len)
{
    r->p = buf;
    r->left = len;
}

int ctl_tlv_next(struct ctl_tlv_reader *r, struct ctl_tlv *t)
{
    if (r->left == 0)
        return 0;
    if (r->left < CTL_TLV_HEADER_SIZE)
        return -1;
    uint16_t len = be16(r->p + 2);
    if (len > r->left - CTL_TLV_HEADER_SIZE)
        return -1;
    t->tag = be16(r->p);
    t->len = len;
    t->value = r->p + CTL_TLV_HEADER_SIZE;
    r->p += CTL_TLV_HEADER_SIZE + len;
    r->left -= CTL_TLV_HEADER_SIZE + len;
    return 1;
}

bool ctl_tlv_valid(const void *buf, size_t len)
{
    struct ctl_tlv_reader r;
    struct ctl_tlv t;
    int rc;
    ctl_tlv_reader_init(&r, buf, len);
    while ((rc = ctl_tlv_next(&r, &t)) > 0) {
    }
    return rc == 0;
}

bool ctl_tlv_find(const void *buf, size_t len, uint16_t tag, struct ctl_tlv *t)
{
    struct ctl_tlv_reader r;
    ctl_tlv_reader_init(&r, buf, len);
    while (ctl_tlv_next(&r, t) > 0)
        if (t->tag == tag)
            return true;
    return false;
}

bool ctl_tlv_u8(const struct ctl_tlv *t, uint8_t *v)
{
    if (t->len != 1)
        return false;
    *v = t->value[0];
    return true;
}

bool ctl_tlv_u16(const struct ctl_tlv *t, uint16_t *v)
{
    if (t->len != 2)
        return false;
    *v = be16(t->value);
    return true;
}

bool ctl_tlv_u32(const struct ctl_tlv *t, uint32_t *v)
{
    if (t->len != 4)
        return false;
    *v = be32(t->value);
    return true;
}

bool ctl_tlv_u64(const struct ctl_tlv *t, uint64_t *v)
{
    if (t->len != 8)
        return false;
    *v = ((uint64_t)be32(t->value) << 32) | be32(t->value + 4);
    return true;
}

bool ctl_tlv_text(const struct ctl_tlv *t, char *out, size_t cap)
{
    if (cap == 0 || t->len >= cap)
        return false;
    for (size_t i = 0; i < t->len; i++) {
        uint8_t c = t->value[i];
        if ((c < 0x20 && c != '\n' && c != '\t') || c >= 0x7f)
            return false;
    }
    memcpy(out, t->value, t->len);
    out[t->len] = '\0';
    return true;
}

bool ctl_name_valid(const char *s, size_t n)
{
    if (n == 0 || n > CTL_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

bool ctl_tlv_name(const struct ctl_tlv *t, char out[CTL_NAME_MAX + 1])
{
    if (!ctl_name_valid((const char *)t->value, t->len))
        return false;
    memcpy(out, t->value, t->len);
    out[t->len] = '\0';
    return true;
}

size_t ctl_message_build(void *out, size_t cap, uint16_t type, uint32_t request_id,
                         const void *payload, size_t len)
{
    if (cap < CTL_HEADER_SIZE || len > cap - CTL_HEADER_SIZE || len > UINT32_MAX)
        return 0;
    ctl_header_encode(out, type, request_id, (uint32_t)len);
    if (len)
        memmove((uint8_t *)out + CTL_HEADER_SIZE, payload, len);
    return CTL_HEADER_SIZE + len;
}

const char *ctl_status_name(uint16_t status)
{
    switch (status) {
    case CTL_OK: return "ok";
    case CTL_ERR_MALFORMED: return "malformed message";
    case CTL_ERR_UNKNOWN_TYPE: return "unknown message type";
    case CTL_ERR_TOO_LARGE: return "message too large";
    case CTL_ERR_VERSION: return "protocol version mismatch";
    case CTL_ERR_UNAUTHENTICATED: return "unauthenticated";
    case CTL_ERR_TRUNCATED: return "truncated message";
    case CTL_ERR_NOT_FOUND: return "not found";
    case CTL_ERR_BAD_STATE: return "wrong state";
    case CTL_ERR_BAD_ARGUMENT: return "bad argument";
    case CTL_ERR_BUSY: return "busy";
    case CTL_ERR_UNSUPPORTED: return "unsupported";
    case CTL_ERR_INTERNAL: return "internal error";
    default: return "unknown error";
    }
}

const char *ctl_partition_state_name(uint8_t state)
{
    static const char *const names[] = { "stopped", "starting", "running", "stopping", "failed" };
    return state < sizeof names / sizeof names[0] ? names[state] : "unknown";
}
