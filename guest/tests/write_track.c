/*
 * Write tracking from the guest's side: fills a buffer page by page in several phases with
 * pauses between them, and checks after each phase that every page reads back what was
 * written.  Under the manifest's `track-writes` each group's first store in a tracking pass
 * faults and the hypervisor opens the group; no store may be lost or land elsewhere.  The
 * hypervisor's line at the partition's end says what its passes saw
 * (tests/system/check-write-track compares the two).
 * Knobs: `phases=N` (3), `kib=N` (1024, the buffer), `pause-ms=N` (300, between phases).
 */
#include "guest/lib/guest.h"

DEFINE_TEST("write_track");

static uint64_t pattern(uint64_t addr, uint64_t phase)
{
    return addr * 0x9e3779b97f4a7c15ull ^ (phase << 56 | phase);
}

void test_main(void)
{
    uint64_t phases = cmdline_u64("phases", 3), bytes = cmdline_u64("kib", 1024) << 10;
    uint64_t pause_ms = cmdline_u64("pause-ms", 300);
    uint64_t base = (image_end() + 0xfffff) & ~0xfffffull;      /* 1 MiB aligned */
    if (base + bytes > boot_ram_end())
        report_fatal("no room for %lu KiB above %#lx", (unsigned long)(bytes >> 10),
                     (unsigned long)base);
    printf("write_track: buffer of %lu KiB at %#lx, %lu phases\n",
           (unsigned long)(bytes >> 10), (unsigned long)base, (unsigned long)phases);
    uint64_t lost = 0;
    for (uint64_t phase = 1; phase <= phases; phase++) {
        for (uint64_t a = base; a < base + bytes; a += 8)
            *(volatile uint64_t *)(uintptr_t)a = pattern(a, phase);
        uint64_t bad = 0;
        for (uint64_t a = base; a < base + bytes; a += 8)
            bad += *(volatile uint64_t *)(uintptr_t)a != pattern(a, phase);
        printf("write_track: phase %lu: %lu pages written, %lu words read back wrong\n",
               (unsigned long)phase, (unsigned long)(bytes >> 12), (unsigned long)bad);
        lost += bad;
        if (phase < phases)
            udelay(pause_ms * 1000);
    }
    report(lost == 0, "%lu phases of %lu KiB read back intact", (unsigned long)phases,
           (unsigned long)(bytes >> 10));
}
