/*
 * A guest that resets its machine through the PCI reset control register (port 0xCF9,
 * a write of 0x06: hard reset, CPU reset).  With the partition's `on-reset = end` the
 * hypervisor ends the partition and says why; nothing after the write may run.
 * Which port is used comes from the command line: `reset=cf9` (default) or `reset=92`
 * (System Control Port A, bit 0: fast reset).  With `restart` (for `on-reset = restart`)
 * it leaves a mark in CMOS NVRAM before the reset, which survives it as on a real
 * machine: finding the mark, it says it was restarted, clears it and passes.
 */
#include "guest/lib/guest.h"

DEFINE_TEST("reset");

#define NVRAM_MARK_AT 0x40
#define NVRAM_MARK    0xa5

static uint8_t cmos_read(uint8_t at)
{
    outb(0x70, at);
    return inb(0x71);
}

static void cmos_write(uint8_t at, uint8_t v)
{
    outb(0x70, at);
    outb(0x71, v);
}

void test_main(void)
{
    if (cmdline_has("restart") && cmos_read(NVRAM_MARK_AT) == NVRAM_MARK) {
        cmos_write(NVRAM_MARK_AT, 0);
        report(true, "restarted after its reset (the CMOS NVRAM mark survived it)");
        return;
    }
    if (cmdline_has("restart"))
        cmos_write(NVRAM_MARK_AT, NVRAM_MARK);
    bool port92 = cmdline_has("reset=92");
    printf("resetting through port %s\n", port92 ? "0x92" : "0xcf9");
    if (port92)
        outb(0x92, inb(0x92) | 1);
    else
        outb(0xcf9, 0x06);
    udelay(100000);
    report(false, "still running 100 ms after the reset request");
}
