#include "drivers/uart/serial_queue.h"

#include <stdbool.h>
#include "drivers/uart/uart8250.h"
#include "hv/arch/x86/cpu.h"

#define TX_BYTES        65536u          /* a power of two */
#define TX_SPINS_MAX    1000000u        /* a transmitter that never empties: no UART there */
#define NS_PER_BYTE     86806ull        /* 10 bits at 115200 baud */

/* Callers hold the console lock (or are the fatal path). */
static uint16_t port;
static char tx[TX_BYTES];
static uint32_t tx_head, tx_tail;
static unsigned tx_fifo = 1;
static bool tx_async;                   /* the service poll runs: writers need not wait */
static unsigned tx_spins;

void serial_queue_init(uint16_t base)
{
    port = base;
    serial8250_init(port, 115200);
    tx_fifo = serial8250_tx_fifo_depth(port);
}

/* Hands the UART what it takes now; with wait, until at most keep bytes are left (none:
 * until the last has left the wire, so that a machine that stops next loses nothing). */
static void tx_pump(uint32_t keep, bool wait)
{
    while (tx_head - tx_tail > keep) {
        if (!serial8250_tx_empty(port) && tx_spins < TX_SPINS_MAX) {
            if (!wait)
                return;
            tx_spins++;
            cpu_relax();
            continue;
        }
        tx_spins = 0;
        for (unsigned n = 0; n < tx_fifo && tx_head != tx_tail; n++)
            serial8250_put_raw(port, tx[tx_tail++ % TX_BYTES]);
    }
    for (unsigned spins = 0; wait && !keep && spins < TX_SPINS_MAX; spins++) {
        if (serial8250_tx_idle(port))
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

static void queue_write(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            tx_put('\r');
        tx_put(s[i]);
    }
    tx_pump(0, !tx_async);
}

static void queue_drain(void *ctx)
{
    (void)ctx;
    tx_async = false;
    tx_pump(0, true);
}

static uint64_t queue_poll(void *ctx)
{
    (void)ctx;
    tx_async = true;
    tx_pump(0, false);
    return tx_head != tx_tail ? tx_fifo * NS_PER_BYTE : UINT64_MAX;
}

static size_t queue_backlog(void *ctx)
{
    (void)ctx;
    uint32_t head = __atomic_load_n(&tx_head, __ATOMIC_RELAXED);
    return head - __atomic_load_n(&tx_tail, __ATOMIC_RELAXED);
}

const struct console_sink_ops serial_queue_sink = {
    .write = queue_write, .drain = queue_drain, .poll = queue_poll, .backlog = queue_backlog,
};
