/*
 * A guest that resets its machine through the PCI reset control register (port 0xCF9,
 * a write of 0x06: hard reset, CPU reset).  With the partition's `on-reset = end` the
 * hypervisor ends the partition and says why; nothing after the write may run.
 * Which port is used comes from the command line: `reset=cf9` (default) or `reset=92`
 * (System Control Port A, bit 0: fast reset).
 */
#include "guest/lib/guest.h"

DEFINE_TEST("reset");

void test_main(void)
{
    bool port92 = cmdline_has("reset=92");
    printf("resetting through port %s\n", port92 ? "0x92" : "0xcf9");
    if (port92)
        outb(0x92, inb(0x92) | 1);
    else
        outb(0xcf9, 0x06);
    udelay(100000);
    report(false, "still running 100 ms after the reset request");
}
