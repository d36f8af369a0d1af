#include "net/kernel/hw_entropy.h"

#include <string.h>

#include "hv/arch/x86/cpu.h"

#define RETRIES 128

static bool probed, has_rdseed, has_rdrand;

static void probe(void)
{
    if (probed)
        return;
    has_rdrand = cpuid(1, 0).ecx & (1u << 30);
    has_rdseed = cpuid(0, 0).eax >= 7 && (cpuid(7, 0).ebx & (1u << 18));
    probed = true;
}

static bool rdseed64(uint64_t *v)
{
    uint8_t ok;
    for (int i = 0; i < RETRIES; i++) {
        __asm__ volatile("rdseed %0; setc %1" : "=r"(*v), "=qm"(ok) : : "cc");
        if (ok)
            return true;
        cpu_relax();
    }
    return false;
}

static bool rdrand64(uint64_t *v)
{
    uint8_t ok;
    for (int i = 0; i < RETRIES; i++) {
        __asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok) : : "cc");
        if (ok)
            return true;
    }
    return false;
}

const char *hw_entropy_source(void)
{
    probe();
    return has_rdseed ? "RDSEED" : has_rdrand ? "RDRAND" : NULL;
}

static bool random64(uint64_t *v)
{
    probe();
    return (has_rdseed && rdseed64(v)) || (has_rdrand && rdrand64(v));
}

int hw_entropy_fill(void *ctx, void *buf, size_t len)
{
    uint8_t *out = buf;
    while (len) {
        uint64_t v;
        if (!random64(&v))
            return -1;
        size_t n = len < sizeof v ? len : sizeof v;
        memcpy(out, &v, n);
        out += n;
        len -= n;
    }
    return 0;
}

uint32_t hw_random_u32(void)
{
    static uint64_t state;
    uint64_t v;
    probe();
    if (has_rdrand && rdrand64(&v))
        return (uint32_t)v;
    state += rdtsc() + 0x9e3779b97f4a7c15ull;      /* splitmix64 step */
    v = state;
    v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ull;
    v = (v ^ (v >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)(v ^ (v >> 31));
}
