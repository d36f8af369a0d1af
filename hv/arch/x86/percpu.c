#include "hv/arch/x86/percpu.h"

#include <string.h>
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/idt.h"
#include "hv/mm/kmem.h"

struct percpu *cpus[MAX_CPUS];
unsigned cpu_count;

static uint64_t tss_descriptor_low(uint64_t base, uint32_t limit)
{
    return (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
           ((uint64_t)((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
}

struct percpu *percpu_create(unsigned index, uint32_t apic_id)
{
    struct percpu *p = kmem_alloc_pages((sizeof(struct percpu) + 4095) / 4096);
    if (!p)
        return NULL;
    memset(p, 0, sizeof(*p));
    p->self = p;
    p->index = index;
    p->apic_id = apic_id;
    p->stack_top = (uint64_t)(p->stack + CPU_STACK_SIZE);
    p->gdt[0] = 0;
    p->gdt[1] = 0x00af9a000000ffffull;  /* kernel code, 64-bit */
    p->gdt[2] = 0x00cf92000000ffffull;  /* kernel data */
    uint64_t tss = (uint64_t)&p->tss;
    p->gdt[3] = tss_descriptor_low(tss, sizeof(struct tss64) - 1);
    p->gdt[4] = tss >> 32;
    for (int i = 0; i < 3; i++)
        p->tss.ist[i] = (uint64_t)(p->ist_stacks[i] + IST_STACK_SIZE);
    p->tss.rsp[0] = p->stack_top;
    p->tss.iomap_base = sizeof(struct tss64);
    cpus[index] = p;
    return p;
}

void percpu_destroy(struct percpu *p)
{
    if (cpus[p->index] == p)
        cpus[p->index] = NULL;
    kmem_free_pages(p, (sizeof(struct percpu) + 4095) / 4096);
}

void percpu_install(struct percpu *p)
{
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gdtr = {
        sizeof(p->gdt) - 1, (uint64_t)p->gdt
    };
    __asm__ volatile(
        "lgdt %0\n\t"
        "pushq %1\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movl %2, %%eax\n\t"
        "movl %%eax, %%ds\n\t"
        "movl %%eax, %%es\n\t"
        "movl %%eax, %%ss\n\t"
        "xorl %%eax, %%eax\n\t"
        "movl %%eax, %%fs\n\t"
        "movl %%eax, %%gs\n\t"
        : : "m"(gdtr), "i"(GDT_KERNEL_CS), "i"(GDT_KERNEL_DS) : "rax", "memory");
    __asm__ volatile("ltr %w0" : : "r"(GDT_TSS));
    wrmsr(MSR_GS_BASE, (uint64_t)p);
    wrmsr(MSR_KERNEL_GS_BASE, 0);
    idt_load();
}
