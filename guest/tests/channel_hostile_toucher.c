/*
 * A channel peer that never stops touching the page partition 1 granted it (partitions 3
 * and 4 of channel-hostile.cfg; the handle is its own partition id).  The scenario stops
 * the owner under it, and partition 3 at the same moment: the owner's frames must be taken
 * out of its page tables before they are freed.  Once they are, an access ends this
 * partition (nothing is mapped there any more); what it must never see is the page
 * changing under it, which is what reading a freed and scrubbed frame would look like.
 */
#include "guest/lib/guest.h"
#include "guest/lib/channel_window.h"
#include "guest/tests/channel_hostile.h"

DEFINE_TEST("channel_hostile_toucher");

void test_main(void)
{
    if (!atoll_present()) {
        report_skip("hostile channels (not under Atoll)");
        return;
    }
    channel_window_map();
    uint64_t handle = (uint64_t)hypercall(HC_PARTITION_INFO, 0, 0, 0, 0) & 0xffffffffu;
    int64_t r;
    uint64_t end = rdtsc() + 30000 * (tsc_hz() / 1000);
    while ((r = hypercall(HC_CHANNEL_MAP, handle, WINDOW_GPA, TOUCHER_VEC, 0)) == -HC_ENOENT &&
           rdtsc() < end)
        udelay(1000);
    if (!report(r == 0, "the owner's page mapped (handle %lu: %ld)", handle, r))
        return;
    printf("touching the owner's page\n");
    volatile uint64_t *word = (volatile uint64_t *)WINDOW_GPA;
    end = rdtsc() + 120000 * (tsc_hz() / 1000);
    for (uint64_t i = 1; rdtsc() < end; i++) {
        word[i & 511] = i;
        uint64_t seen = word[i & 511];
        if (seen != i)
            report_fatal("the owner's page changed under it: wrote %lu, read %lu", i, seen);
    }
    report_fatal("this partition was never stopped");
}
