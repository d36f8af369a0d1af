/*
 * The 64-bit entry both loaders reach: UEFI jumps to boot_entry64 (RDI = boot_info),
 * the Multiboot2 stub to boot_long_mode (EDI = kind, ESI = info).  Switches to the boot
 * page tables (identity 0-4 GiB, kernel at -2 GiB), clears .bss and calls hv_main.
 */
#include "hv/arch/x86/boot_layout.h"

    .section .boot.text, "ax"
    .code64
    .globl boot_entry64
boot_entry64:
    cli
    cld
    movq %rdi, %rsi
    movl $BOOT_KIND_EFI, %edi
    lgdt boot_gdt_ptr
    leaq boot_stack_top(%rip), %rsp
    pushq $BOOT_CS64
    leaq boot_long_mode(%rip), %rax
    pushq %rax
    lretq

    .globl boot_long_mode
boot_long_mode:
    movl $BOOT_DS, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    movl $boot_pml4, %eax
    movq %rax, %cr3
    movl $boot_stack_top, %esp
    movl %edi, %r12d
    movl %esi, %r13d
    movabsq $1f, %rax
    jmp *%rax

    .text
1:  movabsq $__bss_start, %rdi
    movabsq $__bss_end, %rcx
    subq %rdi, %rcx
    xorl %eax, %eax
    rep stosb
    movabsq $(boot_stack_top + KERNEL_VIRT_OFFSET), %rsp
    xorl %ebp, %ebp
    movl %r12d, %edi
    movl %r13d, %esi
    call hv_main
2:  cli
    hlt
    jmp 2b

    .section .boot.data, "aw"
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff        /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff        /* 0x10: data */
boot_gdt_end:
    .globl boot_gdt_ptr
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt

    .balign 4096
    .globl boot_pml4
boot_pml4:
    .quad boot_pdpt_low + 0x3
    .fill 510, 8, 0
    .quad boot_pdpt_high + 0x3
boot_pdpt_low:
    .quad boot_pd + 0x0000 + 0x3
    .quad boot_pd + 0x1000 + 0x3
    .quad boot_pd + 0x2000 + 0x3
    .quad boot_pd + 0x3000 + 0x3
    .fill 508, 8, 0
boot_pdpt_high:
    .fill 510, 8, 0
    .quad boot_pd + 0x3             /* -2 GiB -> physical 0..1 GiB */
    .quad 0
boot_pd:                            /* 2048 x 2 MiB: physical 0..4 GiB */
    .set page, 0
    .rept 2048
    .quad (page << 21) | 0x83
    .set page, page + 1
    .endr

    .balign 16
    .globl boot_stack_top
boot_stack:
    .fill BOOT_STACK_SIZE, 1, 0
boot_stack_top:
