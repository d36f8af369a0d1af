#include "hv/core/console_input.h"

#include "drivers/uart/uart8250.h"
#include "hv/arch/x86/tsc.h"
#include "hv/arch/x86/console.h"
#include "hv/core/partition.h"
#include "hv/core/platform_glue.h"
#include "hv/vdev/platform_devices.h"


#define ESCAPE 0x01                 /* Ctrl-A */

static unsigned chosen;             /* index of the partition typed to, if it runs */
static bool escape_pending;

static bool typed_to(unsigned i)
{
    return i < partition_count && partitions[i]->state == PART_RUNNING &&
           partitions[i]->devices;
}

/* The partition what is typed goes to: the one chosen with the escape while it runs,
 * else the first running one. */
static struct partition *console_owner(void)
{
    if (typed_to(chosen))
        return partitions[chosen];
    for (unsigned i = 0; i < partition_count; i++)
        if (typed_to(i))
            return partitions[i];
    return NULL;
}

/* Ctrl-A n: what is typed goes to the next running partition, named in one line. */
static void choose_next(void)
{
    struct partition *now = console_owner();
    unsigned from = 0;
    for (unsigned i = 0; i < partition_count; i++)
        if (partitions[i] == now)
            from = i;
    for (unsigned k = 1; k <= partition_count; k++) {
        unsigned i = (from + k) % partition_count;
        if (typed_to(i)) {
            chosen = i;
            kprintf("atoll: console: typing goes to %s\n", partitions[i]->name);
            return;
        }
    }
}

/* What of in[0..n) goes to the guest, into out (2 n bytes): the escapes are taken out
 * (Ctrl-A n; Ctrl-A Ctrl-A is one Ctrl-A; Ctrl-A and anything else pass as they are). */
static unsigned take_escapes(const char *in, unsigned n, char *out)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        char c = in[i];
        if (escape_pending) {
            escape_pending = false;
            if (c == 'n' || c == 'N') {
                choose_next();
                continue;
            }
            if (c != ESCAPE)
                out[k++] = ESCAPE;
            out[k++] = c;
        } else if (c == ESCAPE) {
            escape_pending = true;
        } else {
            out[k++] = c;
        }
    }
    return k;
}

/* A line the console's owner (the partition typed to) has not ended for a while is a
 * prompt: shown as it is.  Other partitions' lines wait for their newline, so a guest
 * descheduled mid-line never splits it. */
static void flush_quiet_lines(void)
{
    struct partition *p = console_owner();
    if (!p || !p->console_len || console_ring_used(&p->console_ring) ||
        time_ns() - p->console_last_ns < 200000000ull)
        return;
    partition_console_flush(p, true);
}

void console_input_poll(void)
{
    flush_quiet_lines();
    char buf[64];
    unsigned n = 0;
    int c;
    while (n < sizeof(buf) && (c = serial8250_read(CONSOLE_PORT)) >= 0)
        buf[n++] = (char)c;
    char typed[2 * sizeof(buf)];
    n = take_escapes(buf, n, typed);
    struct partition *p = n ? console_owner() : NULL;
    if (!p)
        return;
    uint64_t f = spin_lock_irqsave(&p->lock);
    vuart_input(platform_devices_uart(p->devices), typed, n);
    spin_unlock_irqrestore(&p->lock, f);
}
