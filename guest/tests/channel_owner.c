/*
 * Channel owner: grants one page of its RAM to partition 2, rings its doorbell after
 * writing a request, waits for the peer's doorbell and reply, then revokes the grant.
 * Run with channel_peer as partition 2.
 */
#include "guest/lib/guest.h"
#include "guest/tests/channel.h"

DEFINE_TEST("channel_owner");

static struct channel_page page __attribute__((aligned(4096)));
static volatile unsigned doorbells;

static void on_doorbell(struct irq_frame *f)
{
    doorbells++;
    lapic_eoi();
}

static bool wait_for(volatile unsigned *what, unsigned value, uint64_t ms)
{
    uint64_t end = rdtsc() + ms * (tsc_hz() / 1000);
    while (*what < value && rdtsc() < end)
        pause();
    return *what >= value;
}

void test_main(void)
{
    if (!atoll_present()) {
        report_skip("channels (not under Atoll)");
        return;
    }
    irq_set_handler(CHANNEL_OWNER_VEC, on_doorbell);
    sti();
    int64_t r = hypercall(HC_CHANNEL_GRANT, (uintptr_t)&page + 1, 1, CHANNEL_PEER_ID, CHANNEL_OWNER_VEC);
    report(r == -HC_EINVAL, "a grant of an unaligned address is refused (%ld)", r);
    r = hypercall(HC_CHANNEL_GRANT, 0x7fff0000000ull, 1, CHANNEL_PEER_ID, CHANNEL_OWNER_VEC);
    report(r == -HC_EFAULT, "a grant of memory it does not have is refused (%ld)", r);
    r = hypercall(HC_CHANNEL_GRANT, (uintptr_t)&page, 1, 77, CHANNEL_OWNER_VEC);
    report(r == -HC_ENOENT, "a grant to a partition that does not exist is refused (%ld)", r);
    int64_t handle = hypercall(HC_CHANNEL_GRANT, (uintptr_t)&page, 1, CHANNEL_PEER_ID, CHANNEL_OWNER_VEC);
    report(handle == CHANNEL_HANDLE, "page granted to partition %d (handle %ld)", CHANNEL_PEER_ID, handle);
    memcpy(page.request, CHANNEL_REQUEST, sizeof(CHANNEL_REQUEST));
    page.state = 1;
    /* The peer maps the page when it is ready; ring until it does. */
    uint64_t end = rdtsc() + 20000 * (tsc_hz() / 1000);
    while ((r = hypercall(HC_CHANNEL_NOTIFY, (uint64_t)handle, 0, 0, 0)) != 0 && rdtsc() < end)
        udelay(1000);
    report(r == 0, "doorbell rung once the peer mapped the page");
    bool rang = wait_for(&doorbells, 1, 20000);
    report(rang, "the peer's doorbell arrived (%u)", doorbells);
    report(wait_for(&page.state, 2, 1000) && !strcmp(page.reply, CHANNEL_REPLY),
           "the peer's reply is in the shared page: \"%s\"", page.reply);
    r = hypercall(HC_CHANNEL_REVOKE, (uint64_t)handle, 0, 0, 0);
    report(r == 0, "grant revoked (%ld)", r);
    r = hypercall(HC_CHANNEL_NOTIFY, (uint64_t)handle, 0, 0, 0);
    report(r == -HC_ENOENT, "a revoked channel rings nobody (%ld)", r);
}
