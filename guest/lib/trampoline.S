/*
 * AP start.  smp.c copies [trampoline_start, trampoline_end) to TRAMPOLINE_ADDR and sends
 * STARTUP with vector TRAMPOLINE_ADDR >> 12; the AP runs it in real mode, switches to
 * protected mode, then to long mode on the BSP's page tables, and jumps to ap_long_entry
 * in the image, which takes its stack from ap_boot_stack and calls ap_start().
 */
#include "guest/lib/layout.h"

#define TRAMP(sym) (TRAMPOLINE_ADDR + (sym) - trampoline_start)

    .section .rodata
    .code16
    .balign 16
    .globl trampoline_start, trampoline_end
trampoline_start:
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    lgdtl tramp_gdt_ptr - trampoline_start
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $SEL_CODE32, $TRAMP(tramp32)

    .code32
tramp32:
    movw $SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl %cr4, %eax
    orl $0x20, %eax                 /* PAE */
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx          /* EFER.LME */
    rdmsr
    orl $0x100, %eax
    wrmsr
    movl %cr0, %eax
    andl $0x9fffffff, %eax
    orl $0x80000001, %eax
    movl %eax, %cr0
    ljmp $SEL_CODE64, $ap_long_entry

    .balign 8
tramp_gdt_ptr:
    .word 4 * 8 - 1
    .long gdt
trampoline_end:

    .text
    .code64
ap_long_entry:
    movw $SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movq ap_boot_stack(%rip), %rsp
    xorl %ebp, %ebp
    call ap_start
1:  cli
    hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
