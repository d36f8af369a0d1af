/*
 * The state stream: one portable, versioned byte format for saved partition state (vCPUs,
 * devices, later RAM descriptors), specified byte by byte in hv/state/STREAM.md.
 *
 * A stream is a header, then sections, each tagged with a four-character id and an
 * instance number ('LAPC' instance 2 is vCPU 2's LAPIC), length-prefixed, versioned and
 * covered by its own CRC-32C, then an end section holding a CRC-32C of everything before
 * it.  All integers are little-endian.
 *
 * Writing: state_writer_init() on a caller's buffer, then per section state_begin(),
 * state_put_*() and state_end(), then state_writer_finish().  Running out of room is
 * sticky: the puts do nothing after it, and state_end() / state_writer_finish() report it.
 *
 * Reading: state_reader_open() validates the whole stream before anything is handed out
 * (header, every length, every CRC, the end CRC, section ids and versions against the
 * caller's table of kinds, duplicate instances); only then does state_reader_next() give
 * the sections one by one.  Unknown sections are refused unless their writer flagged them
 * skippable, in which case the reader skips them.  Every refusal is one line in r->err,
 * such as "state: section 'LAPC' version 3 not understood (this build reads 1-2)".
 * Portable: no allocation, no hardware.
 */
#ifndef ATOLL_HV_STATE_STATE_STREAM_H
#define ATOLL_HV_STATE_STATE_STREAM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATE_MAGIC            "ATSS"
#define STATE_FORMAT_VERSION   1u
#define STATE_HEADER_BYTES     8u
#define STATE_SECTION_HEADER_BYTES 20u
#define STATE_END_PAYLOAD_BYTES 4u
#define STATE_ERR_LEN          160
#define STATE_MAX_KINDS        32       /* section kinds one reader knows */
#define STATE_MAX_SECTION_BYTES 0x40000000u   /* 1 GiB: larger payloads are refused */

/* A section id from four characters, stored in this byte order: STATE_ID('L','A','P','C'). */
#define STATE_ID(a, b, c, d) \
    ((uint32_t)(uint8_t)(a) | (uint32_t)(uint8_t)(b) << 8 | \
     (uint32_t)(uint8_t)(c) << 16 | (uint32_t)(uint8_t)(d) << 24)
#define STATE_ID_END STATE_ID('E', 'N', 'D', '.')

/* Section flags (what the writer says about a section). */
#define STATE_SEC_SKIPPABLE 0x0001u     /* a reader that does not know the id may skip it */
#define STATE_SEC_KNOWN_FLAGS STATE_SEC_SKIPPABLE

struct state_writer {
    uint8_t *buf;
    size_t cap, pos;
    size_t section_at;          /* offset of the open section's header */
    bool in_section, failed;
    char err[STATE_ERR_LEN];
};

/* Starts a stream in buf[0..cap): writes the stream header. */
void state_writer_init(struct state_writer *w, void *buf, size_t cap);
/* Opens a section; false (and the writer failed) if one is open or it does not fit. */
bool state_begin(struct state_writer *w, uint32_t id, uint16_t instance, uint16_t version,
                 uint16_t flags);
void state_put_u8(struct state_writer *w, uint8_t v);
void state_put_u16(struct state_writer *w, uint16_t v);
void state_put_u32(struct state_writer *w, uint32_t v);
void state_put_u64(struct state_writer *w, uint64_t v);
void state_put_bytes(struct state_writer *w, const void *p, size_t n);
/* Closes the open section: fills in its length and CRC.  False if anything failed. */
bool state_end(struct state_writer *w);
/* Writes the end section.  Returns the stream's length, or 0 with w->err set. */
size_t state_writer_finish(struct state_writer *w);

/* What a reader knows about one section id. */
struct state_kind {
    uint32_t id;
    uint16_t min_version, max_version;  /* versions this build reads */
    bool repeats;                       /* the same instance may appear more than once */
};

/* A validated section, handed out by state_reader_next(). */
struct state_section {
    uint32_t id;
    uint16_t instance, version, flags;
    const uint8_t *payload;
    uint32_t len;
};

struct state_reader {
    const uint8_t *buf;
    size_t len, pos, end_at;            /* end_at: offset of the end section */
    const struct state_kind *kinds;
    size_t kind_count;
    char err[STATE_ERR_LEN];
};

/* Validates buf[0..len) whole against kinds[0..kind_count).  0, or -1 with r->err set. */
int state_reader_open(struct state_reader *r, const void *buf, size_t len,
                      const struct state_kind *kinds, size_t kind_count);
/* The next known section: 1 with *s filled, 0 after the last one. */
int state_reader_next(struct state_reader *r, struct state_section *s);

/* Reads a section's payload field by field.  Reading past the end reads zeros and sets
 * short_read; the caller checks state_cursor_done() once at the end. */
struct state_cursor {
    const uint8_t *p;
    size_t len, pos;
    bool short_read;
};

void state_cursor_init(struct state_cursor *c, const struct state_section *s);
uint8_t state_get_u8(struct state_cursor *c);
uint16_t state_get_u16(struct state_cursor *c);
uint32_t state_get_u32(struct state_cursor *c);
uint64_t state_get_u64(struct state_cursor *c);
void state_get_bytes(struct state_cursor *c, void *p, size_t n);
/* The payload was read exactly to its end. */
bool state_cursor_done(const struct state_cursor *c);

/* "LAPC" from a section id, for messages (non-printable bytes become '?'). */
void state_id_name(uint32_t id, char out[5]);

#endif
