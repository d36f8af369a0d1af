/* The fake partition behind the device-model unit tests. */
#include "tests/unit/test_vdev_fake.h"

#include <string.h>

static void fake_console(void *ctx, const char *buf, size_t len)
{
    struct fake_platform *f = ctx;
    size_t room = sizeof(f->console) - 1 - f->console_len;
    if (len > room)
        len = room;
    memcpy(f->console + f->console_len, buf, len);
    f->console_len += len;
    f->console[f->console_len] = 0;
}

static uint64_t fake_now(void *ctx)
{
    return ((struct fake_platform *)ctx)->now_ns;
}

static void fake_timer_arm(void *ctx, unsigned id, uint64_t deadline)
{
    struct fake_platform *f = ctx;
    f->timer_arms++;
    if (id < FAKE_MAX_TIMERS)
        f->timers[id] = deadline;
}

static void fake_irq_set(void *ctx, unsigned gsi, bool level)
{
    struct fake_platform *f = ctx;
    if (f->irq_count < FAKE_MAX_EVENTS)
        f->irqs[f->irq_count++] = (struct fake_irq_event){ gsi, level };
    if (gsi < 32) {
        if (level && !f->irq_level[gsi])
            f->irq_rises[gsi]++;
        f->irq_level[gsi] = level;
    }
}

static void fake_msi(void *ctx, uint64_t addr, uint32_t data)
{
    struct fake_platform *f = ctx;
    if (f->msi_count < FAKE_MAX_EVENTS)
        f->msis[f->msi_count++] = (struct fake_msi){ addr, data };
}

static void fake_exit(void *ctx, int status)
{
    struct fake_platform *f = ctx;
    if (f->exit_count < 16)
        f->exit_status[f->exit_count] = status;
    f->exit_count++;
}

static void fake_kick(void *ctx, unsigned vcpu)
{
    struct fake_platform *f = ctx;
    if (vcpu < 80)
        f->kicks[vcpu]++;
}

static void fake_startup(void *ctx, unsigned vcpu, bool sipi, uint8_t vector)
{
    struct fake_platform *f = ctx;
    if (f->startup_count < 32)
        f->startups[f->startup_count++] = (struct fake_startup){ vcpu, sipi, vector };
}

uint64_t fake_wall_clock(void *ctx)
{
    return ((struct fake_platform *)ctx)->wall_s;
}

uint64_t fake_guest_tsc(void *ctx, unsigned vcpu)
{
    (void)vcpu;
    return ((struct fake_platform *)ctx)->tsc;
}

void fake_platform_init(struct fake_platform *f)
{
    memset(f, 0, sizeof(*f));
    f->plat = (struct vdev_platform){
        .ctx = f,
        .console_write = fake_console,
        .now_ns = fake_now,
        .timer_arm = fake_timer_arm,
        .irq_set = fake_irq_set,
        .msi_send = fake_msi,
        .partition_exit = fake_exit,
        .vcpu_kick = fake_kick,
        .vcpu_startup = fake_startup,
        .wall_clock_s = NULL,
        .guest_tsc = NULL,
        .vcpu_count = 1,
        .ram_bytes = 64ull << 20,
        .tsc_hz = 1000000000ull,
    };
}

