#include "hv/arch/x86/console.h"

#include "hv/arch/x86/spinlock.h"
#include "hv/lib/format.h"

struct console_sink {
    console_sink_fn write;
    void *ctx;
};

static spinlock_t console_lock = SPINLOCK_INIT;
static struct console_sink sinks[CONSOLE_MAX_SINKS];
static unsigned sink_count;

bool console_add_sink(console_sink_fn write, void *ctx)
{
    uint64_t flags = spin_lock_irqsave(&console_lock);
    bool room = sink_count < CONSOLE_MAX_SINKS;
    if (room)
        sinks[sink_count++] = (struct console_sink){ write, ctx };
    spin_unlock_irqrestore(&console_lock, flags);
    return room;
}

static void all_sinks(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    for (unsigned i = 0; i < sink_count; i++)
        sinks[i].write(sinks[i].ctx, s, n);
}

void console_write(const char *s, size_t n)
{
    uint64_t flags = spin_lock_irqsave(&console_lock);
    all_sinks(NULL, s, n);
    spin_unlock_irqrestore(&console_lock, flags);
}

int kvprintf(const char *fmt, va_list ap)
{
    uint64_t flags = spin_lock_irqsave(&console_lock);
    int n = fmt_vprint(all_sinks, NULL, fmt, ap);
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
    int n = fmt_vprint(all_sinks, NULL, fmt, ap);
    va_end(ap);
    return n;
}
