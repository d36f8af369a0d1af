#include "hv/core/partition_console.h"

#include <string.h>
#include "hv/arch/x86/tsc.h"
#include "hv/arch/x86/console.h"
#include "hv/core/partition.h"
#include "hv/core/sched.h"
#include "hv/core/script_run.h"
#include "hv/lib/format.h"

/* Guest output stops moving on while the serial queue holds this much, so the
 * hypervisor's own lines (and a partition's last CONSOLE_RING_BYTES) always find room. */
#define GUEST_BACKLOG_MAX 32768u
/* One poll moves guest output on for at most this long: where the serial line takes bytes
 * as fast as they come (QEMU's UART), the queue's room never stops a flood's drain, and
 * the vCPUs sharing the boot CPU would wait for all of it. */
#define POLL_DRAIN_NS 1000000ull

void partition_console_init(struct partition *p)
{
    console_ring_init(&p->console_ring);
    p->console_lock = (spinlock_t)SPINLOCK_INIT;
}

void partition_console_write(void *ctx, const char *buf, size_t len)
{
    struct partition *p = ctx;
    if (p->state == PART_DEAD)
        return;
    console_ring_put(&p->console_ring, buf, len);
    p->console_last_ns = time_ns();
    /* The script acts on the line as it is printed, not a time slice later: a guest that
     * goes on (or ends) meanwhile would meet the action at another point each run. */
    if (memchr(buf, '\n', len) && script_run_watches(p))
        sched_poll_soon();
}

/* Under console_lock. */
static void print_line(struct partition *p, bool partial)
{
    char prefix[PARTITION_NAME_LEN + 4];
    script_run_line(p, p->console_line, p->console_len);
    fmt_snprintf(prefix, sizeof(prefix), "[%s] ", p->name);
    console_write_line(p, prefix, p->console_line, p->console_len, partial);
    p->console_continued = partial;
    p->console_len = 0;
}

/* Whole lines, each prefixed with the partition's name, so partitions never interleave
 * within a line; a line longer than the buffer is cut into several. */
static void assemble(struct partition *p, const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\r')
            continue;
        if (buf[i] != '\n')
            p->console_line[p->console_len++] = buf[i];
        if (buf[i] == '\n' || p->console_len == sizeof(p->console_line))
            print_line(p, false);
    }
}

/* Under console_lock: moves the ring on, all of it or while the serial queue has room
 * and until (time_ns) is reached. */
static void drain(struct partition *p, bool all, uint64_t until)
{
    char buf[128];
    for (;;) {
        if (!all && (console_backlog() >= GUEST_BACKLOG_MAX || time_ns() >= until))
            return;
        uint64_t lost;
        size_t n = console_ring_take(&p->console_ring, buf, sizeof(buf), &lost);
        if (lost) {
            if (p->console_len || p->console_continued)
                print_line(p, false);
            kprintf("atoll: %s: %lu console bytes dropped\n", p->name, lost);
        } else if (!n) {
            return;
        }
        assemble(p, buf, n);
    }
}

void partition_console_flush(struct partition *p, bool partial)
{
    uint64_t f = spin_lock_irqsave(&p->console_lock);
    drain(p, true, 0);
    if (p->console_len || (!partial && p->console_continued))
        print_line(p, partial);
    spin_unlock_irqrestore(&p->console_lock, f);
}

void partition_console_take_partial(struct partition *p, struct partition_console_carry *c)
{
    _Static_assert(sizeof(c->line) == sizeof(p->console_line), "a whole line buffer");
    uint64_t f = spin_lock_irqsave(&p->console_lock);
    drain(p, true, 0);
    memcpy(c->line, p->console_line, p->console_len);
    c->len = p->console_len;
    c->continued = p->console_continued;
    p->console_len = 0;
    p->console_continued = false;
    spin_unlock_irqrestore(&p->console_lock, f);
}

void partition_console_give_partial(struct partition *p, const struct partition_console_carry *c)
{
    uint64_t f = spin_lock_irqsave(&p->console_lock);
    memcpy(p->console_line, c->line, c->len);
    p->console_len = c->len;
    p->console_continued = c->continued;
    spin_unlock_irqrestore(&p->console_lock, f);
}

void partition_console_end(struct partition *p)
{
    partition_console_flush(p, false);
}

uint64_t partition_consoles_poll(void)
{
    static unsigned first;          /* a flood first in the table does not starve the rest */
    uint64_t until = time_ns() + POLL_DRAIN_NS;
    bool left = false;
    unsigned count = partition_count;
    for (unsigned k = 0; k < count; k++) {
        struct partition *p = partitions[(first + k) % count];
        if (!p || p->state == PART_CREATED || !console_ring_used(&p->console_ring))
            continue;
        uint64_t f = spin_lock_irqsave(&p->console_lock);
        drain(p, false, until);
        spin_unlock_irqrestore(&p->console_lock, f);
        left |= console_ring_used(&p->console_ring) != 0;
    }
    first = count ? (first + 1) % count : 0;
    uint64_t wait = console_poll();
    return left && wait > POLL_DRAIN_NS ? POLL_DRAIN_NS : wait;
}
