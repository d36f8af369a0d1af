/*
 * The hypervisor console: formatted output fanned out to the sinks that registered (the
 * serial port, the framebuffer, the log ring the control server reads).  It knows no
 * device itself; whoever brings a device up adds its sink.  A sink may queue what it is
 * given (the serial port does, so that no CPU waits at 115200 baud for output it did not
 * have to wait for): the boot CPU's service poll moves queues on through console_poll(),
 * and the fatal paths drain them first.
 */
#ifndef ATOLL_HV_ARCH_X86_CONSOLE_H
#define ATOLL_HV_ARCH_X86_CONSOLE_H
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_PORT 0x3f8         /* COM1: the hypervisor's serial console */
#define CONSOLE_MAX_SINKS 4

struct console_sink_ops {
    /* Takes n bytes; called with the console lock held, or from a fatal path without it. */
    void (*write)(void *ctx, const char *s, size_t n);
    /* Optional, for a sink that queues: everything out now, synchronously, and from now
     * on every write too (the fatal paths and the machine's last lines). */
    void (*drain)(void *ctx);
    /* Optional: moves queued output on without waiting; ns until it wants the next call,
     * UINT64_MAX when its queue is empty. */
    uint64_t (*poll)(void *ctx);
    /* Optional: bytes it holds not yet out. */
    size_t (*backlog)(void *ctx);
};

/* False when CONSOLE_MAX_SINKS are registered already.  ops must outlive the console. */
bool console_add_sink(const struct console_sink_ops *ops, void *ctx);
void console_write(const char *s, size_t n);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list ap);
/* One line of a source that may leave it open (a guest's prompt): `prefix` and `text`,
 * ended unless partial.  While a line is open, the same owner's next call continues it
 * without the prefix; anyone else's output first ends it, so every line on the console
 * starts with its own prefix. */
void console_write_line(const void *owner, const char *prefix, const char *text, size_t len,
                        bool partial);
/* The most bytes any sink holds queued. */
size_t console_backlog(void);
/* Moves the sinks' queues on; ns until the next call is wanted, UINT64_MAX when idle. */
uint64_t console_poll(void);
/* Drains every queue, then writes, without taking the console lock: for the fatal paths
 * and the machine's last lines only. */
int kprintf_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
