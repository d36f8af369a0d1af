/* A fake partition for the device-model tests: records console output, IRQ line
 * changes, MSIs, exits, timers, kicks and start-up IPIs; time is set by the test. */
#ifndef ATOLL_TESTS_UNIT_TEST_VDEV_FAKE_H
#define ATOLL_TESTS_UNIT_TEST_VDEV_FAKE_H

#include "hv/vdev/vdev.h"

#define FAKE_MAX_EVENTS 256
#define FAKE_MAX_TIMERS 80

struct fake_irq_event { unsigned gsi; bool level; };
struct fake_msi { uint64_t addr; uint32_t data; };
struct fake_startup { unsigned vcpu; bool sipi; uint8_t vector; };

struct fake_platform {
    struct vdev_platform plat;
    char console[4096];
    size_t console_len;
    uint64_t now_ns;
    uint64_t tsc;              /* returned by guest_tsc when use_guest_tsc */
    bool use_guest_tsc;
    uint64_t wall_s;
    uint64_t timers[FAKE_MAX_TIMERS];
    unsigned timer_arms;
    struct fake_irq_event irqs[FAKE_MAX_EVENTS];
    unsigned irq_count;
    bool irq_level[32];
    unsigned irq_rises[32];
    struct fake_msi msis[FAKE_MAX_EVENTS];
    unsigned msi_count;
    int exit_status[16];
    unsigned exit_count;
    unsigned kicks[80];
    struct fake_startup startups[32];
    unsigned startup_count;
};

/* Fills f->plat with callbacks into f (1 vCPU, 64 MiB, 1 GHz TSC unless changed). */
void fake_platform_init(struct fake_platform *f);

/* Callbacks a test may plug into plat.wall_clock_s / plat.guest_tsc. */
uint64_t fake_wall_clock(void *ctx);
uint64_t fake_guest_tsc(void *ctx, unsigned vcpu);

#endif
