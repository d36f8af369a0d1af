/*
 * Floods its console as fast as it can: `writes=N` HC_CONSOLE_WRITE calls of 4 KiB each
 * (default 24), then `uart_kib=N` KiB through the UART port (default 8), both in lines of
 * 64 bytes, far more than a 115200-baud console carries.  The hypervisor may drop what its
 * console buffer cannot hold, but must not make the guest or a partition sharing its CPU
 * (bochs-grub-timer-console-flood: the timer guest) wait for the wire.  After `settle_ms=N`
 * (default 3000: time for the console to get past what it dropped, so that the result
 * lines are kept) it reports and exits cleanly.
 */
#include "guest/lib/guest.h"
#include "hv/lib/format.h"

DEFINE_TEST("console_flood");

#define CHUNK 4096
#define LINE  64

static char chunk[CHUNK];

static void fill(unsigned round)
{
    for (unsigned l = 0; l < CHUNK / LINE; l++) {
        char *s = chunk + l * LINE;
        fmt_snprintf(s, LINE, "flood %04u.%02u ", round, l);
        for (unsigned i = 14; i < LINE - 1; i++)
            s[i] = (char)('a' + (round + l + i) % 26);
        s[LINE - 1] = '\n';
    }
}

void test_main(void)
{
    unsigned writes = (unsigned)cmdline_u64("writes", 24);
    unsigned uart_kib = (unsigned)cmdline_u64("uart_kib", 8);
    uint64_t settle_ms = cmdline_u64("settle_ms", 3000);
    unsigned accepted = 0;
    if (!atoll_present())
        writes = 0;                     /* no hypercalls without Atoll: the UART part only */
    for (unsigned w = 0; w < writes; w++) {
        fill(w);
        accepted += hypercall(HC_CONSOLE_WRITE, (uint64_t)(uintptr_t)chunk, CHUNK, 0, 0) == CHUNK;
    }
    for (unsigned k = 0; k < uart_kib * 1024 / CHUNK + (uart_kib * 1024 % CHUNK != 0); k++) {
        fill(writes + k);
        unsigned n = uart_kib * 1024 - k * CHUNK < CHUNK ? uart_kib * 1024 - k * CHUNK : CHUNK;
        serial_write(chunk, n);
    }
    udelay(settle_ms * 1000);
    report(accepted == writes, "%u of %u console hypercalls of 4 KiB accepted, %u KiB through "
           "the UART", accepted, writes, uart_kib);
}
