#include "guest/lib/smp.h"

#include <string.h>

#include "guest/lib/exceptions.h"
#include "guest/lib/lapic.h"
#include "guest/lib/layout.h"
#include "guest/lib/tsc.h"
#include "guest/lib/x86.h"

#define CHECKIN_TIMEOUT_US 1000000

extern const char trampoline_start[], trampoline_end[];

/* Read by ap_long_entry (trampoline.S) and ap_start(); one AP starts at a time. */
uint64_t ap_boot_stack;
static volatile unsigned ap_boot_cpu;
static volatile ap_main_fn ap_boot_fn;
static volatile int ap_checked_in;
static volatile unsigned cpus_online = 1;

static uint8_t ap_stacks[MAX_CPUS][AP_STACK_SIZE] __attribute__((aligned(16)));

void ap_start(void);
void ap_start(void)
{
    unsigned cpu = ap_boot_cpu;
    ap_main_fn fn = ap_boot_fn;
    idt_load();
    lapic_enable(lapic_mode());
    __atomic_fetch_add(&cpus_online, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&ap_checked_in, 1, __ATOMIC_RELEASE);
    fn(cpu);
}

static bool wait_checkin(uint64_t us)
{
    uint64_t start = rdtsc(), limit = us * (tsc_hz() / 1000000);
    while (!__atomic_load_n(&ap_checked_in, __ATOMIC_ACQUIRE))
        if (rdtsc() - start > limit)
            return false;
    return true;
}

bool smp_start_ap(uint32_t apic_id, unsigned cpu, ap_main_fn fn)
{
    if (cpu == 0 || cpu >= MAX_CPUS)
        return false;
    memcpy((void *)TRAMPOLINE_ADDR, trampoline_start, (size_t)(trampoline_end - trampoline_start));
    ap_boot_stack = (uint64_t)(uintptr_t)&ap_stacks[cpu][AP_STACK_SIZE];
    ap_boot_cpu = cpu;
    ap_boot_fn = fn;
    ap_checked_in = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    lapic_send_init(apic_id);
    udelay(10000);
    lapic_send_sipi(apic_id, TRAMPOLINE_ADDR >> 12);
    if (wait_checkin(1000))
        return true;
    lapic_send_sipi(apic_id, TRAMPOLINE_ADDR >> 12);
    return wait_checkin(CHECKIN_TIMEOUT_US);
}

unsigned smp_cpus_online(void)
{
    return cpus_online;
}
