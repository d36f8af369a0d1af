/*
 * Proves a disk's manifest limits (`iops =`, `mbps =`) from inside: `reads=N` reads of
 * `kib=K` KiB (default 4), one at a time, timed with the TSC.  The hypervisor splits a
 * request into pieces of at most 16 KiB, each one operation of its token bucket, whose
 * burst is one second's worth.  With `iops=I` the N reads (N * ceil(K / 16) operations)
 * cannot finish before (operations - I) / I seconds, whatever else delays them; with
 * `mbps=M` not before (bytes - M MiB) / (M MiB) seconds.  That lower bound, less 10% for
 * the guest's TSC calibration against the PIT, must hold: an unthrottled disk finishes far
 * sooner.  Without a limit on the command line it only does the reads and says how long
 * they took.  Every read must complete with status OK.
 */
#include "guest/tests/virtio_drv.h"

DEFINE_TEST("virtio_rate");

#define DATA_GPA   0x1000000u       /* 16 MiB: above the image, below the end of RAM */
#define PIECE      (16u << 10)      /* the hypervisor's piece (partition_disks.c) */
#define MIB        (1ull << 20)

static struct vd_req_hdr hdr __attribute__((aligned(16)));
static volatile uint8_t status;

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

static uint16_t used_idx(void)
{
    vd_mb();
    return *(volatile uint16_t *)(VD_USED + 2);
}

/* One read of bytes at sector, to completion; false on a bad status or a stuck device. */
static bool read_once(struct vd *d, uintptr_t doorbell, uint64_t sector, uint32_t bytes)
{
    hdr = (struct vd_req_hdr){ VD_T_IN, 0, sector };
    status = 0xAA;
    vd_put_desc(VD_DESC, 0, (uintptr_t)&hdr, 16, VD_DESC_NEXT, 1);
    vd_put_desc(VD_DESC, 1, DATA_GPA, bytes, VD_DESC_WRITE | VD_DESC_NEXT, 2);
    vd_put_desc(VD_DESC, 2, (uintptr_t)&status, 1, VD_DESC_WRITE, 0);
    VD_AVAIL[2 + d->avail_idx % d->qsize] = 0;
    vd_mb();
    VD_AVAIL[1] = ++d->avail_idx;
    vd_mb();
    vd_w16(doorbell, 0);
    uint64_t start = rdtsc(), limit = 60 * tsc_hz();
    while (used_idx() == d->last_used) {
        if (rdtsc() - start > limit || (vd_status(d) & VD_S_NEEDS_RESET))
            return false;
        pause();
    }
    d->last_used++;
    return status == 0;
}

/* Microseconds the bucket needs at least for `need` units at `rate` per second, with a
 * full bucket (`rate` units) to start with. */
static uint64_t least_us(uint64_t need, uint64_t rate)
{
    return rate && need > rate ? (need - rate) * 1000000 / rate : 0;
}

void test_main(void)
{
    struct vd d;
    uint64_t capacity;
    unsigned reads = (unsigned)cmdline_u64("reads", 40);
    uint32_t bytes = (uint32_t)cmdline_u64("kib", 4) << 10;
    uint64_t iops = cmdline_u64("iops", 0), mbps = cmdline_u64("mbps", 0);
    if (!vd_find(&d)) {
        report_skip("no virtio-blk PCI function (1AF4:1042) on bus 0");
        return;
    }
    if (!setup(&d, &capacity) ||
        !report(bytes && capacity * 512 >= bytes && DATA_GPA + bytes <= boot_ram_end(),
                "disk of %lu MiB and RAM of %lu MiB hold a %u KiB read", capacity >> 11,
                (unsigned long)(boot_ram_end() >> 20), bytes >> 10))
        return;
    uintptr_t doorbell = d.notify + (uintptr_t)d.notify_off * d.notify_mult;
    uint64_t sectors = capacity - bytes / 512 + 1;
    unsigned done = 0;
    uint64_t start = rdtsc();
    while (done < reads && read_once(&d, doorbell, (uint64_t)done * 8 % sectors, bytes))
        done++;
    uint64_t took_us = (rdtsc() - start) / (tsc_hz() / 1000000);
    uint64_t ops = (uint64_t)reads * ((bytes + PIECE - 1) / PIECE);
    uint64_t floor_us = least_us(ops, iops);
    uint64_t byte_floor = least_us((uint64_t)reads * bytes, mbps * MIB);
    floor_us = byte_floor > floor_us ? byte_floor : floor_us;
    report(done == reads, "%u reads of %u KiB completed in %lu ms", done, bytes >> 10,
           (unsigned long)(took_us / 1000));
    if (iops || mbps)
        report(took_us >= floor_us - floor_us / 10,
               "the limit (iops %lu, mbps %lu) held: %lu ms, at least %lu ms less 10%%",
               (unsigned long)iops, (unsigned long)mbps, (unsigned long)(took_us / 1000),
               (unsigned long)(floor_us / 1000));
    vd_reset(&d);
}
