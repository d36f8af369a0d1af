#include "hv/migrate/mig_proto.h"

#include <string.h>
#include "hv/lib/crc32c.h"
#include "hv/lib/format.h"
#include "hv/lib/ipv4.h"
#include "hv/lib/le.h"
#include "hv/snapshot/snap_codec.h"


void mig_header_encode(uint8_t out[MIG_HEADER_SIZE], uint16_t type, const void *payload,
                       uint32_t len)
{
    put_le32(out, MIG_MAGIC);
    put_le16(out + 4, type);
    put_le16(out + 6, 0);
    put_le32(out + 8, len);
    put_le32(out + 12, crc32c(0, payload, len));
}

int mig_header_decode(const uint8_t in[MIG_HEADER_SIZE], struct mig_header *h, char *err,
                      size_t err_size)
{
    h->type = le16(in + 4);
    h->length = le32(in + 8);
    h->crc = le32(in + 12);
    if (le32(in) != MIG_MAGIC) {
        fmt_snprintf(err, err_size, "not a migration stream (magic 0x%08x)", le32(in));
        return -1;
    }
    if (!h->type || h->type > MIG_MSG_MAX || le16(in + 6)) {
        fmt_snprintf(err, err_size, "unknown message type %u", h->type);
        return -1;
    }
    if (h->length > MIG_MAX_PAYLOAD) {
        fmt_snprintf(err, err_size, "message of %u bytes (at most %u)", h->length,
                     MIG_MAX_PAYLOAD);
        return -1;
    }
    return 0;
}

bool mig_payload_ok(const struct mig_header *h, const void *payload)
{
    return crc32c(0, payload, h->length) == h->crc;
}

static bool name_valid(const char *s, size_t cap)
{
    size_t n = 0;
    while (n < cap && s[n])
        n++;
    if (!n || n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '-'))
            return false;
    return true;
}

size_t mig_hello_encode(const struct mig_hello *h, uint8_t *out, size_t cap)
{
    size_t n = MIG_HELLO_FIXED + h->manifest_len;
    if (n > cap || n > MIG_MAX_PAYLOAD)
        return 0;
    put_le32(out, h->version);
    put_le64(out + 4, h->ram_bytes);
    put_le32(out + 12, h->vcpus);
    memset(out + 16, 0, MIG_NAME_LEN);
    for (size_t i = 0; i < MIG_NAME_LEN - 1 && h->name[i]; i++)
        out[16 + i] = (uint8_t)h->name[i];
    memcpy(out + MIG_HELLO_FIXED, h->manifest, h->manifest_len);
    return n;
}

int mig_hello_decode(const uint8_t *p, uint32_t len, struct mig_hello *h, char *err,
                     size_t err_size)
{
    if (len < MIG_HELLO_FIXED) {
        fmt_snprintf(err, err_size, "HELLO of %u bytes", len);
        return -1;
    }
    h->version = le32(p);
    h->ram_bytes = le64(p + 4);
    h->vcpus = le32(p + 12);
    memcpy(h->name, p + 16, MIG_NAME_LEN);
    h->manifest = (const char *)p + MIG_HELLO_FIXED;
    h->manifest_len = len - MIG_HELLO_FIXED;
    if (h->version != MIG_VERSION) {
        fmt_snprintf(err, err_size, "protocol version %u (this host speaks %u)", h->version,
                     MIG_VERSION);
        return -1;
    }
    if (!h->ram_bytes || h->ram_bytes % MIG_PAGE_SIZE || h->ram_bytes > MIG_MAX_RAM) {
        fmt_snprintf(err, err_size, "RAM of %lu bytes", (unsigned long)h->ram_bytes);
        return -1;
    }
    if (!h->vcpus || h->vcpus > 64) {
        fmt_snprintf(err, err_size, "%u vCPUs", h->vcpus);
        return -1;
    }
    if (!name_valid(h->name, MIG_NAME_LEN)) {
        fmt_snprintf(err, err_size, "not a partition name");
        return -1;
    }
    if (!h->manifest_len) {
        fmt_snprintf(err, err_size, "no manifest section");
        return -1;
    }
    return 0;
}

size_t mig_reply_encode(const struct mig_reply *r, uint8_t *out, size_t cap)
{
    size_t t = strnlen(r->text, sizeof(r->text) - 1);
    if (8 + t > cap)
        return 0;
    put_le32(out, r->status);
    put_le32(out + 4, r->ram_crc);
    memcpy(out + 8, r->text, t);
    return 8 + t;
}

int mig_reply_decode(const uint8_t *p, uint32_t len, struct mig_reply *r, char *err,
                     size_t err_size)
{
    if (len < 8 || len - 8 >= sizeof(r->text)) {
        fmt_snprintf(err, err_size, "reply of %u bytes", len);
        return -1;
    }
    r->status = le32(p);
    r->ram_crc = le32(p + 4);
    if (r->status > MIG_FAILED) {
        fmt_snprintf(err, err_size, "reply status %u", r->status);
        return -1;
    }
    for (uint32_t i = 8; i < len; i++)
        r->text[i - 8] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
    r->text[len - 8] = '\0';
    return 0;
}

