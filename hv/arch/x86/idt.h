/* Interrupt descriptor table, trap frames and handler registration. */
#ifndef ATOLL_HV_ARCH_X86_IDT_H
#define ATOLL_HV_ARCH_X86_IDT_H
#include <stdint.h>

struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*irq_handler_fn)(struct trap_frame *f);

enum {
    VEC_FIRST_IRQ   = 0x20,
    VEC_LAPIC_TIMER = 0xf0,
    VEC_IPI_CALL    = 0xf1,     /* run a function on another CPU */
    VEC_IPI_KICK    = 0xf2,     /* wake a CPU / force a VM exit */
    VEC_SPURIOUS    = 0xff,
};

void idt_init(void);            /* once, on the boot CPU */
void idt_load(void);            /* on every CPU */
void idt_set_handler(uint8_t vector, irq_handler_fn fn);

#endif
