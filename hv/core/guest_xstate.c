#include "hv/core/guest_xstate.h"

#include <string.h>
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/exception.h"
#include "hv/arch/x86/percpu.h"
#include "hv/core/exit/xcr0_policy.h"
#include "hv/mm/kmem.h"
#include "hv/lib/x86_bits.h"

#define FXSAVE_AREA_SIZE    512u
#define LEGACY_FCW          0       /* x87 control word */
#define LEGACY_MXCSR        24
#define LEGACY_MXCSR_MASK   28
#define MXCSR_MASK_DEFAULT  0xffbf  /* an FXSAVE image with MXCSR_MASK 0 means this */
#define FCW_INIT            0x037f
#define MXCSR_INIT          0x1f80

static struct cpuid_result host_cpuid(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid_regs r = cpuid(leaf, subleaf);
    return (struct cpuid_result){ r.eax, r.ebx, r.ecx, r.edx };
}

static bool host_xsave(void) { return read_cr4() & CR4_OSXSAVE; }

static int xsetbv_checked(uint64_t value)
{
    register uint64_t vec __asm__("r11") = (uint64_t)EXTABLE_NO_FAULT;
    __asm__ volatile(EXTABLE_INSN("xsetbv") : "+r"(vec)
                     : "c"(0), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)) : "memory");
    return (int)vec;
}

static int xrstor_checked(const uint8_t *area)
{
    register uint64_t vec __asm__("r11") = (uint64_t)EXTABLE_NO_FAULT;
    __asm__ volatile(EXTABLE_INSN("xrstor64 (%1)") : "+r"(vec)
                     : "r"(area), "a"(~0u), "d"(~0u) : "memory");
    return (int)vec;
}

static int fxrstor_checked(const uint8_t *area)
{
    register uint64_t vec __asm__("r11") = (uint64_t)EXTABLE_NO_FAULT;
    __asm__ volatile(EXTABLE_INSN("fxrstor64 (%1)") : "+r"(vec) : "r"(area) : "memory");
    return (int)vec;
}

void guest_xstate_enable(void)
{
    uint64_t cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
    if (cpuid(1, 0).ecx & (1u << 26))
        cr4 |= CR4_OSXSAVE;
    write_cr4(cr4);
    write_cr0(read_cr0() & ~((1ull << 3) | (1ull << 2)));     /* TS, EM off */
}

void guest_xstate_probe(struct guest_xstate_cpu *c)
{
    c->xcr0_offered = host_xsave() ? xcr0_offered(xcr0_cpu_supported(host_cpuid)) : 0;
    c->xsave_size = c->xcr0_offered ? xsave_area_size(c->xcr0_offered, host_cpuid)
                                    : FXSAVE_AREA_SIZE;
    /* FXSAVE wants 16-byte alignment, which the kernel's stack does not promise */
    uint8_t *image = kmem_alloc_pages(1);
    uint32_t mask = 0;
    if (image) {
        __asm__ volatile("fxsave64 (%0)" : : "r"(image) : "memory");
        memcpy(&mask, image + LEGACY_MXCSR_MASK, sizeof(mask));
        kmem_free_pages(image, 1);
    }
    c->mxcsr_mask = mask ? mask : MXCSR_MASK_DEFAULT;
    /* The exception table is what keeps a guest's value from being fatal: it must catch
     * a refused XSETBV (XCR0 = 0 is always refused, and changes nothing). */
    if (c->xcr0_offered && this_cpu()->index == 0 && xsetbv_checked(0) != 13)
        panic("the exception table did not catch a refused XSETBV");
}

static size_t area_pages(uint32_t size) { return (size + 4095) / 4096; }

uint8_t *guest_xstate_alloc(const struct guest_xstate_cpu *c)
{
    uint8_t *area = kmem_alloc_pages(area_pages(c->xsave_size));
    if (!area)
        return NULL;
    memset(area, 0, area_pages(c->xsave_size) * 4096);
    *(uint16_t *)(area + LEGACY_FCW) = FCW_INIT;
    *(uint32_t *)(area + LEGACY_MXCSR) = MXCSR_INIT;
    return area;
}

void guest_xstate_free(uint8_t *area, uint32_t size)
{
    if (area)
        kmem_free_pages(area, area_pages(size));
}

bool guest_xstate_save(const struct guest_xstate_cpu *c, uint8_t *area)
{
    if (!c->xcr0_offered) {
        __asm__ volatile("fxsave64 (%0)" : : "r"(area) : "memory");
        return true;
    }
    /* The guest's XCR0 is a subset: enabling the rest loses none of its state. */
    if (xsetbv_checked(c->xcr0_offered) != EXTABLE_NO_FAULT)
        return false;
    __asm__ volatile("xsave64 (%0)" : : "r"(area), "a"(~0u), "d"(~0u) : "memory");
    return true;
}

bool guest_xstate_restore(const struct guest_xstate_cpu *c, const uint8_t *area,
                          uint64_t guest_xcr0)
{
    if (!c->xcr0_offered)
        return fxrstor_checked(area) == EXTABLE_NO_FAULT;
    return xsetbv_checked(c->xcr0_offered) == EXTABLE_NO_FAULT &&
           xrstor_checked(area) == EXTABLE_NO_FAULT &&
           xsetbv_checked(guest_xcr0) == EXTABLE_NO_FAULT;
}

bool guest_xstate_set_xcr0(uint64_t value)
{
    return xsetbv_checked(value) == EXTABLE_NO_FAULT;
}
