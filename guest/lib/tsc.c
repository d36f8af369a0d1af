#include "guest/lib/tsc.h"

#include "guest/lib/x86.h"

#define PIT_HZ        1193182ull
#define PIT_CH0       0x40
#define PIT_CMD       0x43
#define PIT_SAMPLE    11932u      /* 10 ms of PIT ticks */
#define FALLBACK_HZ   2000000000ull
#define MAX_READS     2000000

static uint64_t hz;
static bool measured;

/*
 * One PIT count with the TSC at the moment it was latched: the TSC is read just before
 * and just after the latch command, and the sample is the middle.  A vCPU that loses its
 * CPU between latching and reading would otherwise pair the count with a TSC read
 * milliseconds later, and the next sample would see those milliseconds on the PIT alone
 * (the calibration read 1.3x-5x off beside other partitions).
 */
struct pit_sample {
    uint16_t count;
    uint64_t tsc, window;
};

static struct pit_sample pit_sample(void)
{
    struct pit_sample s;
    uint64_t before = rdtsc();
    outb(PIT_CMD, 0x00); /* latch channel 0 */
    uint64_t after = rdtsc();
    uint8_t lo = inb(PIT_CH0);
    uint8_t hi = inb(PIT_CH0);
    s.count = (uint16_t)(lo | (hi << 8));
    s.tsc = before + (after - before) / 2;
    s.window = after - before;
    return s;
}

/*
 * Channel 0 in mode 2 counting down from 65536 (one wrap is 55 ms); counts elapsed PIT
 * ticks across wraps against the TSC.  A sample whose latch took far longer than the
 * quickest one (its vCPU lost the CPU around the latch) is not used, and neither is a
 * step far longer than the quickest step (off the CPU for a whole wrap or more, which
 * would lose that wrap's ticks); both ends of every step used are exact pairs.
 */
#define GAP_FACTOR 32u
static bool measure(void)
{
    outb(PIT_CMD, 0x34);
    outb(PIT_CH0, 0);
    outb(PIT_CH0, 0);
    struct pit_sample prev = pit_sample();
    uint64_t tsc_used = 0, min_step = ~0ull, min_window = prev.window ? prev.window : ~0ull;
    uint32_t elapsed = 0;
    for (int i = 0; i < MAX_READS && elapsed < PIT_SAMPLE; i++) {
        struct pit_sample now = pit_sample();
        if (now.window && now.window < min_window)
            min_window = now.window;
        if (i >= 4 && now.window > min_window * 8)
            continue;                   /* not an exact pair: keep the previous one */
        uint64_t step = now.tsc - prev.tsc;
        uint16_t ticks = (uint16_t)(prev.count - now.count);
        prev = now;
        if (step && step < min_step)
            min_step = step;
        if (i >= 8 && step > min_step * GAP_FACTOR)
            continue;                   /* off the CPU meanwhile: a wrap may be lost */
        elapsed += ticks;
        tsc_used += step;
    }
    if (elapsed < PIT_SAMPLE)
        return false;
    hz = tsc_used * PIT_HZ / elapsed;
    return hz != 0;
}

uint64_t tsc_hz(void)
{
    if (!hz) {
        measured = measure();
        if (!measured)
            hz = FALLBACK_HZ;
    }
    return hz;
}

bool tsc_calibrated(void)
{
    tsc_hz();
    return measured;
}

void udelay(uint64_t us)
{
    uint64_t start = rdtsc(), ticks = us * (tsc_hz() / 1000000);
    while (rdtsc() - start < ticks)
        pause();
}

uint64_t tsc_to_us(uint64_t ticks)
{
    return ticks / (tsc_hz() / 1000000 ? tsc_hz() / 1000000 : 1);
}

uint64_t tsc_paired_read(uint64_t (*read)(void *ctx), void *ctx, uint64_t *tsc)
{
    uint64_t bound = tsc_hz() / 1000, value = 0;
    for (int i = 0; i < 16; i++) {
        uint64_t before = rdtsc();
        value = read(ctx);
        uint64_t after = rdtsc();
        *tsc = before + (after - before) / 2;
        if (after - before <= bound)
            break;
    }
    return value;
}
