/*
 * A flat image for `boot = flat`: 128 KiB meant to end at 1 MiB (0xE0000-0xFFFFF, where a
 * BIOS ROM sits; QEMU's -bios puts it there too), entered in real mode at F000:FFF0.
 *
 *   0xE0000  the guest image as a flat binary (its Multiboot header first)
 *   0xFFF00  the stub below: to protected mode, copy the image to 1 MiB, enter it at
 *            GUEST_FLAT_ENTRY with EAX = 0 (not a Multiboot entry)
 *   0xFFFF0  the reset vector: a far jump to the stub
 *
 * Build with -DPAYLOAD='"path/to/image.bin"', link at FLAT_BASE as a binary.
 */
#include "guest/lib/layout.h"

#define FLAT_BASE 0xe0000
#define FLAT_SIZE 0x20000
#define STUB_OFF  0x1ff00
#define SEG_F000  0xf0000

    .code16
    .text
    .globl image
image:
    .incbin PAYLOAD
image_end:

    .org STUB_OFF
stub16:
    cli
    cld
    inb $0x92, %al                  /* fast A20 on, no reset */
    orb $0x02, %al
    andb $0xfe, %al
    outb %al, $0x92
    lgdtl %cs:(flat_gdt_ptr - SEG_F000)
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x08, $stub32

    .code32
stub32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl $image, %esi
    movl $GUEST_LOAD_ADDR, %edi
    movl $(image_end - image), %ecx
    rep movsb
    xorl %eax, %eax
    xorl %ebx, %ebx
    movl $GUEST_FLAT_ENTRY, %edx
    jmp *%edx

    .balign 8
flat_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff        /* 0x08: flat 32-bit code */
    .quad 0x00cf92000000ffff        /* 0x10: flat data */
flat_gdt_ptr:
    .word 3 * 8 - 1
    .long flat_gdt

    .org FLAT_SIZE - 16
    .code16
reset_vector:
    ljmp $0xf000, $(stub16 - SEG_F000)
    .org FLAT_SIZE

    .section .note.GNU-stack, "", @progbits
