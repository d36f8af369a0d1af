/* The newest console output, kept for the control server's `log` command. */
#ifndef ATOLL_HV_LIB_LOG_RING_H
#define ATOLL_HV_LIB_LOG_RING_H
#include <stddef.h>

#define LOG_RING_SIZE 16384

/* Appends n bytes (the console calls this with its lock held, or from a fatal path). */
void log_ring_write(const char *s, size_t n);
/* Copies up to max of the newest bytes, oldest first, starting at a line boundary when
 * the ring has wrapped.  Returns the count. */
size_t log_ring_tail(char *buf, size_t max);

#endif
