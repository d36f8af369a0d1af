/*
 * The offload link's wire format (net/kernel/offload_link.h): B's request to A and A's
 * frames back, after the TLS handshake.  Big-endian.  Portable; A decodes a request from
 * any key, B decodes frames from the source it pinned: both are fuzzed
 * (tests/fuzz/fuzz_offload_wire.c).
 *
 *   request, 800 bytes: "ATOLLOFR", grant (768), u64 token offset, u64 length,
 *                       u32 granule (the destination's sector size, a power of two up to
 *                       4096: every piece but the last is a multiple), u32 0
 *   frame header, 16 bytes: u8 type, u8 status, u16 text length, u32 data length,
 *                       u64 bytes sent so far
 *     'D' data: data length (1 .. OFFLOAD_CHUNK) bytes of the token's data follow
 *     'E' end: status is -(enum offload_status) (0: all asked was sent, or as much as
 *         whole sectors allow); text length (at most OFFLOAD_WIRE_TEXT_MAX) bytes of one
 *         line follow; A then closes
 */
#ifndef ATOLL_HV_OFFLOAD_OFFLOAD_WIRE_H
#define ATOLL_HV_OFFLOAD_OFFLOAD_WIRE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/offload/grant.h"

#define OFFLOAD_WIRE_REQUEST_SIZE 800u
#define OFFLOAD_WIRE_HEADER       16u
#define OFFLOAD_WIRE_TEXT_MAX     200u

struct offload_wire_request {
    uint8_t grant[GRANT_SIZE];
    uint64_t token_offset, length;
    uint32_t granule;
};

enum offload_wire_type { OFFLOAD_WIRE_DATA = 'D', OFFLOAD_WIRE_END = 'E' };

struct offload_wire_frame {
    uint8_t type;     /* enum offload_wire_type */
    int status;       /* 'E': an enum offload_status */
    uint32_t length;  /* bytes after the header: data, or the text */
    uint64_t sent;    /* 'E': bytes A sent in all */
};

void offload_wire_request_encode(const struct offload_wire_request *r,
                                 uint8_t out[OFFLOAD_WIRE_REQUEST_SIZE]);
/* false: not a request (length, magic, granule, reserved bytes). */
bool offload_wire_request_decode(const uint8_t *buf, size_t len, struct offload_wire_request *r);

void offload_wire_data_header(uint8_t out[OFFLOAD_WIRE_HEADER], uint32_t length);
/* text_len is cut at OFFLOAD_WIRE_TEXT_MAX. */
void offload_wire_end_header(uint8_t out[OFFLOAD_WIRE_HEADER], int status, size_t text_len,
                             uint64_t sent);
/* B's check of a header, having received `received` of the `total` bytes it asked for:
 * false for an unknown type, a data frame empty, over OFFLOAD_CHUNK or past total, an
 * end frame's text too long or a status that is no enum offload_status. */
bool offload_wire_frame_decode(const uint8_t h[OFFLOAD_WIRE_HEADER], uint64_t received,
                               uint64_t total, struct offload_wire_frame *f);

#endif
