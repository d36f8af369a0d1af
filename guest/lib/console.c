#include "guest/lib/console.h"

#include "guest/lib/serial.h"
#include "guest/lib/spinlock.h"
#include "hv/lib/format.h"

#define LINE_MAX 512

static spinlock_t console_lock;

/* Formats into a local buffer first so that a fault while formatting never holds the lock. */
int vprintf(const char *fmt, va_list ap)
{
    char buf[LINE_MAX];
    int n = fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t len = n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
    spin_lock(&console_lock);
    serial_write(buf, len);
    spin_unlock(&console_lock);
    return n;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}
