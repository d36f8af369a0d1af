/* Formatted printing into any sink: the console, a buffer, a log ring. Portable. */
#ifndef ATOLL_HV_LIB_FORMAT_H
#define ATOLL_HV_LIB_FORMAT_H
#include <stdarg.h>
#include <stddef.h>

/* Receives each run of output bytes. */
typedef void (*fmt_sink)(void *ctx, const char *s, size_t n);

/*
 * printf-style formatting.  Conversions: d i u x X o p s c %; flags - 0 + space #;
 * width and precision (also '*'); length modifiers hh h l ll z t j.  Returns the number
 * of bytes produced.  A NULL %s prints "(null)"; an unknown conversion is copied verbatim.
 */
int fmt_vprint(fmt_sink sink, void *ctx, const char *fmt, va_list ap);
int fmt_print(fmt_sink sink, void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like snprintf: always NUL-terminates when size > 0; returns the untruncated length. */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An error's line into msg (nothing when msg is NULL or size 0), and status returned:
 * `return fmt_fail(msg, size, -EXAMPLE, "what went wrong");`. */
int fmt_fail(char *msg, size_t size, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
