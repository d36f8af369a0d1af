/*
 * Frames given back dirty (a finished partition's RAM) wait here until they are scrubbed
 * and returned to the frame allocator, a bounded run at a time, oldest first.  Portable:
 * it only keeps the ranges and counts; the caller zeroes, frees and locks (hv/mm/kmem.c
 * holds the frame allocator's lock around every call).
 *
 * A frame is in exactly one place: free in the allocator, allocated, queued here, or taken
 * (being scrubbed by whoever took it, between take and done).  Queued and taken frames are
 * never handed out; pending bytes (queued + taken) count as free for whoever asks how much
 * memory there is, since an allocation that needs them scrubs them first.
 */
#ifndef ATOLL_HV_MM_SCRUB_QUEUE_H
#define ATOLL_HV_MM_SCRUB_QUEUE_H
#include <stdbool.h>
#include <stdint.h>

#include "hv/mm/frame_alloc.h"

/* Ranges, not frames: a partition's RAM is mostly 2 MiB chunks, adjacent ones merged. */
#define SCRUB_QUEUE_RANGES 1024

struct scrub_queue {
    struct frame_range ranges[SCRUB_QUEUE_RANGES];  /* a ring, oldest at head */
    unsigned head, count;
    uint64_t queued_bytes;      /* in ranges[] */
    uint64_t taken_bytes;       /* taken and not yet done */
};

void scrub_queue_init(struct scrub_queue *q);
/* Queues [phys, phys + bytes) (frame aligned, bytes > 0); merges it into the newest range
 * when adjacent.  False when the ring is full (nothing queued: the caller scrubs now) or
 * the range is not whole frames. */
bool scrub_queue_push(struct scrub_queue *q, uint64_t phys, uint64_t bytes);
/* Takes the oldest queued run of at most max_bytes (rounded down to frames, at least one
 * frame) into *out: the caller scrubs and frees it, then calls scrub_queue_done.  False
 * when nothing is queued. */
bool scrub_queue_take(struct scrub_queue *q, uint64_t max_bytes, struct frame_range *out);
/* The caller scrubbed and freed bytes it had taken. */
void scrub_queue_done(struct scrub_queue *q, uint64_t bytes);
/* Queued + taken: memory that is free once scrubbed. */
uint64_t scrub_queue_pending(const struct scrub_queue *q);

#endif
