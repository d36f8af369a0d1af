#include "hv/core/console_ring.h"

#include <string.h>

#define MARK '\0'

void console_ring_init(struct console_ring *r)
{
    memset(r, 0, sizeof(*r));
}

size_t console_ring_used(const struct console_ring *r)
{
    return (uint32_t)(__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) -
                      __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE));
}

static void push(struct console_ring *r, uint32_t *head, char c)
{
    r->buf[*head % CONSOLE_RING_BYTES] = c;
    (*head)++;
}

/* One slot stays free for the mark of an episode that starts when the ring is full. */
size_t console_ring_put(struct console_ring *r, const char *s, size_t n)
{
    uint32_t head = r->head;
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == MARK)
            continue;
        uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
        if (r->losing && (int32_t)(tail - r->mark_at) > 0)
            r->losing = 0;                      /* the consumer has passed the mark */
        if (!r->losing && head - tail + 1 < CONSOLE_RING_BYTES) {
            push(r, &head, s[i]);
            kept++;
            continue;
        }
        if (!r->losing) {
            r->mark_at = head;
            push(r, &head, MARK);
            r->losing = 1;
        }
        dropped++;
    }
    if (dropped)
        __atomic_add_fetch(&r->lost, dropped, __ATOMIC_RELAXED);
    __atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
    return kept;
}

size_t console_ring_take(struct console_ring *r, char *out, size_t max, uint64_t *lost)
{
    uint32_t tail = r->tail, head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    size_t n = 0;
    *lost = 0;
    if (tail != head && r->buf[tail % CONSOLE_RING_BYTES] == MARK) {
        *lost = __atomic_exchange_n(&r->lost, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&r->tail, tail + 1, __ATOMIC_RELEASE);
        return 0;
    }
    while (n < max && tail != head && r->buf[tail % CONSOLE_RING_BYTES] != MARK)
        out[n++] = r->buf[tail++ % CONSOLE_RING_BYTES];
    __atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
    return n;
}
