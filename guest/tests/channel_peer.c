/*
 * Channel peer (partition 2): maps the page partition 1 granted it in the channel window,
 * waits for the owner's doorbell, reads the request, writes a reply and rings back.
 */
#include "guest/lib/guest.h"
#include "guest/lib/channel_window.h"
#include "guest/tests/channel.h"

DEFINE_TEST("channel_peer");

static volatile unsigned doorbells;

static void on_doorbell(struct irq_frame *f)
{
    doorbells++;
    lapic_eoi();
}

void test_main(void)
{
    if (!atoll_present()) {
        report_skip("channels (not under Atoll)");
        return;
    }
    irq_set_handler(CHANNEL_PEER_VEC, on_doorbell);
    sti();
    channel_window_map();
    int64_t r;
    uint64_t end = rdtsc() + 20000 * (tsc_hz() / 1000);
    while ((r = hypercall(HC_CHANNEL_MAP, CHANNEL_HANDLE, CHANNEL_PEER_GPA, CHANNEL_PEER_VEC, 0)) == -HC_ENOENT &&
           rdtsc() < end)
        udelay(1000);
    report(r == 0, "granted page mapped at %#llx (%ld)", CHANNEL_PEER_GPA, r);
    r = hypercall(HC_CHANNEL_MAP, CHANNEL_HANDLE, CHANNEL_PEER_GPA + 0x1000, CHANNEL_PEER_VEC, 0);
    report(r == -HC_EPERM, "the same grant cannot be mapped twice (%ld)", r);
    r = hypercall(HC_CHANNEL_REVOKE, CHANNEL_HANDLE, 0, 0, 0);
    report(r == -HC_ENOENT, "only the owner may revoke (%ld)", r);
    end = rdtsc() + 20000 * (tsc_hz() / 1000);
    while (!doorbells && rdtsc() < end)
        pause();
    report(doorbells > 0, "the owner's doorbell arrived");
    struct channel_page *page = (struct channel_page *)CHANNEL_PEER_GPA;
    report(page->state == 1 && !strcmp(page->request, CHANNEL_REQUEST),
           "the owner's request is in the shared page: \"%s\"", page->request);
    memcpy(page->reply, CHANNEL_REPLY, sizeof(CHANNEL_REPLY));
    page->state = 2;
    r = hypercall(HC_CHANNEL_NOTIFY, CHANNEL_HANDLE, 0, 0, 0);
    report(r == 0, "rang the owner back (%ld)", r);
}
