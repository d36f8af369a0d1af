#include "hv/arch/x86/console.h"

#include "hv/arch/x86/spinlock.h"
#include <string.h>
#include "hv/lib/format.h"

struct console_sink {
    const struct console_sink_ops *ops;
    void *ctx;
};

static spinlock_t console_lock = SPINLOCK_INIT;
static struct console_sink sinks[CONSOLE_MAX_SINKS];
static unsigned sink_count;
static const void *open_line;           /* whose partial line the console ends with */

/* Console lock held: another source's partial line is ended before anything else. */
static void close_open_line(const void *owner)
{
    if (open_line && open_line != owner) {
        open_line = NULL;
        for (unsigned i = 0; i < sink_count; i++)
            sinks[i].ops->write(sinks[i].ctx, "\n", 1);
    }
}

bool console_add_sink(const struct console_sink_ops *ops, void *ctx)
{
    uint64_t flags = spin_lock_irqsave(&console_lock);
    bool room = sink_count < CONSOLE_MAX_SINKS;
    if (room)
        sinks[sink_count++] = (struct console_sink){ ops, ctx };
    spin_unlock_irqrestore(&console_lock, flags);
    return room;
}

static void all_sinks(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    for (unsigned i = 0; i < sink_count; i++)
        sinks[i].ops->write(sinks[i].ctx, s, n);
}

void console_write(const char *s, size_t n)
{
    uint64_t flags = spin_lock_irqsave(&console_lock);
    close_open_line(NULL);
    all_sinks(NULL, s, n);
    spin_unlock_irqrestore(&console_lock, flags);
}

void console_write_line(const void *owner, const char *prefix, const char *text, size_t len,
                        bool partial)
{
    uint64_t flags = spin_lock_irqsave(&console_lock);
    bool continuing = open_line && open_line == owner;
    if (!continuing && !len && !partial) {      /* the end of a line someone else ended */
        spin_unlock_irqrestore(&console_lock, flags);
        return;
    }
    close_open_line(owner);
    if (!continuing)
        all_sinks(NULL, prefix, strlen(prefix));
    all_sinks(NULL, text, len);
    if (!partial)
        all_sinks(NULL, "\n", 1);
    open_line = partial ? owner : NULL;
    spin_unlock_irqrestore(&console_lock, flags);
}

int kvprintf(const char *fmt, va_list ap)
{
    uint64_t flags = spin_lock_irqsave(&console_lock);
    close_open_line(NULL);
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

size_t console_backlog(void)
{
    size_t most = 0;
    for (unsigned i = 0; i < sink_count; i++) {
        size_t b = sinks[i].ops->backlog ? sinks[i].ops->backlog(sinks[i].ctx) : 0;
        most = b > most ? b : most;
    }
    return most;
}

uint64_t console_poll(void)
{
    uint64_t wait = UINT64_MAX;
    uint64_t flags = spin_lock_irqsave(&console_lock);
    for (unsigned i = 0; i < sink_count; i++) {
        uint64_t w = sinks[i].ops->poll ? sinks[i].ops->poll(sinks[i].ctx) : UINT64_MAX;
        wait = w < wait ? w : wait;
    }
    spin_unlock_irqrestore(&console_lock, flags);
    return wait;
}

int kprintf_panic(const char *fmt, ...)
{
    for (unsigned i = 0; i < sink_count; i++)
        if (sinks[i].ops->drain)
            sinks[i].ops->drain(sinks[i].ctx);
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vprint(all_sinks, NULL, fmt, ap);
    va_end(ap);
    return n;
}
