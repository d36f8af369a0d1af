/*
 * The hypervisor console: serial (and a framebuffer where there is one).  Serial output
 * is queued (64 KiB) and handed to the UART's FIFO as it empties, by every writer and by
 * console_poll() on the boot CPU's service poll, so no CPU waits at 115200 baud for
 * output it did not have to wait for; a writer waits only when the queue is full.  Until
 * the first console_poll() and from the first kprintf_panic() on, output is synchronous.
 */
#ifndef ATOLL_HV_CORE_CONSOLE_H
#define ATOLL_HV_CORE_CONSOLE_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_PORT 0x3f8         /* COM1: the hypervisor's serial console */

void console_init(void);
void console_write(const char *s, size_t n);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list ap);
/* Bytes queued for the serial line. */
size_t console_backlog(void);
/* Moves queued output on; ns until it should be called again, UINT64_MAX when idle. */
uint64_t console_poll(void);
/* Writes everything queued, then this, without taking the console lock: for the fatal
 * paths and the machine's last lines only. */
int kprintf_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
