/* The state stream's writer, validating reader and payload cursor (STREAM.md). */
#include "hv/state/state_stream.h"

#include "hv/lib/crc32c.h"
#include "hv/lib/format.h"
#include "hv/lib/le.h"

#include <string.h>

/* Section header offsets. */
enum { SH_ID = 0, SH_INSTANCE = 4, SH_VERSION = 6, SH_FLAGS = 8, SH_RESERVED = 10,
       SH_LENGTH = 12, SH_CRC = 16 };
#define END_VERSION 1u


void state_id_name(uint32_t id, char out[5])
{
    for (unsigned i = 0; i < 4; i++) {
        uint8_t c = (uint8_t)(id >> (8 * i));
        out[i] = c >= 0x20 && c < 0x7f && c != '\'' ? (char)c : '?';
    }
    out[4] = 0;
}

/* CRC of a section: its header without the CRC field, then its payload. */
static uint32_t section_crc(const uint8_t *hdr, const uint8_t *payload, size_t len)
{
    return crc32c(crc32c(0, hdr, SH_CRC), payload, len);
}

/* ---- writer ------------------------------------------------------------------------- */

static void writer_fail(struct state_writer *w, const char *what)
{
    if (w->failed)
        return;
    w->failed = true;
    char name[5];
    state_id_name(w->in_section ? le32(w->buf + w->section_at) : 0, name);
    if (w->in_section)
        fmt_snprintf(w->err, sizeof(w->err), "state: %s in section '%s' (buffer of %zu bytes)",
                     what, name, w->cap);
    else
        fmt_snprintf(w->err, sizeof(w->err), "state: %s (buffer of %zu bytes)", what, w->cap);
}

static bool room(struct state_writer *w, size_t n)
{
    if (w->failed)
        return false;
    if (n > w->cap - w->pos) {
        writer_fail(w, "out of room");
        return false;
    }
    return true;
}

void state_writer_init(struct state_writer *w, void *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->cap = buf ? cap : 0;
    if (!room(w, STATE_HEADER_BYTES))
        return;
    memcpy(w->buf, STATE_MAGIC, 4);
    put_le16(w->buf + 4, STATE_FORMAT_VERSION);
    put_le16(w->buf + 6, 0);
    w->pos = STATE_HEADER_BYTES;
}

static bool write_section_header(struct state_writer *w, uint32_t id, uint16_t instance,
                                 uint16_t version, uint16_t flags)
{
    if (!room(w, STATE_SECTION_HEADER_BYTES))
        return false;
    uint8_t *h = w->buf + w->pos;
    put_le32(h + SH_ID, id);
    put_le16(h + SH_INSTANCE, instance);
    put_le16(h + SH_VERSION, version);
    put_le16(h + SH_FLAGS, flags);
    put_le16(h + SH_RESERVED, 0);
    put_le32(h + SH_LENGTH, 0);
    put_le32(h + SH_CRC, 0);
    w->section_at = w->pos;
    w->pos += STATE_SECTION_HEADER_BYTES;
    return true;
}

bool state_begin(struct state_writer *w, uint32_t id, uint16_t instance, uint16_t version,
                 uint16_t flags)
{
    if (w->in_section)
        writer_fail(w, "a section begun inside another");
    else if (id == STATE_ID_END)
        writer_fail(w, "the end section's id used for a section");
    else if (flags & ~STATE_SEC_KNOWN_FLAGS)
        writer_fail(w, "unknown section flags");
    if (!write_section_header(w, id, instance, version, flags))
        return false;
    w->in_section = true;
    return true;
}

void state_put_bytes(struct state_writer *w, const void *p, size_t n)
{
    if (!w->in_section) {
        writer_fail(w, "a field put outside a section");
        return;
    }
    if (!room(w, n))
        return;
    if (n)
        memcpy(w->buf + w->pos, p, n);
    w->pos += n;
}

void state_put_u8(struct state_writer *w, uint8_t v)
{
    state_put_bytes(w, &v, 1);
}

void state_put_u16(struct state_writer *w, uint16_t v)
{
    uint8_t b[2];
    put_le16(b, v);
    state_put_bytes(w, b, sizeof(b));
}

void state_put_u32(struct state_writer *w, uint32_t v)
{
    uint8_t b[4];
    put_le32(b, v);
    state_put_bytes(w, b, sizeof(b));
}

void state_put_u64(struct state_writer *w, uint64_t v)
{
    uint8_t b[8];
    put_le32(b, (uint32_t)v);
    put_le32(b + 4, (uint32_t)(v >> 32));
    state_put_bytes(w, b, sizeof(b));
}

static void seal_section(struct state_writer *w)
{
    uint8_t *h = w->buf + w->section_at;
    size_t len = w->pos - w->section_at - STATE_SECTION_HEADER_BYTES;
    put_le32(h + SH_LENGTH, (uint32_t)len);
    put_le32(h + SH_CRC, section_crc(h, h + STATE_SECTION_HEADER_BYTES, len));
}

