#include "hv/lib/log_ring.h"

#include <stdint.h>


static char ring[LOG_RING_SIZE];
static uint64_t written;            /* bytes ever written; ring[written % SIZE] is next */

void log_ring_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ring[(written + i) % LOG_RING_SIZE] = s[i];
    __atomic_store_n(&written, written + n, __ATOMIC_RELEASE);
}

size_t log_ring_tail(char *buf, size_t max)
{
    uint64_t end = __atomic_load_n(&written, __ATOMIC_ACQUIRE);
    uint64_t held = end < LOG_RING_SIZE ? end : LOG_RING_SIZE;
    uint64_t n = held < max ? held : max;
    uint64_t start = end - n;
    size_t skip = 0;
    if (start > 0)        /* cut at the first newline so the text starts on a whole line */
        while (skip < n && ring[(start + skip) % LOG_RING_SIZE] != '\n')
            skip++;
    if (skip < n && start > 0)
        skip++;
    size_t out = 0;
    for (uint64_t i = start + skip; i < end; i++)
        buf[out++] = ring[i % LOG_RING_SIZE];
    return out;
}
