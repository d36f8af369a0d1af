/* Encoding and validating control messages: the header and TLV records.  Portable. */
#ifndef ATOLL_NET_CONTROL_CTL_CODEC_H
#define ATOLL_NET_CONTROL_CTL_CODEC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/control/ctl_proto.h"

struct ctl_header {
    uint32_t magic;
    uint16_t version;
    uint16_t type;
    uint32_t request_id;
    uint32_t length;
};

void ctl_header_encode(uint8_t out[CTL_HEADER_SIZE], uint16_t type, uint32_t request_id,
                       uint32_t length);
void ctl_header_decode(const uint8_t in[CTL_HEADER_SIZE], struct ctl_header *h);
/* CTL_OK, or the status a header earns: MALFORMED (magic), VERSION, TOO_LARGE. */
uint16_t ctl_header_check(const struct ctl_header *h, uint32_t max_payload);

/* Appends TLV records into a caller's buffer; once full, every later call fails. */
struct ctl_tlv_writer {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool overflow;
};

void ctl_tlv_writer_init(struct ctl_tlv_writer *w, void *buf, size_t cap);
bool ctl_put_bytes(struct ctl_tlv_writer *w, uint16_t tag, const void *v, size_t n);
bool ctl_put_u8(struct ctl_tlv_writer *w, uint16_t tag, uint8_t v);
bool ctl_put_u16(struct ctl_tlv_writer *w, uint16_t tag, uint16_t v);
bool ctl_put_u32(struct ctl_tlv_writer *w, uint16_t tag, uint32_t v);
bool ctl_put_u64(struct ctl_tlv_writer *w, uint16_t tag, uint64_t v);
bool ctl_put_str(struct ctl_tlv_writer *w, uint16_t tag, const char *s);
/* A container: open, put the children, close (which fills in the length). */
size_t ctl_put_open(struct ctl_tlv_writer *w, uint16_t tag);
bool ctl_put_close(struct ctl_tlv_writer *w, size_t mark);

struct ctl_tlv {
    uint16_t tag;
    uint16_t len;
    const uint8_t *value;
};

struct ctl_tlv_reader {
    const uint8_t *p;
    size_t left;
};

void ctl_tlv_reader_init(struct ctl_tlv_reader *r, const void *buf, size_t len);
/* 1: *t filled; 0: clean end; -1: a record runs past the end. */
int ctl_tlv_next(struct ctl_tlv_reader *r, struct ctl_tlv *t);
/* True when buf is a well-formed sequence of TLV records. */
bool ctl_tlv_valid(const void *buf, size_t len);
/* The first record with this tag, or false. */
bool ctl_tlv_find(const void *buf, size_t len, uint16_t tag, struct ctl_tlv *t);

bool ctl_tlv_u8(const struct ctl_tlv *t, uint8_t *v);
bool ctl_tlv_u16(const struct ctl_tlv *t, uint16_t *v);
bool ctl_tlv_u32(const struct ctl_tlv *t, uint32_t *v);
bool ctl_tlv_u64(const struct ctl_tlv *t, uint64_t *v);
/* Copies printable ASCII text (no NUL, no control bytes) into out[cap]; false otherwise. */
bool ctl_tlv_text(const struct ctl_tlv *t, char *out, size_t cap);
/* A partition name: 1..CTL_NAME_MAX bytes of [a-z0-9_-], as in the manifest. */
bool ctl_tlv_name(const struct ctl_tlv *t, char out[CTL_NAME_MAX + 1]);
bool ctl_name_valid(const char *s, size_t n);

/* Builds a complete message (header + payload) into out[cap]; returns its size or 0. */
size_t ctl_message_build(void *out, size_t cap, uint16_t type, uint32_t request_id,
                         const void *payload, size_t len);

const char *ctl_status_name(uint16_t status);
const char *ctl_partition_state_name(uint8_t state);

#endif
