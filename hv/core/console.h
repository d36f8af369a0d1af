/* The hypervisor console: serial (and a framebuffer where there is one). */
#ifndef ATOLL_HV_CORE_CONSOLE_H
#define ATOLL_HV_CORE_CONSOLE_H
#include <stdarg.h>
#include <stddef.h>

#define CONSOLE_PORT 0x3f8         /* COM1: the hypervisor's serial console */

void console_init(void);
void console_write(const char *s, size_t n);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list ap);
/* Writes without taking the console lock: for the fatal paths only. */
int kprintf_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
