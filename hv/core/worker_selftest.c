/*
 * `worker-selftest`: queues CRC-32C computations of known buffers at every priority from
 * two owners; the last item to finish checks every result against the value computed (or
 * known) beforehand and prints one line with how many ran and on which CPUs.
 */
#include "hv/core/worker.h"

#include "hv/arch/x86/percpu.h"
#include "hv/arch/x86/console.h"
#include "hv/core/sched.h"
#include "hv/lib/crc32c.h"

#define SELFTEST_ITEMS 16

struct crc_job {
    struct work_item w;
    const uint8_t *buf;
    size_t len;
    uint32_t want, got;
    unsigned cpu;
};

static struct crc_job jobs[SELFTEST_ITEMS];
static uint8_t pattern[4096];
static unsigned finished;

static void report(void)
{
    uint64_t ran_on = 0;
    for (unsigned i = 0; i < SELFTEST_ITEMS; i++) {
        const struct crc_job *j = &jobs[i];
        if (j->got != j->want) {
            kprintf("atoll: worker selftest: FAIL: item %u computed %08x, want %08x\n", i,
                    j->got, j->want);
            return;
        }
        ran_on |= 1ull << j->cpu;
    }
    uint64_t allowed = worker_service_cpus() ? worker_service_cpus() : ~0ull;
    if (ran_on & ~allowed) {
        kprintf("atoll: worker selftest: FAIL: items ran on cpus %#lx, outside the service "
                "cpus\n", ran_on);
        return;
    }
    unsigned vcpus = 0;
    for (unsigned c = 0; c < 64; c++)
        if (ran_on & (1ull << c))
            vcpus += sched_cpu_vcpus(c);
    kprintf("atoll: worker selftest: PASS: %u items ran, CRC-32C right, on cpus %#lx, "
            "which hold %u vcpus\n", SELFTEST_ITEMS, ran_on, vcpus);
}

static void crc_item(struct work_item *w)
{
    struct crc_job *j = w->arg;
    j->got = crc32c(0, j->buf, j->len);
    j->cpu = this_cpu()->index;
    if (__atomic_add_fetch(&finished, 1, __ATOMIC_ACQ_REL) == SELFTEST_ITEMS)
        report();
}

void worker_selftest_start(void)
{
    static const char check[] = "123456789";
    for (unsigned i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)(i * 7 + (i >> 8));
    for (unsigned i = 0; i < SELFTEST_ITEMS; i++) {
        struct crc_job *j = &jobs[i];
        j->buf = i == 0 ? (const uint8_t *)check : pattern + i * 13;
        j->len = i == 0 ? 9 : 1024 + i * 157;
        j->want = i == 0 ? 0xE3069283u : crc32c(0, j->buf, j->len);
        j->w = (struct work_item){
            .fn = crc_item, .arg = j, .prio = (enum work_prio)(i % WORK_PRIOS), .owner = i & 1,
        };
    }
    kprintf("atoll: worker selftest: queueing %u items\n", SELFTEST_ITEMS);
    for (unsigned i = 0; i < SELFTEST_ITEMS; i++) {
        int rc = worker_submit(&jobs[i].w);
        if (rc != WORK_OK) {
            kprintf("atoll: worker selftest: FAIL: item %u: %s\n", i, work_queue_error(rc));
            return;
        }
    }
}
