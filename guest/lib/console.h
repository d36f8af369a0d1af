/* printf to the serial console; one call's output is never interleaved with another CPU's. */
#ifndef ATOLL_GUEST_CONSOLE_H
#define ATOLL_GUEST_CONSOLE_H

#include <stdarg.h>

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);

#endif
