/*
 * The cost of a CPUID exit round trip: N CPUIDs timed with the TSC against N iterations of a
 * loop of plain instructions; the difference per iteration is printed as
 * `BENCH cpuid_exit_tsc=<TSC per exit> iterations=N` (`iterations=N` on the command line,
 * default 20000).  A figure to track, not an assertion.
 */
#include "guest/lib/guest.h"

DEFINE_TEST("cpuid_bench");

static uint64_t time_cpuid(uint64_t n)
{
    uint64_t t0 = rdtsc();
    for (uint64_t i = 0; i < n; i++) {
        uint32_t a = 0, b, c = 0, d;
        __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    }
    return rdtsc() - t0;
}

/* The same loop shape with four register moves where CPUID was. */
static uint64_t time_plain(uint64_t n)
{
    uint64_t t0 = rdtsc();
    for (uint64_t i = 0; i < n; i++) {
        uint32_t a = 0, b, c = 0, d;
        __asm__ volatile("mov %%eax, %%ebx; mov %%ecx, %%edx; mov %%ebx, %%eax; mov %%edx, %%ecx"
                         : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    }
    return rdtsc() - t0;
}

void test_main(void)
{
    uint64_t n = cmdline_u64("iterations", 20000);
    if (n == 0)
        n = 1;
    time_cpuid(n / 100 + 1); /* warm up */
    uint64_t with = time_cpuid(n), without = time_plain(n);
    uint64_t per_exit = with > without ? (with - without) / n : 0;
    printf("cpuid_bench: %lu CPUIDs in %lu TSC, %lu plain iterations in %lu TSC (%s)\n", n, with,
           n, without, atoll_present() ? "under Atoll" : "no Atoll: CPUID does not exit");
    printf("BENCH cpuid_exit_tsc=%lu iterations=%lu\n", per_exit, n);
    report(with > 0 && without > 0, "CPUID loop timed (%lu TSC per CPUID)", with / n);
}
