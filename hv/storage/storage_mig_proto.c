/* The storage-migration protocol: framing and messages (storage_mig_proto.h). */
#include "hv/storage/storage_mig_proto.h"

#include <string.h>

#include "hv/lib/crc32c.h"
#include "hv/lib/format.h"
#include "hv/lib/le.h"
#include "hv/storage/storage_mig_resume.h"


static int fail(char *err, size_t err_size, const char *what)
{
    fmt_snprintf(err, err_size, "%s", what);
    return -1;
}

void smig_header_encode(uint8_t out[SMIG_HEADER_SIZE], uint16_t type, const void *payload,
                        uint32_t len)
{
    put_le32(out, SMIG_MAGIC);
    put_le16(out + 4, type);
    put_le16(out + 6, 0);
    put_le32(out + 8, len);
    put_le32(out + 12, crc32c(0, payload, len));
}

int smig_header_decode(const uint8_t in[SMIG_HEADER_SIZE], struct smig_header *h, char *err,
                       size_t err_size)
{
    h->type = le16(in + 4);
    h->length = le32(in + 8);
    h->crc = le32(in + 12);
    if (le32(in) != SMIG_MAGIC) {
        fmt_snprintf(err, err_size, "not a storage-migration stream (magic 0x%08x)", le32(in));
        return -1;
    }
    bool liveness = h->type == SMIG_MSG_KEEPALIVE || h->type == SMIG_MSG_RESUME;
    if (!h->type || (h->type > SMIG_MSG_MAX && !liveness) || le16(in + 6)) {
        fmt_snprintf(err, err_size, "unknown message type %u", h->type);
        return -1;
    }
    if (h->length > SMIG_MAX_PAYLOAD) {
        fmt_snprintf(err, err_size, "a message of %u bytes (at most %u)", h->length,
                     SMIG_MAX_PAYLOAD);
        return -1;
    }
    return 0;
}

bool smig_payload_ok(const struct smig_header *h, const void *payload)
{
    return crc32c(0, payload, h->length) == h->crc;
}

bool smig_path_ok(const char *s)
{
    size_t n = strlen(s);
    if (!n || s[n - 1] == '/' || strstr(s, ".."))
        return false;
    for (const char *c = s; *c; c++)
        if (*c <= ' ' || *c > '~')
            return false;
    return true;
}

/* A terminated string field of `cap` bytes on the wire into out (same size): valid path. */
static bool get_path(const uint8_t *in, char *out)
{
    if (!memchr(in, 0, SMIG_NAME_LEN))
        return false;
    memcpy(out, in, SMIG_NAME_LEN);
    return smig_path_ok(out);
}

static void put_str(uint8_t *out, const char *s, size_t cap)
{
    size_t n = strnlen(s, cap - 1);
    memset(out, 0, cap);
    memcpy(out, s, n);
}

size_t smig_hello_encode(const struct smig_hello *h, uint8_t *out, size_t cap)
{
    uint32_t parents = h->parents > SMIG_MAX_PARENTS ? SMIG_MAX_PARENTS : h->parents;
    size_t len = 32 + SMIG_NAME_LEN + parents * (16 + SMIG_NAME_LEN);
    if (cap < len)
        return 0;
    put_le32(out, h->version);
    put_le32(out + 4, h->flags);
    put_le64(out + 8, h->disk_size);
    put_le32(out + 16, h->sector_size);
    put_le32(out + 20, h->block_size);
    put_le32(out + 24, parents);
    put_le32(out + 28, 0);
    put_str(out + 32, h->name, SMIG_NAME_LEN);
    uint8_t *p = out + 32 + SMIG_NAME_LEN;
    for (uint32_t i = 0; i < parents; i++, p += 16 + SMIG_NAME_LEN) {
        memcpy(p, h->parent[i].data_write.b, 16);
        put_str(p + 16, h->parent[i].name, SMIG_NAME_LEN);
    }
    return len;
}

