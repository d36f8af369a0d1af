/*
 * Hostile channel peer (partition 2 of channel-hostile.cfg): once partition 1 has used up
 * its share of grants, this one can still grant; maps whose end wraps past 2^64, or that
 * leave the channel window, are refused (a wrapped map would land on its own RAM at
 * guest-physical 0); then it rings the owner while the script stops it, until the
 * owner's end takes the channel away, and finishes its own test.
 */
#include "guest/lib/guest.h"
#include "guest/lib/channel_window.h"
#include "guest/tests/channel_hostile.h"

DEFINE_TEST("channel_hostile_peer");

static uint8_t own[4096] __attribute__((aligned(4096)));
static uint8_t page0_before[256];

static bool wait_until(bool (*done)(void), uint64_t ms)
{
    uint64_t end = rdtsc() + ms * (tsc_hz() / 1000);
    while (!done() && rdtsc() < end)
        udelay(1000);
    return done();
}

static volatile struct hog_page *hog = (volatile struct hog_page *)WINDOW_GPA;
static bool hog_exhausted(void) { return __atomic_load_n(&hog->state, __ATOMIC_ACQUIRE) == 1; }

static int64_t map(uint64_t handle, uint64_t gpa, uint64_t vector)
{
    return hypercall(HC_CHANNEL_MAP, handle, gpa, vector, 0);
}

/* Guest-physical 0 is this partition's own RAM, identity-mapped by guest/lib. */
static const volatile uint8_t *page0(void)
{
    uintptr_t zero;
    __asm__ volatile("xor %k0, %k0" : "=r"(zero));     /* a null pointer the compiler can't see */
    return (const volatile uint8_t *)zero;
}

static void bad_maps(void)
{
    for (unsigned i = 0; i < sizeof(page0_before); i++)
        page0_before[i] = page0()[i];
    int64_t r = map(HOG_WRAP_HANDLE, 0xfffffffffffff000ull, PEER_VEC);
    report(r == -HC_EINVAL, "a 2-page map at 0xfffffffffffff000 (its end wraps past 2^64) is refused (%ld)", r);
    bool same = true;
    for (unsigned i = 0; i < sizeof(page0_before); i++)
        same &= page0()[i] == page0_before[i];
    report(same, "its own RAM at guest-physical 0 is still its own");
    r = map(HOG_WRAP_HANDLE, 0xffffffffffffe000ull, PEER_VEC);
    report(r == -HC_EINVAL, "a map ending exactly at 2^64 is refused (%ld)", r);
    r = map(HOG_WRAP_HANDLE, 0x1000, PEER_VEC);
    report(r == -HC_EINVAL, "a map over its own RAM, below the window, is refused (%ld)", r);
    r = map(HOG_WRAP_HANDLE, WINDOW_END_GPA - 0x1000, PEER_VEC);
    report(r == -HC_EINVAL, "a map running past the end of the window is refused (%ld)", r);
    r = map(HOG_WRAP_HANDLE, WINDOW_GPA + 0x10000 + 8, PEER_VEC);
    report(r == -HC_EINVAL, "an unaligned map is refused (%ld)", r);
    r = map(HOG_WRAP_HANDLE, WINDOW_GPA + 0x10000, 7);
    report(r == -HC_EINVAL, "a map with an exception vector for its doorbell is refused (%ld)", r);
    r = map(HOG_WRAP_HANDLE, WINDOW_GPA + 0x10000, PEER_VEC | 0x100000000ull);
    report(r == -HC_EINVAL, "a map with a vector above 255 is refused (%ld)", r);
    r = map(HOG_WRAP_HANDLE, WINDOW_GPA + (HOG_SHARED_PAGES - 1) * 0x1000ull, PEER_VEC);
    report(r == -HC_EINVAL, "a map over the last page of another mapping is refused (%ld)", r);
    static const uint64_t handles[] = { 0, 3, 0x10000, 0xffffffffull, 1ull << 63, ~0ull };
    unsigned refused = 0;
    for (unsigned i = 0; i < sizeof(handles) / sizeof(handles[0]); i++)
        refused += map(handles[i], WINDOW_GPA + 0x20000, PEER_VEC) == -HC_ENOENT;
    report(refused == 6, "maps of handles that are not its own are refused (%u of 6)", refused);
    r = map(HOG_WRAP_HANDLE, WINDOW_GPA + 0x10000, PEER_VEC);
    const char *marker = (const char *)(WINDOW_GPA + 0x11000);
    report(r == 0 && !strcmp(marker, HOG_WRAP_MARKER),
           "after all that, the grant maps where it should (%ld): \"%s\"", r, r == 0 ? marker : "");
}

