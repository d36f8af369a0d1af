#include "hv/core/exit/xcr0_policy.h"

/* A group of components that XSETBV takes only whole. */
static bool whole_or_none(uint64_t value, uint64_t group)
{
    return (value & group) == 0 || (value & group) == group;
}

uint64_t xcr0_offered(uint64_t cpu_supported)
{
    uint64_t v = cpu_supported & XCR0_HV_COMPONENTS;
    if (!(v & XCR0_X87))
        return 0;
    if (!(v & XCR0_SSE))
        v &= ~XCR0_AVX;
    if (!(v & XCR0_AVX) || !whole_or_none(v, XCR0_AVX512))
        v &= ~XCR0_AVX512;
    if (!whole_or_none(v, XCR0_MPX))
        v &= ~XCR0_MPX;
    return v;
}

uint64_t xcr0_cpu_supported(cpuid_source host)
{
    if (!(host(1, 0).ecx & (1u << 26)))        /* no XSAVE: no XCR0 */
        return 0;
    struct cpuid_result r = host(0xd, 0);
    return ((uint64_t)r.edx << 32) | r.eax;
}

bool xcr0_value_valid(uint64_t value, uint64_t allowed)
{
    if (value & ~allowed)
        return false;
    if (!(value & XCR0_X87))
        return false;
    if ((value & XCR0_AVX) && !(value & XCR0_SSE))
        return false;
    if ((value & XCR0_AVX512) && (!whole_or_none(value, XCR0_AVX512) || !(value & XCR0_AVX)))
        return false;
    return whole_or_none(value, XCR0_MPX) && whole_or_none(value, XCR0_AMX);
}

enum xsetbv_fault xsetbv_check(uint32_t xcr, uint64_t value, unsigned cpl, bool osxsave,
                               uint64_t offered)
{
    if (!osxsave)
        return XSETBV_UD;
    if (cpl != 0 || xcr != 0 || !xcr0_value_valid(value, offered))
        return XSETBV_GP;
    return XSETBV_OK;
}

uint32_t xsave_area_size(uint64_t components, cpuid_source host)
{
    uint64_t end = XSAVE_LEGACY_AND_HEADER;
    for (unsigned i = 2; i < 63; i++) {
        if (!(components & (1ull << i)))
            continue;
        struct cpuid_result r = host(0xd, i);     /* EAX size, EBX offset */
        uint64_t component_end = (uint64_t)r.ebx + r.eax;
        if (component_end > end)
            end = component_end;
    }
    return (uint32_t)((end + 63) & ~63ull);
}
