/*
 * A guest that resets its machine through the PCI reset control register (port 0xCF9,
 * a write of 0x06: hard reset, CPU reset).  With the partition's `on-reset = end` the
 * hypervisor ends the partition and says why; nothing after the write may run.
 * Which port is used comes from the command line: `reset=cf9` (default) or `reset=92`
 * (System Control Port A, bit 0: fast reset).  With `restart` (for `on-reset = restart`)
 * it leaves a mark in CMOS NVRAM before the reset, which survives it as on a real
 * machine: finding the mark, it says it was restarted, clears it and passes.  With `secret`
 * too, the first run spreads isolation_a's secret over its free RAM before the reset, and
 * the run after the restart scans all of its RAM for it: the new partition's memory may be
 * the old one's frames, which must reach it scrubbed.
 */
#include "guest/lib/guest.h"
#include "guest/tests/isolation_secret.h"

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

/* Writes the secret over every whole block of RAM from `from` up (write), or counts the
 * blocks of all RAM that hold it; *bytes: RAM covered. */
static uint64_t secret_blocks(bool write, uint64_t from, uint64_t *bytes)
{
    uint64_t found = 0;
    *bytes = 0;
    for (unsigned i = 0; i < boot.nranges; i++) {
        uint64_t start = boot.ranges[i].start, end = boot.ranges[i].end;
        start = ((start < from ? from : start) + SECRET_BLOCK - 1) & ~(uint64_t)(SECRET_BLOCK - 1);
        end = (end > FOUR_GIB ? FOUR_GIB : end) & ~(uint64_t)(SECRET_BLOCK - 1);
        for (uint64_t a = start; a + SECRET_BLOCK <= end; a += SECRET_BLOCK) {
            volatile uint64_t *b = (volatile uint64_t *)(uintptr_t)a;
            unsigned same = 0;
            for (unsigned k = 0; k < SECRET_WORDS; k++) {
                if (write)
                    b[k] = secret_word(k);
                else
                    same += b[k] == secret_word(k);
            }
            found += same == SECRET_WORDS;
        }
        *bytes += end > start ? end - start : 0;
    }
    return found;
}

void test_main(void)
{
    bool secret = cmdline_has("secret");
    uint64_t bytes;
    if (cmdline_has("restart") && cmos_read(NVRAM_MARK_AT) == NVRAM_MARK) {
        cmos_write(NVRAM_MARK_AT, 0);
        report(true, "restarted after its reset (the CMOS NVRAM mark survived it)");
        if (secret) {
            uint64_t seen = secret_blocks(false, 0, &bytes);
            report(seen == 0, "none of the first run's secret in RAM after the restart (%lu "
                   "blocks of it seen in %lu KiB)", (unsigned long)seen,
                   (unsigned long)(bytes >> 10));
        }
        return;
    }
    if (cmdline_has("restart"))
        cmos_write(NVRAM_MARK_AT, NVRAM_MARK);
    if (secret) {
        uint64_t floor = image_end() > 0x100000 ? image_end() : 0x100000;
        secret_blocks(true, floor, &bytes);
        uint64_t seen = secret_blocks(false, floor, &bytes);
        report(bytes && seen == bytes / SECRET_BLOCK, "secret written over %lu KiB of RAM and "
               "seen there (%lu blocks)", (unsigned long)(bytes >> 10), (unsigned long)seen);
    }
    bool port92 = cmdline_has("reset=92");
    printf("resetting through port %s\n", port92 ? "0x92" : "0xcf9");
    if (port92)
        outb(0x92, inb(0x92) | 1);
    else
        outb(0xcf9, 0x06);
    udelay(100000);
    report(false, "still running 100 ms after the reset request");
}
