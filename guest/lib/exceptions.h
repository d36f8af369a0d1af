/* The IDT, exception reporting and interrupt handlers. */
#ifndef ATOLL_GUEST_EXCEPTIONS_H
#define ATOLL_GUEST_EXCEPTIONS_H

#include <stdint.h>

/* What isr.S saves: the general registers (last pushed first), then vector, error, iret frame. */
struct irq_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*irq_handler_fn)(struct irq_frame *f);

/* Builds the IDT (once) and loads it on this CPU. */
void idt_init(void);
void idt_load(void);

/* Installs fn for vector (NULL removes it); the handler sends its own EOI.  Below 32 a
 * handler set here is called instead of the .ex_table fixup and the unexpected-exception report. */
void irq_set_handler(uint8_t vector, irq_handler_fn fn);

/* Loads an empty IDT and faults: the CPU triple-faults.  Never returns. */
_Noreturn void triple_fault(void);

const char *exception_name(unsigned vector);

#endif
