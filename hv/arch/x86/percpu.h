/* Per-CPU data, reached through GS.  One page-aligned block per physical CPU. */
#ifndef ATOLL_HV_ARCH_X86_PERCPU_H
#define ATOLL_HV_ARCH_X86_PERCPU_H

#include <stdbool.h>
#include <stdint.h>
#include "hv/arch/x86/boot_layout.h"

#define MAX_CPUS 64

struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

enum ist_slot { IST_NMI = 1, IST_DOUBLE_FAULT = 2, IST_MACHINE_CHECK = 3 };

struct percpu {
    struct percpu *self;            /* gs:0 */
    uint32_t index;                 /* 0 = the boot CPU */
    uint32_t apic_id;
    uint64_t stack_top;
    volatile bool online;
    bool virt_ok;                   /* partitions can run here (virt_cpu_probe) */
    uint64_t gdt[5] __attribute__((aligned(16)));
    struct tss64 tss __attribute__((aligned(16)));
    void *virt;                     /* the backend's per-CPU state (VMXON region, current VMCS) */
    void *sched;                    /* hv/core scheduler run queue */
    uint8_t stack[CPU_STACK_SIZE] __attribute__((aligned(16)));
    uint8_t ist_stacks[3][IST_STACK_SIZE] __attribute__((aligned(16)));
};

static inline struct percpu *this_cpu(void)
{
    struct percpu *p;
    __asm__ volatile("movq %%gs:0, %0" : "=r"(p));
    return p;
}

extern struct percpu *cpus[MAX_CPUS];
extern unsigned cpu_count;

/* Allocate and initialise the block for CPU index (apic_id as the MADT says). */
struct percpu *percpu_create(unsigned index, uint32_t apic_id);
void percpu_destroy(struct percpu *p);
/* Load GDT, TSS, IDT and GS for the calling CPU. */
void percpu_install(struct percpu *p);

#endif
