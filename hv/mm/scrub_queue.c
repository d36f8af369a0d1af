/* A ring of dirty frame ranges, taken from the oldest in bounded runs. */
#include "hv/mm/scrub_queue.h"

#include <string.h>

void scrub_queue_init(struct scrub_queue *q)
{
    memset(q, 0, sizeof(*q));
}

bool scrub_queue_push(struct scrub_queue *q, uint64_t phys, uint64_t bytes)
{
    if (!bytes || (phys | bytes) & (FRAME_SIZE - 1) || phys + bytes < phys)
        return false;
    if (q->count) {
        struct frame_range *last = &q->ranges[(q->head + q->count - 1) % SCRUB_QUEUE_RANGES];
        if (last->base + last->length == phys) {
            last->length += bytes;
            q->queued_bytes += bytes;
            return true;
        }
        if (phys + bytes == last->base) {
            last->base = phys;
            last->length += bytes;
            q->queued_bytes += bytes;
            return true;
        }
    }
    if (q->count == SCRUB_QUEUE_RANGES)
        return false;
    q->ranges[(q->head + q->count) % SCRUB_QUEUE_RANGES] = (struct frame_range){ phys, bytes };
    q->count++;
    q->queued_bytes += bytes;
    return true;
}

bool scrub_queue_take(struct scrub_queue *q, uint64_t max_bytes, struct frame_range *out)
{
    if (!q->count)
        return false;
    struct frame_range *r = &q->ranges[q->head];
    uint64_t n = max_bytes & ~(FRAME_SIZE - 1);
    if (!n)
        n = FRAME_SIZE;
    if (n > r->length)
        n = r->length;
    out->base = r->base;
    out->length = n;
    r->base += n;
    r->length -= n;
    if (!r->length) {
        q->head = (q->head + 1) % SCRUB_QUEUE_RANGES;
        q->count--;
    }
    q->queued_bytes -= n;
    q->taken_bytes += n;
    return true;
}

void scrub_queue_done(struct scrub_queue *q, uint64_t bytes)
{
    q->taken_bytes -= bytes <= q->taken_bytes ? bytes : q->taken_bytes;
}

uint64_t scrub_queue_pending(const struct scrub_queue *q)
{
    return q->queued_bytes + q->taken_bytes;
}
