/*
 * Floods its virtio-blk queue with huge reads: `inflight=N` requests (default 5) of
 * `mib=N` MiB each (default 4, one descriptor into RAM at 16 MiB), kept in the ring until
 * `reads=N` have completed (default 12) and `flood_ms=N` have passed (default 1000): the
 * avail index is advanced again as soon as a request completes, and the queue is
 * notified on every turn of the loop.  A hypervisor that does
 * a notify's whole ring inside the exit holds its CPU for the length of the I/O; the timer
 * guest on the same CPU (bochs-grub-timer-virtio-flood) tells.  With `inflight=1` it is a
 * well-behaved driver doing large I/O one request at a time, notifying once per request.  Every request must complete
 * with status OK.  The disk must hold `mib` MiB.  `progress=1` prints a line each time
 * a read completes (two such guests on two CPUs show that both disks move at once).
 */
#include "guest/tests/virtio_drv.h"

DEFINE_TEST("virtio_flood");

#define DATA_GPA   0x1000000u       /* 16 MiB: above the image, below the end of RAM */
#define MAX_INFLIGHT 5              /* three descriptors each in a queue of 16 */

static struct vd_req_hdr hdr[MAX_INFLIGHT] __attribute__((aligned(16)));
static volatile uint8_t status[MAX_INFLIGHT];

static bool setup(struct vd *d, uint64_t *capacity)
{
    uint64_t bars[6];
    vd_place_bars(d, bars);
    if (!report(vd_caps(d, bars), "virtio capabilities: common, notify, ISR, device config"))
        return false;
    if (!report(vd_init(d, 0, false), "queue set-up (queue %u, polling)", d->qsize))
        return false;
    *capacity = vd_r32(d->devcfg) | (uint64_t)vd_r32(d->devcfg + 4) << 32;
    return true;
}

/* Request i: descriptors 3i (header), 3i+1 (data), 3i+2 (status). */
static void put_request(unsigned i, uint32_t bytes)
{
    hdr[i] = (struct vd_req_hdr){ VD_T_IN, 0, 0 };
    status[i] = 0xAA;
    unsigned b = 3 * i;
    vd_put_desc(VD_DESC, b, (uintptr_t)&hdr[i], 16, VD_DESC_NEXT, (uint16_t)(b + 1));
    vd_put_desc(VD_DESC, b + 1, DATA_GPA, bytes, VD_DESC_WRITE | VD_DESC_NEXT, (uint16_t)(b + 2));
    vd_put_desc(VD_DESC, b + 2, (uintptr_t)&status[i], 1, VD_DESC_WRITE, 0);
}

static uint16_t used_idx(void)
{
    vd_mb();
    return *(volatile uint16_t *)(VD_USED + 2);
}

/* Takes completed entries; counts the good ones and re-posts their heads when refill. */
static unsigned reap(struct vd *d, unsigned *bad, bool refill)
{
    unsigned done = 0;
    while (d->last_used != used_idx()) {
        volatile uint8_t *e = VD_USED + 4 + 8 * (d->last_used % d->qsize);
        unsigned head = *(volatile uint32_t *)e, i = head / 3;
        d->last_used++;
        done++;
        if (i >= MAX_INFLIGHT || status[i] != 0)
            (*bad)++;
        if (refill && i < MAX_INFLIGHT) {
            status[i] = 0xAA;
            VD_AVAIL[2 + d->avail_idx % d->qsize] = (uint16_t)head;
            vd_mb();
            VD_AVAIL[1] = ++d->avail_idx;
        }
    }
    return done;
}

static void show_progress(bool on, unsigned done, unsigned n)
{
    for (unsigned k = 1; on && k <= n; k++)
        printf("virtio_flood: read %u done\n", done + k);
}

void test_main(void)
{
    struct vd d;
    uint64_t capacity;
    unsigned inflight = (unsigned)cmdline_u64("inflight", MAX_INFLIGHT);
    uint32_t bytes = (uint32_t)cmdline_u64("mib", 4) << 20;
    uint64_t flood_ms = cmdline_u64("flood_ms", 1000);
    unsigned reads = (unsigned)cmdline_u64("reads", 12);
    bool progress = cmdline_u64("progress", 0) != 0;
    inflight = inflight < 1 ? 1 : inflight > MAX_INFLIGHT ? MAX_INFLIGHT : inflight;
    if (!vd_find(&d)) {
        report_skip("no virtio-blk PCI function (1AF4:1042) on bus 0");
        return;
    }
    if (!setup(&d, &capacity) ||
        !report(capacity * 512 >= bytes && DATA_GPA + bytes <= boot_ram_end(),
                "disk of %lu MiB and RAM of %lu MiB hold a %u MiB read", capacity >> 11,
                (unsigned long)(boot_ram_end() >> 20), bytes >> 20))
        return;
    uintptr_t doorbell = d.notify + (uintptr_t)d.notify_off * d.notify_mult;
    for (unsigned i = 0; i < inflight; i++) {
        put_request(i, bytes);
        VD_AVAIL[2 + d.avail_idx % d.qsize] = (uint16_t)(3 * i);
        d.avail_idx++;
    }
    vd_mb();
    VD_AVAIL[1] = d.avail_idx;
    unsigned done = 0, bad = 0, notifies = 0;
    uint64_t start = rdtsc(), limit = flood_ms * (tsc_hz() / 1000);
    bool kick = true, every_turn = inflight > 1;
    while ((rdtsc() - start < limit || done + inflight < reads) &&
           !(vd_status(&d) & VD_S_NEEDS_RESET)) {
        if (kick || every_turn) {
            vd_w16(doorbell, 0);
            notifies++;
        }
        unsigned n = reap(&d, &bad, true);
        show_progress(progress, done, n);
        done += n;
        kick = n > 0;
    }
    if (kick)
        vd_w16(doorbell, 0);            /* what the last turn re-posted */
    uint64_t drain_start = rdtsc(), drain_limit = 60000 * (tsc_hz() / 1000);
    while (d.last_used != d.avail_idx && rdtsc() - drain_start < drain_limit &&
           !(vd_status(&d) & VD_S_NEEDS_RESET)) {
        if (every_turn)
            vd_w16(doorbell, 0);
        unsigned n = reap(&d, &bad, false);
        show_progress(progress, done, n);
        done += n;
        pause();
    }
    report(d.last_used == d.avail_idx && !bad && done >= reads,
           "%u reads of %u MiB completed (%u failed, %u notifies, %u in flight at a time)",
           done, bytes >> 20, bad, notifies, inflight);
    vd_reset(&d);
}