bool state_end(struct state_writer *w)
{
    if (!w->in_section)
        writer_fail(w, "a section ended that was not begun");
    else if (!w->failed &&
             w->pos - w->section_at - STATE_SECTION_HEADER_BYTES > STATE_MAX_SECTION_BYTES)
        writer_fail(w, "payload over 1 GiB");
    if (!w->failed)
        seal_section(w);
    w->in_section = false;
    return !w->failed;
}

size_t state_writer_finish(struct state_writer *w)
{
    if (w->in_section)
        writer_fail(w, "a section left open");
    if (w->failed)
        return 0;
    uint32_t stream_crc = crc32c(0, w->buf, w->pos);
    if (!write_section_header(w, STATE_ID_END, 0, END_VERSION, 0) ||
        !room(w, STATE_END_PAYLOAD_BYTES))
        return 0;
    put_le32(w->buf + w->pos, stream_crc);
    w->pos += STATE_END_PAYLOAD_BYTES;
    seal_section(w);
    return w->pos;
}

/* ---- reader ------------------------------------------------------------------------- */

struct raw_section {
    uint32_t id, len;
    uint16_t instance, version, flags, reserved;
    uint32_t crc;
    const uint8_t *hdr, *payload;
};

static int reader_fail(struct state_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int reader_fail(struct state_reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(r->err, sizeof(r->err), fmt, ap);
    va_end(ap);
    return -1;
}

static void parse_header(const uint8_t *h, struct raw_section *s)
{
    s->hdr = h;
    s->id = le32(h + SH_ID);
    s->instance = le16(h + SH_INSTANCE);
    s->version = le16(h + SH_VERSION);
    s->flags = le16(h + SH_FLAGS);
    s->reserved = le16(h + SH_RESERVED);
    s->len = le32(h + SH_LENGTH);
    s->crc = le32(h + SH_CRC);
    s->payload = h + STATE_SECTION_HEADER_BYTES;
}

/* Reads the section at pos and checks what holds for any section: it fits, its header
 * is well-formed and its CRC matches. */
static int read_section(struct state_reader *r, size_t pos, struct raw_section *s)
{
    size_t left = r->len - pos;
    if (left < STATE_SECTION_HEADER_BYTES)
        return reader_fail(r, "state: truncated: a section header at offset %zu needs %u "
                           "bytes, %zu left (no end section)", pos,
                           STATE_SECTION_HEADER_BYTES, left);
    parse_header(r->buf + pos, s);
    char name[5];
    state_id_name(s->id, name);
    left -= STATE_SECTION_HEADER_BYTES;
    if (s->len > left)
        return reader_fail(r, "state: section '%s' instance %u at offset %zu claims %u bytes, "
                           "only %zu left", name, s->instance, pos, s->len, left);
    if (s->len > STATE_MAX_SECTION_BYTES)
        return reader_fail(r, "state: section '%s' instance %u: %u bytes is over the 1 GiB "
                           "limit", name, s->instance, s->len);
    uint32_t crc = section_crc(s->hdr, s->payload, s->len);
    if (crc != s->crc)
        return reader_fail(r, "state: section '%s' instance %u at offset %zu: CRC-32C "
                           "mismatch (stored %08x, computed %08x)", name, s->instance, pos,
                           s->crc, crc);
    if (s->reserved)
        return reader_fail(r, "state: section '%s' instance %u: reserved field is %u, not 0",
                           name, s->instance, s->reserved);
    if (s->flags & ~STATE_SEC_KNOWN_FLAGS)
        return reader_fail(r, "state: section '%s' instance %u: flags 0x%x not understood",
                           name, s->instance, s->flags);
    return 0;
}

static int check_end(struct state_reader *r, size_t pos, const struct raw_section *s)
{
    if (s->version != END_VERSION || s->instance || s->flags ||
        s->len != STATE_END_PAYLOAD_BYTES)
        return reader_fail(r, "state: end section at offset %zu malformed (version %u, "
                           "instance %u, flags 0x%x, %u bytes)", pos, s->version,
                           s->instance, s->flags, s->len);
    uint32_t stored = le32(s->payload), crc = crc32c(0, r->buf, pos);
    if (stored != crc)
        return reader_fail(r, "state: stream CRC-32C mismatch (stored %08x, computed %08x)",
                           stored, crc);
    size_t after = r->len - pos - STATE_SECTION_HEADER_BYTES - STATE_END_PAYLOAD_BYTES;
    if (after)
        return reader_fail(r, "state: %zu bytes after the end section", after);
    return 0;
}

static const struct state_kind *find_kind(const struct state_reader *r, uint32_t id,
                                          size_t *index)
{
    for (size_t i = 0; i < r->kind_count; i++) {
        if (r->kinds[i].id == id) {
            *index = i;
            return &r->kinds[i];
        }
    }
    return NULL;
}

#define NO_INSTANCE UINT32_MAX

/* Instances of one id come in increasing order (equal too, for kinds that repeat). */
static int check_known(struct state_reader *r, const struct raw_section *s,
                       const struct state_kind *k, uint32_t *last)
{
    char name[5];
    state_id_name(s->id, name);
    if (s->version < k->min_version || s->version > k->max_version)
        return reader_fail(r, "state: section '%s' version %u not understood (this build "
                           "reads %u-%u)", name, s->version, k->min_version, k->max_version);
    if (*last != NO_INSTANCE && s->instance == *last && !k->repeats)
        return reader_fail(r, "state: section '%s' instance %u appears twice", name,
                           s->instance);
    if (*last != NO_INSTANCE && s->instance < *last)
        return reader_fail(r, "state: section '%s' instance %u after instance %u (instances "
                           "come in increasing order)", name, s->instance, *last);
    *last = s->instance;
    return 0;
}

static int check_header(struct state_reader *r)
{
    if (r->len < STATE_HEADER_BYTES)
        return reader_fail(r, "state: truncated: %zu bytes, a stream header needs %u",
                           r->len, STATE_HEADER_BYTES);
    if (memcmp(r->buf, STATE_MAGIC, 4) != 0)
        return reader_fail(r, "state: not a state stream (magic is not '%s')", STATE_MAGIC);
    uint16_t version = le16(r->buf + 4), flags = le16(r->buf + 6);
    if (version != STATE_FORMAT_VERSION)
        return reader_fail(r, "state: format version %u not understood (this build reads %u)",
                           version, STATE_FORMAT_VERSION);
    if (flags)
        return reader_fail(r, "state: stream flags 0x%x not understood", flags);
    return 0;
}

int state_reader_open(struct state_reader *r, const void *buf, size_t len,
                      const struct state_kind *kinds, size_t kind_count)
{
    memset(r, 0, sizeof(*r));
    r->buf = buf;
    r->len = buf ? len : 0;
    r->kinds = kinds;
    r->kind_count = kind_count;
    if (kind_count > STATE_MAX_KINDS)
        return reader_fail(r, "state: a reader of %zu kinds (at most %u)", kind_count,
                           STATE_MAX_KINDS);
    if (check_header(r))
        return -1;
    uint32_t last[STATE_MAX_KINDS];
    for (size_t i = 0; i < STATE_MAX_KINDS; i++)
        last[i] = NO_INSTANCE;
    for (size_t pos = STATE_HEADER_BYTES;;) {
        struct raw_section s;
        if (read_section(r, pos, &s))
            return -1;
        if (s.id == STATE_ID_END) {
            if (check_end(r, pos, &s))
                return -1;
            r->end_at = pos;
            break;
        }
        size_t k = 0;
        const struct state_kind *kind = find_kind(r, s.id, &k);
        char name[5];
        state_id_name(s.id, name);
        if (!kind && !(s.flags & STATE_SEC_SKIPPABLE))
            return reader_fail(r, "state: section '%s' instance %u not understood by this "
                               "build (and not skippable)", name, s.instance);
        if (kind && check_known(r, &s, kind, &last[k]))
            return -1;
        pos += STATE_SECTION_HEADER_BYTES + s.len;
    }
    r->pos = STATE_HEADER_BYTES;
    return 0;
}

int state_reader_next(struct state_reader *r, struct state_section *out)
{
    while (r->end_at && r->pos < r->end_at) {
        struct raw_section s;
        size_t k;
        parse_header(r->buf + r->pos, &s);
        r->pos += STATE_SECTION_HEADER_BYTES + s.len;
        if (!find_kind(r, s.id, &k))
            continue;   /* skippable, checked by open */
        *out = (struct state_section){
            .id = s.id, .instance = s.instance, .version = s.version, .flags = s.flags,
            .payload = s.payload, .len = s.len,
        };
        return 1;
    }
    return 0;
}

/* ---- cursor ------------------------------------------------------------------------- */

void state_cursor_init(struct state_cursor *c, const struct state_section *s)
{
    c->p = s->payload;
    c->len = s->len;
    c->pos = 0;
    c->short_read = false;
}

void state_get_bytes(struct state_cursor *c, void *p, size_t n)
{
    if (n > c->len - c->pos) {
        c->short_read = true;
        c->pos = c->len;
        memset(p, 0, n);
        return;
    }
    if (n)
        memcpy(p, c->p + c->pos, n);
    c->pos += n;
}

uint8_t state_get_u8(struct state_cursor *c)
{
    uint8_t b = 0;
    state_get_bytes(c, &b, 1);
    return b;
}

uint16_t state_get_u16(struct state_cursor *c)
{
    uint8_t b[2];
    state_get_bytes(c, b, sizeof(b));
    return le16(b);
}

uint32_t state_get_u32(struct state_cursor *c)
{
    uint8_t b[4];
    state_get_bytes(c, b, sizeof(b));
    return le32(b);
}

uint64_t state_get_u64(struct state_cursor *c)
{
    uint8_t b[8];
    state_get_bytes(c, b, sizeof(b));
    return le64(b);
}

bool state_cursor_done(const struct state_cursor *c)
{
    return !c->short_read && c->pos == c->len;
}
