#include "hv/vmx/vmcs.h"

#include "hv/arch/x86/console.h"

/* VMfailInvalid sets CF, VMfailValid sets ZF. */
static bool vmx_succeeded(uint8_t cf, uint8_t zf) { return !cf && !zf; }

bool vmcs_write_raw(unsigned long field, uint64_t value, const char *caller)
{
    uint8_t cf, zf;
    __asm__ volatile("vmwrite %2, %3; setc %0; setz %1"
                     : "=qm"(cf), "=qm"(zf) : "r"(value), "r"(field) : "cc", "memory");
    if (vmx_succeeded(cf, zf))
        return true;
    kprintf("vmx: vmwrite field %#lx value %#lx failed in %s (vm-instruction error %lu)\n",
            field, value, caller, zf ? vmcs_read_raw(VMCS32_VM_INSTR_ERROR) : 0ul);
    return false;
}

uint64_t vmcs_read_raw(unsigned long field)
{
    uint64_t value = 0;
    __asm__ volatile("vmread %1, %0" : "=r"(value) : "r"(field) : "cc");
    return value;
}

bool vmcs_clear(uint64_t phys)
{
    uint8_t cf, zf;
    __asm__ volatile("vmclear %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : "m"(phys) : "cc", "memory");
    if (!vmx_succeeded(cf, zf))
        kprintf("vmx: vmclear %#lx failed\n", phys);
    return vmx_succeeded(cf, zf);
}

bool vmcs_load(uint64_t phys)
{
    uint8_t cf, zf;
    __asm__ volatile("vmptrld %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : "m"(phys) : "cc", "memory");
    if (!vmx_succeeded(cf, zf))
        kprintf("vmx: vmptrld %#lx failed\n", phys);
    return vmx_succeeded(cf, zf);
}