size_t mig_round_encode(uint32_t round, uint32_t pages, uint8_t *out, size_t cap)
{
    if (cap < 8)
        return 0;
    put_le32(out, round);
    put_le32(out + 4, pages);
    return 8;
}

int mig_round_decode(const uint8_t *p, uint32_t len, uint32_t *round, uint32_t *pages)
{
    if (len != 8)
        return -1;
    *round = le32(p);
    *pages = le32(p + 4);
    return 0;
}

size_t mig_state_encode(const struct mig_state *s, uint8_t *out, size_t cap)
{
    size_t n = MIG_STATE_FIXED + (size_t)s->stream_len;
    if (n > cap || n > MIG_MAX_PAYLOAD)
        return 0;
    put_le64(out, s->guest_tsc0);
    put_le32(out + 8, s->ram_crc);
    memcpy(out + MIG_STATE_FIXED, s->stream, s->stream_len);
    return n;
}

int mig_state_decode(const uint8_t *p, uint32_t len, struct mig_state *s, char *err,
                     size_t err_size)
{
    if (len <= MIG_STATE_FIXED) {
        fmt_snprintf(err, err_size, "STATE of %u bytes", len);
        return -1;
    }
    s->guest_tsc0 = le64(p);
    s->ram_crc = le32(p + 8);
    s->stream = p + MIG_STATE_FIXED;
    s->stream_len = len - MIG_STATE_FIXED;
    return 0;
}

size_t mig_batch_encode(void *codec, unsigned level, const uint32_t *pfn, uint32_t count,
                        uint8_t *src, uint8_t *out, struct mig_batch *b)
{
    struct snap_encoded e;
    uint8_t *data = out + MIG_BATCH_HEADER + count * 4u;
    /* The codec takes whole blocks: pages past count are zero pages, in the mask, and
     * the mask on the wire keeps only the first count bits. */
    if (count < MIG_BATCH_PAGES)
        memset(src + (size_t)count * MIG_PAGE_SIZE, 0,
               (size_t)(MIG_BATCH_PAGES - count) * MIG_PAGE_SIZE);
    snap_encode(codec, (enum snap_level)level, src, data, &e);
    b->count = count;
    b->zero_mask = (uint16_t)(e.zero_mask & ((1u << count) - 1u));
    b->level = (uint8_t)e.level;
    b->raw_len = e.raw_len;
    b->data_len = e.len;
    b->data = data;
    put_le16(out, (uint16_t)count);
    put_le16(out + 2, b->zero_mask);
    out[4] = b->level;
    out[5] = out[6] = out[7] = 0;
    put_le32(out + 8, e.raw_len);
    put_le32(out + 12, e.len);
    for (uint32_t i = 0; i < count; i++) {
        b->pfn[i] = pfn[i];
        put_le32(out + MIG_BATCH_HEADER + i * 4u, pfn[i]);
    }
    return MIG_BATCH_HEADER + count * 4u + e.len;
}

int mig_batch_decode(void *codec, const uint8_t *p, uint32_t len, uint64_t ram_pages,
                     struct mig_batch *b, uint8_t *dst, char *err, size_t err_size)
{
    if (len < MIG_BATCH_HEADER) {
        fmt_snprintf(err, err_size, "page batch of %u bytes", len);
        return -1;
    }
    b->count = le16(p);
    b->zero_mask = le16(p + 2);
    b->level = p[4];
    b->raw_len = le32(p + 8);
    b->data_len = le32(p + 12);
    if (!b->count || b->count > MIG_BATCH_PAGES || p[5] || p[6] || p[7] ||
        (b->count < 16 && (b->zero_mask >> b->count))) {
        fmt_snprintf(err, err_size, "page batch header (count %u, mask 0x%04x)", b->count,
                     b->zero_mask);
        return -1;
    }
    uint32_t head = MIG_BATCH_HEADER + b->count * 4u;
    if (len < head || len - head != b->data_len || b->level >= SNAP_LEVELS) {
        fmt_snprintf(err, err_size, "page batch of %u bytes says %u bytes of data at level %u",
                     len, b->data_len, b->level);
        return -1;
    }
    for (uint32_t i = 0; i < b->count; i++) {
        b->pfn[i] = le32(p + MIG_BATCH_HEADER + i * 4u);
        if (b->pfn[i] >= ram_pages) {
            fmt_snprintf(err, err_size, "page %u outside RAM of %lu pages", b->pfn[i],
                         (unsigned long)ram_pages);
            return -1;
        }
    }
    b->data = p + head;
    struct snap_encoded e = {
        .zero_mask = (uint16_t)(b->zero_mask | (uint16_t)~((1u << b->count) - 1u)),
        .level = (enum snap_level)b->level, .raw_len = b->raw_len, .len = b->data_len,
    };
    if (snap_decode(codec, &e, b->data, dst)) {
        fmt_snprintf(err, err_size, "page batch data does not decode to its %u pages",
                     b->count);
        return -1;
    }
    return 0;
}

bool mig_parse_host(const char *s, uint32_t *ip, uint16_t *port)
{
    return ipv4_parse_host(s, MIG_DEFAULT_PORT, ip, port);
}
