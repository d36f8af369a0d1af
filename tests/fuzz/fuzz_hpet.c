/* Hostile MMIO sequences against the HPET: any offset, size and value, with time moving
 * and the platform timer's ticks between them.  ASan/UBSan watch; the invariants checked
 * are that the counter never runs backwards while enabled (modulo 2^64) and that a level line is held
 * only while its status bit is set. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/vdev/hpet.h"
#include "tests/unit/test_vdev_fake.h"

#define TIMER_ID 3

struct input { const uint8_t *p; size_t n; };

static uint64_t take(struct input *in, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes && in->n; i++, in->p++, in->n--)
        v |= (uint64_t)*in->p << (8 * i);
    return v;
}

/* Values that matter more often than random ones: comparator-ish and config bits. */
static uint64_t pick_value(struct input *in, const struct vhpet *h)
{
    uint8_t sel = (uint8_t)take(in, 1);
    switch (sel & 3) {
    case 0: return take(in, 8);
    case 1: return h->counter_at + take(in, 2);
    case 2: return take(in, 2);
    default: return ~0ull - take(in, 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fake_platform f;
    static struct vdev_bus bus;
    static struct vhpet h;
    fake_platform_init(&f);
    f.now_ns = 1;
    vdev_bus_init(&bus);
    vhpet_init(&h, &f.plat, TIMER_ID, VHPET_DEFAULT_BASE);
    if (!vhpet_register(&h, &bus))
        abort();
    struct input in = { data, size };
    uint64_t last_count = 0;
    while (in.n) {
        uint8_t op = (uint8_t)take(&in, 1);
        uint64_t off = take(&in, 2) & 0x7ff;
        unsigned sz = 1u << (op >> 6);
        uint64_t v = 0;
        switch (op & 7) {
        case 0: case 1: case 2:
            v = pick_value(&in, &h);
            vdev_bus_mmio(&bus, VHPET_DEFAULT_BASE + (off & ~3ull), sz, true, &v);
            break;
        case 3: case 4:
            vdev_bus_mmio(&bus, VHPET_DEFAULT_BASE + off, sz, false, &v);
            break;
        case 5:
            f.now_ns += take(&in, 3);
            break;
        default:
            if (f.timers[TIMER_ID] > f.now_ns && f.timers[TIMER_ID] - f.now_ns < (1ull << 40))
                f.now_ns = f.timers[TIMER_ID];
            vhpet_tick(&h);
            break;
        }
        uint64_t conf = 0, count = 0, sta = 0;
        vdev_bus_mmio(&bus, VHPET_DEFAULT_BASE + 0x10, 8, false, &conf);
        vdev_bus_mmio(&bus, VHPET_DEFAULT_BASE + 0xf0, 8, false, &count);
        vdev_bus_mmio(&bus, VHPET_DEFAULT_BASE + 0x20, 8, false, &sta);
        if ((conf & 1) && (op & 7) > 2 && count - last_count >= 1ull << 63)
            abort();                            /* backwards (a wrap of 2^64 is forwards) */
        last_count = count;
        for (unsigned i = 0; i < VHPET_TIMERS; i++)
            if (h.t[i].line && !(sta & (1ull << i)))
                abort();
        if (f.irq_count >= FAKE_MAX_EVENTS - 8)
            f.irq_count = 0;
    }
    return 0;
}
