/*
 * Hostile channel owner (partition 1, "hog"): grants its pages over and over until the
 * hypervisor refuses, which must happen at its own share of grants (-HC_ENOSPC), not when
 * the machine's grants run out; the peer then shows it can still grant.  It keeps running
 * until the scenario's script stops it while its peers still map its pages.
 * Run with channel_hostile_peer (2) and channel_hostile_toucher (3 and 4).
 */
#include "guest/lib/guest.h"
#include "guest/tests/channel_hostile.h"

DEFINE_TEST("channel_hostile_owner");

#define MAX_TRIES 1000

static uint8_t shared[HOG_SHARED_PAGES][4096] __attribute__((aligned(4096)));
static uint8_t wrap[2][4096] __attribute__((aligned(4096)));
static uint8_t touched[2][4096] __attribute__((aligned(4096)));
static uint8_t spare[4096] __attribute__((aligned(4096)));

void test_main(void)
{
    if (!atoll_present()) {
        report_skip("hostile channels (not under Atoll)");
        return;
    }
    struct hog_page *page = (struct hog_page *)shared[0];
    for (unsigned i = 0; i < 2; i++)
        memcpy(wrap[i], HOG_WRAP_MARKER, sizeof(HOG_WRAP_MARKER));
    int64_t h[4] = {
        hypercall(HC_CHANNEL_GRANT, (uintptr_t)shared, HOG_SHARED_PAGES, PEER_ID, HOG_VEC),
        hypercall(HC_CHANNEL_GRANT, (uintptr_t)wrap, 2, PEER_ID, HOG_VEC),
        hypercall(HC_CHANNEL_GRANT, (uintptr_t)touched[0], 1, 3, HOG_VEC),
        hypercall(HC_CHANNEL_GRANT, (uintptr_t)touched[1], 1, 4, HOG_VEC),
    };
    if (!report(h[0] == HOG_SHARED_HANDLE && h[1] == HOG_WRAP_HANDLE && h[2] == 3 && h[3] == 4,
                "granted pages to partitions 2, 2, 3, 4 (handles %ld %ld %ld %ld)",
                h[0], h[1], h[2], h[3]))
        return;
    unsigned granted = 4;
    int64_t r = 0, last = 0;
    while (granted < MAX_TRIES && (r = hypercall(HC_CHANNEL_GRANT, (uintptr_t)spare, 1, PEER_ID,
                                                 HOG_VEC)) > 0) {
        granted++;
        last = r;
    }
    report(r == -HC_ENOSPC, "its share of grants is full after %u grants: refused with -HC_ENOSPC (%ld)",
           granted, r);
    page->granted = granted;
    page->refused = r;
    r = last > 0 ? hypercall(HC_CHANNEL_REVOKE, (uint64_t)last, 0, 0, 0) : -1;
    int64_t again = hypercall(HC_CHANNEL_GRANT, (uintptr_t)spare, 1, PEER_ID, HOG_VEC);
    int64_t full = hypercall(HC_CHANNEL_GRANT, (uintptr_t)spare, 1, PEER_ID, HOG_VEC);
    report(r == 0 && again > 0 && full == -HC_ENOSPC,
           "a revoked grant frees one place in the share (revoke %ld, grant %ld, then %ld)",
           r, again, full);
    __atomic_store_n(&page->state, 1, __ATOMIC_RELEASE);
    printf("hog: share exhausted, working on until stopped\n");
    /* Stopped by the script while its peers map its pages; it never ends by itself. */
    uint64_t end = rdtsc() + 120000 * (tsc_hz() / 1000);
    while (rdtsc() < end) {
        page->beat++;
        pause();
    }
    report_fatal("the script never stopped this partition");
}
