#include "hv/core/console.h"

#include "drivers/fb/fb_console.h"
#include "drivers/uart/uart8250.h"
#include "hv/arch/x86/cpu.h"
#include "hv/core/spinlock.h"
#include "hv/lib/format.h"
#include "net/kernel/log_ring.h"

#define TX_BYTES        65536u          /* a power of two */
#define TX_SPINS_MAX    1000000u        /* a transmitter that never empties: no UART there */
#define NS_PER_BYTE     86806ull        /* 10 bits at 115200 baud */

static spinlock_t console_lock = SPINLOCK_INIT;

/* Serial output not yet handed to the UART, "\n" already "\r\n".  Under console_lock. */
static char tx[TX_BYTES];
static uint32_t tx_head, tx_tail;
static unsigned tx_fifo = 1;
static bool tx_async;                   /* the scheduler polls: writers need not wait */
static unsigned tx_spins;

void console_init(void)
{
    serial8250_init(CONSOLE_PORT, 115200);
    tx_fifo = serial8250_tx_fifo_depth(CONSOLE_PORT);
}

/* Hands the UART what it takes now; with wait, until at most keep bytes are left (none:
 * until the last has left the wire, so that a machine that stops next loses nothing). */
static void tx_pump(uint32_t keep, bool wait)
{
    while (tx_head - tx_tail > keep) {
        if (!serial8250_tx_empty(CONSOLE_PORT) && tx_spins < TX_SPINS_MAX) {
            if (!wait)
                return;
            tx_spins++;
            cpu_relax();
            continue;
        }
        tx_spins = 0;
        for (unsigned n = 0; n < tx_fifo && tx_head != tx_tail; n++)
            serial8250_put_raw(CONSOLE_PORT, tx[tx_tail++ % TX_BYTES]);
    }
    for (unsigned spins = 0; wait && !keep && spins < TX_SPINS_MAX; spins++) {
        if (serial8250_tx_idle(CONSOLE_PORT))
            break;
        cpu_relax();
    }
}

static void tx_put(char c)
{
    if (tx_head - tx_tail == TX_BYTES)
        tx_pump(TX_BYTES - 256, true);
    tx[tx_head++ % TX_BYTES] = c;
}

static void serial_sink(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            tx_put('\r');
        tx_put(s[i]);
    }
    tx_pump(0, !tx_async);
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

size_t console_backlog(void)
{
    uint32_t head = __atomic_load_n(&tx_head, __ATOMIC_RELAXED);
    return head - __atomic_load_n(&tx_tail, __ATOMIC_RELAXED);
}

uint64_t console_poll(void)
{
    uint64_t flags = spin_lock_irqsave(&console_lock);
    tx_async = true;
    tx_pump(0, false);
    uint32_t left = tx_head - tx_tail;
    spin_unlock_irqrestore(&console_lock, flags);
    return left ? tx_fifo * NS_PER_BYTE : UINT64_MAX;
}

/* Everything queued goes out first, then this, all synchronously and without the lock. */
int kprintf_panic(const char *fmt, ...)
{
    tx_async = false;
    tx_pump(0, true);
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vprint(serial_sink, NULL, fmt, ap);
    va_end(ap);
    return n;
}
