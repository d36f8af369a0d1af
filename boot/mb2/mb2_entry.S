/*
 * Multiboot2 header and the 32-bit entry GRUB jumps to (EAX = magic, EBX = info).
 * Enters long mode on the shared boot page tables and continues at boot_long_mode.
 */
#include "hv/arch/x86/boot_layout.h"

#define MB2_MAGIC        0xe85250d6
#define MB2_ARCH_I386    0
#define MB2_BOOT_MAGIC   0x36d76289

    .section .multiboot2, "a"
    .balign 8
mb2_header:
    .long MB2_MAGIC
    .long MB2_ARCH_I386
    .long mb2_header_end - mb2_header
    .long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    /* entry address tag: GRUB starts us here in 32-bit protected mode */
    .balign 8
    .word 3, 0
    .long 12
    .long mb2_entry32
    /* module alignment tag: modules page aligned */
    .balign 8
    .word 6, 0
    .long 8
    /* end tag */
    .balign 8
    .word 0, 0
    .long 8
mb2_header_end:

    .section .boot.text, "ax"
    .code32
    .globl mb2_entry32
mb2_entry32:
    cli
    cld
    movl $boot_stack_top, %esp
    cmpl $MB2_BOOT_MAGIC, %eax
    jne 1f
    movl %ebx, %esi                 /* info block, physical */
    movl $BOOT_KIND_MB2, %edi

    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl %cr4, %eax
    orl $(1 << 5), %eax             /* PAE */
    movl %eax, %cr4
    movl $0xc0000080, %ecx          /* EFER.LME */
    rdmsr
    orl $(1 << 8), %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80010001, %eax           /* PG | WP | PE */
    movl %eax, %cr0
    lgdt boot_gdt_ptr
    ljmp $BOOT_CS64, $boot_long_mode
1:  /* not started by a Multiboot2 loader: nothing sensible to do */
    hlt
    jmp 1b
