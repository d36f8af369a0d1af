#include "hv/arch/x86/idt.h"

#include "hv/arch/x86/boot_layout.h"
#include "hv/arch/x86/exception.h"
#include "hv/arch/x86/ipi_call.h"
#include "hv/arch/x86/percpu.h"

struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
} __attribute__((packed));

extern const uint64_t isr_table[256];
static struct idt_gate idt[256] __attribute__((aligned(16)));
static irq_handler_fn handlers[256];

static void set_gate(unsigned vector, uint64_t addr, uint8_t ist)
{
    idt[vector] = (struct idt_gate){
        .offset_low = addr & 0xffff,
        .selector = GDT_KERNEL_CS,
        .ist = ist,
        .type_attr = 0x8e,          /* present, DPL 0, interrupt gate */
        .offset_mid = (addr >> 16) & 0xffff,
        .offset_high = addr >> 32,
    };
}

void idt_init(void)
{
    for (unsigned v = 0; v < 256; v++)
        set_gate(v, isr_table[v], 0);
    set_gate(2, isr_table[2], IST_NMI);
    set_gate(8, isr_table[8], IST_DOUBLE_FAULT);
    set_gate(18, isr_table[18], IST_MACHINE_CHECK);
    handlers[VEC_IPI_CALL] = ipi_call_handle;
}

void idt_load(void)
{
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr = {
        sizeof(idt) - 1, (uint64_t)idt
    };
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

void idt_set_handler(uint8_t vector, irq_handler_fn fn)
{
    handlers[vector] = fn;
}

void trap_dispatch(struct trap_frame *f);
void trap_dispatch(struct trap_frame *f)
{
    irq_handler_fn fn = handlers[f->vector & 0xff];
    if (fn)
        fn(f);
    else if (f->vector >= VEC_FIRST_IRQ)
        exception_unexpected_irq(f);
    else if (!exception_fixup(f))       /* a fixed-up fault (an MSR probe's #GP) says nothing */
        exception_fatal(f);
}
