/*
 * The hypervisor console: formatted output fanned out to the sinks that registered (the
 * serial port, the framebuffer, the log ring the control server reads).  It knows no
 * device itself; whoever brings a device up adds its sink.
 */
#ifndef ATOLL_HV_ARCH_X86_CONSOLE_H
#define ATOLL_HV_ARCH_X86_CONSOLE_H
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define CONSOLE_PORT 0x3f8         /* COM1: the hypervisor's serial console */
#define CONSOLE_MAX_SINKS 4

/* Called with the console lock held (or from a fatal path without it). */
typedef void (*console_sink_fn)(void *ctx, const char *s, size_t n);

/* False when CONSOLE_MAX_SINKS are registered already. */
bool console_add_sink(console_sink_fn write, void *ctx);
void console_write(const char *s, size_t n);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list ap);
/* Writes without taking the console lock: for the fatal paths only. */
int kprintf_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
