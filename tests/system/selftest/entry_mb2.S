/* Harness self-test kernel (NOT Atoll): Multiboot2 header and 32-bit entry. */
    .section .multiboot2, "a"
    .align 8
mb2_header:
    .long 0xe85250d6                 /* magic */
    .long 0                          /* architecture: i386 protected mode */
    .long mb2_header_end - mb2_header
    .long -(0xe85250d6 + 0 + (mb2_header_end - mb2_header))
    .short 0, 0                      /* end tag */
    .long 8
mb2_header_end:

    .text
    .globl _start
_start:
    cli
    mov $stack_top, %esp
    push %ebx                        /* multiboot2 info */
    push %eax                        /* magic */
    call selftest_mb2_main
1:  hlt
    jmp 1b

    .bss
    .align 16
    .skip 16384
stack_top:
    .section .note.GNU-stack, "", @progbits
