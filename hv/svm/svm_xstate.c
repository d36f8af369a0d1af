/*
 * A vCPU's extended state (x87, SSE, AVX, ... as XSAVE calls it) and its XCR0.
 *
 * While a vCPU is current on its CPU, its state lives in the registers and its XCR0 in the
 * CPU's.  When another vCPU takes the CPU, the state goes to the vCPU's XSAVE area, sized
 * from CPUID leaf 0xD for every component the hypervisor offers (xcr0_policy.h).  Saving
 * and restoring run with XCR0 = every offered component, not the guest's own XCR0: a
 * guest can change PKRU with CR4.PKE set while XCR0.PKRU is clear, and a vCPU must never
 * see another's registers, so every offered component is switched, each time.  A new
 * vCPU starts from an area in the initial configuration (XSTATE_BV = 0).
 *
 * XSETBV and XRSTOR act on values that came from guests; they run through the exception
 * table, so if the CPU refuses one after all, only that vCPU's partition ends.
 */
#include <string.h>
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/exception.h"
#include "hv/arch/x86/percpu.h"
#include "hv/core/exit/xcr0_policy.h"
#include "hv/mm/kmem.h"
#include "hv/svm/svm.h"

#define CR4_OSXSAVE         (1ull << 18)
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

static int xsetbv_checked(uint64_t value);

void svm_xstate_probe(struct svm_cpu *c)
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

bool svm_xstate_init(struct svm_vcpu *x)
{
    const struct svm_cpu *c = svm_this_cpu();
    x->xcr0 = XCR0_X87;
    x->xsave_size = c->xsave_size;
    x->xsave_area = kmem_alloc_pages(area_pages(x->xsave_size));
    if (!x->xsave_area)
        return false;
    memset(x->xsave_area, 0, area_pages(x->xsave_size) * 4096);
    *(uint16_t *)(x->xsave_area + LEGACY_FCW) = FCW_INIT;
    *(uint32_t *)(x->xsave_area + LEGACY_MXCSR) = MXCSR_INIT;
    return true;
}

void svm_xstate_free(struct svm_vcpu *x)
{
    if (x->xsave_area)
        kmem_free_pages(x->xsave_area, area_pages(x->xsave_size));
    x->xsave_area = NULL;
}

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

bool svm_xstate_save(struct svm_vcpu *x)
{
    const struct svm_cpu *c = svm_this_cpu();
    if (!c->xcr0_offered) {
        __asm__ volatile("fxsave64 (%0)" : : "r"(x->xsave_area) : "memory");
        return true;
    }
    /* The guest's XCR0 is a subset: enabling the rest loses none of its state. */
    if (xsetbv_checked(c->xcr0_offered) != EXTABLE_NO_FAULT)
        return false;
    __asm__ volatile("xsave64 (%0)" : : "r"(x->xsave_area), "a"(~0u), "d"(~0u) : "memory");
    return true;
}

bool svm_xstate_restore(struct svm_vcpu *x)
{
    const struct svm_cpu *c = svm_this_cpu();
    if (!c->xcr0_offered)
        return fxrstor_checked(x->xsave_area) == EXTABLE_NO_FAULT;
    return xsetbv_checked(c->xcr0_offered) == EXTABLE_NO_FAULT &&
           xrstor_checked(x->xsave_area) == EXTABLE_NO_FAULT &&
           xsetbv_checked(x->xcr0) == EXTABLE_NO_FAULT;
}

bool svm_xstate_set_xcr0(struct svm_vcpu *x, uint64_t value)
{
    if (xsetbv_checked(value) != EXTABLE_NO_FAULT)
        return false;
    x->xcr0 = value;
    return true;
}
