#include "hv/core/console.h"

#include "drivers/fb/fb_console.h"
#include "drivers/uart/uart8250.h"
#include "hv/core/spinlock.h"
#include "hv/lib/format.h"
#include "net/kernel/log_ring.h"


static spinlock_t console_lock = SPINLOCK_INIT;

void console_init(void)
{
    serial8250_init(CONSOLE_PORT, 115200);
}

static void serial_sink(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    serial8250_write(CONSOLE_PORT, s, n);
    log_ring_write(s, n);
    fb_console_write(s, n);
}

void console_write(const char *s, size_t n)
{
    uint64_t flags = spin_lock_irqsave(&console_lock);
    serial_sink(NULL, s, n);
    spin_unlock_irqrestore(&console_lock, flags);
}

int kvprintf(const char *fmt, va_list ap)
{
    uint64_t flags = spin_lock_irqsave(&console_lock);
    int n = fmt_vprint(serial_sink, NULL, fmt, ap);
    spin_unlock_irqrestore(&console_lock, flags);
    return n;
}

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvprintf(fmt, ap);
    va_end(ap);
    return n;
}

int kprintf_panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vprint(serial_sink, NULL, fmt, ap);
    va_end(ap);
    return n;
}
