/*
 * A partition's console output on its way to the hypervisor console: a byte ring that the
 * guest's UART and HC_CONSOLE_WRITE fill at the speed of memory and the boot CPU's
 * service poll drains at the speed of the serial line.  What does not fit is dropped and
 * counted, so a guest never waits for the wire and never holds its CPU for it.
 *
 * One producer (the guest's exits, serialised by the partition's lock) and one consumer
 * at a time (serialised by the caller's own lock) need no common lock.  When the ring is
 * full a loss episode starts: a mark goes in, and everything written is dropped until the
 * consumer has taken the mark, which tells it how many bytes were lost there.  So the
 * output has one clean gap per episode, said once, where it happened.
 * Portable: no hardware headers.
 */
#ifndef ATOLL_HV_CORE_CONSOLE_RING_H
#define ATOLL_HV_CORE_CONSOLE_RING_H

#include <stddef.h>
#include <stdint.h>

#define CONSOLE_RING_BYTES 16384u       /* a power of two */

struct console_ring {
    char buf[CONSOLE_RING_BYTES];
    uint32_t head, tail;                /* bytes ever put, ever taken (wrapping) */
    uint64_t lost;                      /* dropped, not yet reported */
    uint32_t mark_at;                   /* producer: where the episode's mark sits */
    uint8_t losing;                     /* producer: in an episode */
};

void console_ring_init(struct console_ring *r);
/* Producer: keeps what fits of s (NUL bytes are ignored); returns the bytes kept. */
size_t console_ring_put(struct console_ring *r, const char *s, size_t n);
/* Consumer: copies up to max bytes, stopping before a loss mark.  When the next thing in
 * the ring is a mark, consumes it, returns 0 and sets *lost to the bytes dropped there
 * (and since); otherwise *lost is 0.  Returns 0 with *lost 0 when the ring is empty. */
size_t console_ring_take(struct console_ring *r, char *out, size_t max, uint64_t *lost);
/* Bytes waiting (marks included). */
size_t console_ring_used(const struct console_ring *r);

#endif