int smig_hello_decode(const uint8_t *in, uint32_t len, struct smig_hello *h, char *err,
                      size_t err_size)
{
    memset(h, 0, sizeof(*h));
    if (len < 32 + SMIG_NAME_LEN)
        return fail(err, err_size, "a HELLO too short");
    h->version = le32(in);
    h->flags = le32(in + 4);
    h->disk_size = le64(in + 8);
    h->sector_size = le32(in + 16);
    h->block_size = le32(in + 20);
    h->parents = le32(in + 24);
    if (h->version != SMIG_VERSION)
        return fail(err, err_size, "a HELLO of another protocol version");
    if (h->flags & ~(SMIG_HELLO_VERIFY | SMIG_HELLO_AFTER | SMIG_HELLO_AROUND) ||
        le32(in + 28))
        return fail(err, err_size, "a HELLO with unknown flags");
    if ((h->flags & SMIG_HELLO_AFTER) && (h->flags & SMIG_HELLO_AROUND))
        return fail(err, err_size, "a HELLO both after and around");
    if (h->sector_size != 512 && h->sector_size != 4096)
        return fail(err, err_size, "a HELLO with a sector size other than 512 or 4096");
    if (!h->disk_size || h->disk_size % h->sector_size || h->disk_size > SMIG_MAX_DISK)
        return fail(err, err_size, "a HELLO with a bad disk size");
    if (h->block_size < SMIG_UNIT || h->block_size > 256u * SMIG_UNIT ||
        (h->block_size & (h->block_size - 1)))
        return fail(err, err_size, "a HELLO with a bad block size");
    if (h->parents > SMIG_MAX_PARENTS ||
        len != 32 + SMIG_NAME_LEN + h->parents * (16 + SMIG_NAME_LEN))
        return fail(err, err_size, "a HELLO whose parents do not match its length");
    if (!get_path(in + 32, h->name))
        return fail(err, err_size, "a HELLO with a bad pool path");
    const uint8_t *p = in + 32 + SMIG_NAME_LEN;
    for (uint32_t i = 0; i < h->parents; i++, p += 16 + SMIG_NAME_LEN) {
        memcpy(h->parent[i].data_write.b, p, 16);
        if (!get_path(p + 16, h->parent[i].name))
            return fail(err, err_size, "a HELLO with a bad parent path");
    }
    return 0;
}

size_t smig_reply_encode(const struct smig_reply *r, uint8_t *out, size_t cap)
{
    if (cap < SMIG_REPLY_SIZE)
        return 0;
    put_le32(out, r->status);
    put_le32(out + 4, r->crc);
    put_le32(out + 8, (uint32_t)r->parent_held);
    put_le32(out + 12, 0);
    put_le64(out + 16, r->bytes);
    put_str(out + 24, r->text, SMIG_TEXT_LEN);
    return SMIG_REPLY_SIZE;
}

int smig_reply_decode(const uint8_t *in, uint32_t len, struct smig_reply *r, char *err,
                      size_t err_size)
{
    memset(r, 0, sizeof(*r));
    if (len != SMIG_REPLY_SIZE)
        return fail(err, err_size, "a reply of the wrong size");
    r->status = le32(in);
    r->crc = le32(in + 4);
    r->parent_held = (int32_t)le32(in + 8);
    r->bytes = le64(in + 16);
    if (r->status > SMIG_FAILED || le32(in + 12) || r->parent_held < -1 ||
        r->parent_held >= (int32_t)SMIG_MAX_PARENTS)
        return fail(err, err_size, "a malformed reply");
    memcpy(r->text, in + 24, SMIG_TEXT_LEN - 1);
    r->text[SMIG_TEXT_LEN - 1] = '\0';
    for (char *c = r->text; *c; c++)
        if (*c < ' ' || *c > '~')
            *c = '?';
    return 0;
}

uint32_t smig_data_head_encode(uint8_t out[SMIG_DATA_HEADER], uint64_t offset, uint32_t length,
                               uint32_t flags)
{
    put_le64(out, offset);
    put_le32(out + 8, length);
    put_le32(out + 12, flags);
    return SMIG_DATA_HEADER + (flags & SMIG_DATA_ZERO ? 0 : length);
}

static bool range_ok(uint64_t offset, uint32_t length, uint64_t disk_size, uint32_t sector_size)
{
    return length && length <= SMIG_UNIT && sector_size && !(offset % sector_size) &&
           !(length % sector_size) && offset <= disk_size && length <= disk_size - offset;
}

