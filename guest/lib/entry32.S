/*
 * Multiboot v1 header and the 32-bit entry.
 *
 * A Multiboot loader enters _start32 in 32-bit protected mode, paging off, with
 * EAX = 0x2BADB002 and EBX = the info block.  The flat-image stub enters _start32_flat
 * (at GUEST_FLAT_ENTRY) with EAX = 0 after copying this image to 1 MiB; that path zeroes
 * .bss itself since no loader did.  Both identity-map the low 4 GiB with 2 MiB pages
 * (the top GiB, where the LAPIC lives, uncached), enter long mode and call guest_start().
 */
#include "guest/lib/layout.h"

#define MB_FLAGS 0x00000003     /* page-align modules, want memory info */
#define PTE_P    0x001
#define PTE_RW   0x002
#define PTE_PWT  0x008
#define PTE_PCD  0x010
#define PTE_PS   0x080

    .section .multiboot, "ax"
    .code32
    .balign 4
    .long MULTIBOOT_HEADER_MAGIC, MB_FLAGS, -(MULTIBOOT_HEADER_MAGIC + MB_FLAGS)
    /* GUEST_FLAT_ENTRY: the first byte after the 12-byte header */
    jmp _start32_flat

    .section .text.entry32, "ax"
    .code32
    .globl _start32
_start32:
    cli
    cld
    movl %eax, boot_magic
    movl %ebx, boot_info_addr
    jmp enter_long_mode

    .globl _start32_flat
_start32_flat:
    cli
    cld
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb
    movl $0, boot_magic
    movl $0, boot_info_addr

enter_long_mode:
    movl $boot_stack_top, %esp
    call build_page_tables
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
    andl $0x9fffffff, %eax          /* caches on: CD = NW = 0 */
    orl $0x80000001, %eax           /* PG | PE */
    movl %eax, %cr0
    lgdt gdt_ptr
    ljmp $SEL_CODE64, $long_entry

build_page_tables:
    movl $boot_pml4, %edi
    movl $(6 * 4096 / 4), %ecx
    xorl %eax, %eax
    rep stosl
    movl $boot_pdpt + (PTE_P | PTE_RW), boot_pml4
    movl $boot_pd + (PTE_P | PTE_RW), %eax
    movl $boot_pdpt, %edi
    movl $4, %ecx
1:  movl %eax, (%edi)
    addl $4096, %eax
    addl $8, %edi
    loop 1b
    movl $(PTE_P | PTE_RW | PTE_PS), %eax
    movl $boot_pd, %edi
    movl $2048, %ecx
2:  movl %eax, (%edi)
    addl $0x200000, %eax
    addl $8, %edi
    loop 2b
    movl $boot_pd + 3 * 4096, %edi
    movl $512, %ecx
3:  orl $(PTE_PCD | PTE_PWT), (%edi)
    addl $8, %edi
    loop 3b
    ret

    .code64
    /* ELF64 entry (boot = elf64): already in long mode on the loader's identity map. */
    .globl _start64
_start64:
    cli
    cld
    movq $boot_stack_top, %rsp
    movl $0, boot_magic(%rip)
    movl $0, boot_info_addr(%rip)
    lgdt gdt_ptr(%rip)
    pushq $SEL_CODE64
    leaq long_entry(%rip), %rax
    pushq %rax
    lretq

long_entry:
    movw $SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movq $boot_stack_top, %rsp
    xorl %ebp, %ebp
    call guest_start
4:  cli
    hlt
    jmp 4b

    .section .rodata
    .balign 16
    .globl gdt
gdt:
    .quad 0
    .quad 0x00af9a000000ffff        /* SEL_CODE64 */
    .quad 0x00cf92000000ffff        /* SEL_DATA */
    .quad 0x00cf9a000000ffff        /* SEL_CODE32 (AP trampoline) */
gdt_end:
    .globl gdt_ptr
gdt_ptr:
    .word gdt_end - gdt - 1
    .quad gdt

    .section .data
    .balign 8
    .globl boot_magic, boot_info_addr
boot_magic:     .long 0
boot_info_addr: .long 0

    .section .bss
    .balign 4096
    .globl boot_pml4
boot_pml4:  .skip 4096
boot_pdpt:  .skip 4096
boot_pd:    .skip 4 * 4096
    .balign 16
boot_stack: .skip BOOT_STACK_SIZE
boot_stack_top:
