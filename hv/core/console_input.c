#include "hv/core/console_input.h"

#include "drivers/uart/uart8250.h"
#include "hv/arch/x86/tsc.h"
#include "hv/arch/x86/console.h"
#include "hv/core/partition.h"
#include "hv/core/platform_glue.h"
#include "hv/vdev/platform_devices.h"


static struct partition *console_owner(void)
{
    for (unsigned i = 0; i < partition_count; i++)
        if (partitions[i]->state == PART_RUNNING && partitions[i]->devices)
            return partitions[i];
    return NULL;
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
    struct partition *p = n ? console_owner() : NULL;
    if (!p)
        return;
    uint64_t f = spin_lock_irqsave(&p->lock);
    vuart_input(platform_devices_uart(p->devices), buf, n);
    spin_unlock_irqrestore(&p->lock, f);
}