static void grants_of_its_own(void)
{
    int64_t h = hypercall(HC_CHANNEL_GRANT, (uintptr_t)own, 1, HOG_ID, PEER_VEC);
    report(h > 0, "it can grant while partition %d's share is full (handle %ld)", HOG_ID, h);
    int64_t r = h > 0 ? hypercall(HC_CHANNEL_REVOKE, (uint64_t)h, 0, 0, 0) : h;
    report(r == 0, "and revoke (%ld)", r);
    uint64_t gpa = 0xfffffffffffff000ull;
    r = hypercall(HC_CHANNEL_GRANT, gpa, 2, HOG_ID, PEER_VEC);
    report(r == -HC_EFAULT, "a grant whose end wraps past 2^64 is refused (%ld)", r);
    r = hypercall(HC_CHANNEL_GRANT, (uintptr_t)own, 1ull << 52, HOG_ID, PEER_VEC);
    report(r == -HC_EINVAL, "a grant of 2^52 pages is refused (%ld)", r);
    r = hypercall(HC_CHANNEL_GRANT, (uintptr_t)own, 1, HOG_ID | (1ull << 32), PEER_VEC);
    report(r == -HC_ENOENT, "a grant to partition 2^32 + 1 is refused (%ld)", r);
    r = hypercall(HC_CHANNEL_GRANT, (uintptr_t)own, 1, PEER_ID, PEER_VEC);
    report(r == -HC_ENOENT, "a grant to itself is refused (%ld)", r);
}

void test_main(void)
{
    if (!atoll_present()) {
        report_skip("hostile channels (not under Atoll)");
        return;
    }
    channel_window_map();
    int64_t r;
    uint64_t end = rdtsc() + 30000 * (tsc_hz() / 1000);
    while ((r = map(HOG_SHARED_HANDLE, WINDOW_GPA, PEER_VEC)) == -HC_ENOENT && rdtsc() < end)
        udelay(1000);
    if (!report(r == 0, "the hog's pages mapped in the window (%ld)", r))
        return;
    if (!report(wait_until(hog_exhausted, 60000), "the hog used up its grants: %u, then %ld",
                hog->granted, hog->refused))
        return;
    bad_maps();
    grants_of_its_own();
    r = hypercall(HC_CHANNEL_NOTIFY, HOG_SHARED_HANDLE, 0, 0, 0);
    report(r == 0, "rang the hog (%ld)", r);
    /* The script stops the hog (and partition 3) on the next line. */
    printf("ringing the owner until it is gone\n");
    uint64_t rings = 0;
    end = rdtsc() + 60000 * (tsc_hz() / 1000);
    while ((r = hypercall(HC_CHANNEL_NOTIFY, HOG_SHARED_HANDLE, 0, 0, 0)) == 0 && rdtsc() < end)
        rings++;
    report(r == -HC_ENOENT, "the owner's end took the channel away: %lu rings, then %ld", rings, r);
    r = map(HOG_SHARED_HANDLE, WINDOW_GPA + 0x40000, PEER_VEC);
    report(r == -HC_ENOENT, "its grants are gone with it (%ld)", r);
    r = hypercall(HC_CHANNEL_GRANT, (uintptr_t)own, 1, HOG_ID, PEER_VEC);
    report(r == -HC_ENOENT, "nothing can be granted to a partition that has ended (%ld)", r);
}
