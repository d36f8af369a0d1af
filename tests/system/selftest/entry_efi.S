/* Harness self-test kernel (NOT Atoll): 64-bit entry from boot/efi (RDI = boot_info). */
    .text
    .globl _start
_start:
    cli
    lea stack_top(%rip), %rsp
    call selftest_efi_main
1:  hlt
    jmp 1b

    .bss
    .align 16
    .skip 16384
stack_top:
    .section .note.GNU-stack, "", @progbits