int smig_data_decode(const uint8_t *in, uint32_t len, uint64_t disk_size, uint32_t sector_size,
                     struct smig_data *d, char *err, size_t err_size)
{
    memset(d, 0, sizeof(*d));
    if (len < SMIG_DATA_HEADER)
        return fail(err, err_size, "a DATA message too short");
    d->offset = le64(in);
    d->length = le32(in + 8);
    d->flags = le32(in + 12);
    if (d->flags & ~(SMIG_DATA_ZERO | SMIG_DATA_FETCHED))
        return fail(err, err_size, "a DATA message with unknown flags");
    if (!range_ok(d->offset, d->length, disk_size, sector_size))
        return fail(err, err_size, "a DATA range outside the disk or off its sectors");
    uint32_t want = SMIG_DATA_HEADER + (d->flags & SMIG_DATA_ZERO ? 0 : d->length);
    if (len != want)
        return fail(err, err_size, "a DATA message whose length does not match its range");
    d->bytes = d->flags & SMIG_DATA_ZERO ? NULL : in + SMIG_DATA_HEADER;
    return 0;
}

size_t smig_read_encode(const struct smig_read *r, uint8_t *out, size_t cap)
{
    if (cap < 16)
        return 0;
    put_le64(out, r->offset);
    put_le32(out + 8, r->length);
    put_le32(out + 12, 0);
    return 16;
}

int smig_read_decode(const uint8_t *in, uint32_t len, uint64_t disk_size, uint32_t sector_size,
                     struct smig_read *r, char *err, size_t err_size)
{
    memset(r, 0, sizeof(*r));
    if (len != 16)
        return fail(err, err_size, "a READ of the wrong size");
    r->offset = le64(in);
    r->length = le32(in + 8);
    if (le32(in + 12))
        return fail(err, err_size, "a READ with reserved bits set");
    if (!range_ok(r->offset, r->length, disk_size, sector_size))
        return fail(err, err_size, "a READ range outside the disk or off its sectors");
    return 0;
}

size_t smig_commit_encode(const struct smig_commit *c, uint8_t *out, size_t cap)
{
    if (cap < 16)
        return 0;
    put_le32(out, c->flags);
    put_le32(out + 4, c->crc);
    put_le64(out + 8, c->bytes);
    return 16;
}

int smig_commit_decode(const uint8_t *in, uint32_t len, struct smig_commit *c, char *err,
                       size_t err_size)
{
    memset(c, 0, sizeof(*c));
    if (len != 16)
        return fail(err, err_size, "a COMMIT of the wrong size");
    c->flags = le32(in);
    c->crc = le32(in + 4);
    c->bytes = le64(in + 8);
    if (c->flags & ~SMIG_COMMIT_CRC)
        return fail(err, err_size, "a COMMIT with unknown flags");
    return 0;
}

size_t smig_abort_encode(const char *why, uint8_t *out, size_t cap)
{
    size_t n = strnlen(why, SMIG_TEXT_LEN - 1);
    if (n > cap)
        n = cap;
    memcpy(out, why, n);
    return n;
}

void smig_abort_decode(const uint8_t *in, uint32_t len, char *out, size_t out_size)
{
    size_t n = 0;
    for (uint32_t i = 0; i < len && n + 1 < out_size; i++)
        out[n++] = in[i] >= ' ' && in[i] <= '~' ? (char)in[i] : '?';
    if (out_size)
        out[n] = '\0';
}

int smig_parent_held(const struct smig_hello *h,
                     bool (*holds)(void *ctx, const char *name, const struct guid *g),
                     void *ctx)
{
    for (uint32_t i = 0; i < h->parents && i < SMIG_MAX_PARENTS; i++)
        if (holds(ctx, h->parent[i].name, &h->parent[i].data_write))
            return (int)i;
    return -1;
}

static bool number(const char **s, unsigned max_digits, uint32_t max, uint32_t *out)
{
    uint32_t n = 0;
    unsigned digits = 0;
    while (**s >= '0' && **s <= '9' && digits <= max_digits) {
        n = n * 10 + (uint32_t)(*(*s)++ - '0');
        digits++;
    }
    *out = n;
    return digits && digits <= max_digits && n <= max;
}

bool smig_parse_host(const char *s, uint16_t default_port, uint32_t *ip, uint16_t *port)
{
    uint32_t v = 0, n, p = default_port;
    for (int part = 0; part < 4; part++) {
        if (!number(&s, 3, 255, &n))
            return false;
        v = v << 8 | n;
        if (part < 3 && *s++ != '.')
            return false;
    }
    if (*s == ':' && (s++, !number(&s, 5, 65535, &p) || !p))
        return false;
    if (*s)
        return false;
    *ip = v;
    *port = (uint16_t)p;
    return true;
}
