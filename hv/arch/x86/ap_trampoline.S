/*
 * Application processor start-up: copied to a page below 1 MiB, entered in real mode by
 * SIPI, goes straight to long mode on the hypervisor's page tables (whose low identity map
 * covers this page) and jumps to ap_entry(percpu) on the CPU's own stack.
 * The fields at the end are filled in by smp.c before each SIPI.
 */
    .section .ap_trampoline, "a"
    .code16
    .globl ap_trampoline
ap_trampoline:
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    lgdtl tr_gdt_ptr - ap_trampoline
    movl tr_cr3 - ap_trampoline, %eax
    movl %eax, %cr3
    movl %cr4, %eax
    orl $(1 << 5), %eax             /* PAE */
    movl %eax, %cr4
    movl $0xc0000080, %ecx
    rdmsr
    orl $(1 << 8), %eax             /* LME */
    wrmsr
    movl %cr0, %eax
    andl $0x9fffffff, %eax          /* caches on (CD, NW clear) */
    orl $0x80010001, %eax           /* PG | WP | PE */
    movl %eax, %cr0
    ljmpl *(tr_far_ptr - ap_trampoline)

    .code64
tr_long_mode:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    /* Take the next per-CPU block: several APs may arrive at once after a broadcast. */
    movl $1, %eax
    lock xaddl %eax, tr_counter(%rip)
    cmpl tr_slots(%rip), %eax
    jae 3f
    leaq tr_table(%rip), %rbx
    movq (%rbx,%rax,8), %rdi
    movq 16(%rdi), %rsp             /* struct percpu.stack_top */
    movq tr_entry(%rip), %rax
    xorl %ebp, %ebp
    jmp *%rax
3:  cli                             /* more CPUs than blocks: this one stays off */
    hlt
    jmp 3b

    .balign 16
tr_gdt:
    .quad 0
    .quad 0x00af9a000000ffff
    .quad 0x00cf92000000ffff
    .globl tr_gdt_ptr
tr_gdt_ptr:
    .word 23
    .long 0                         /* patched: physical address of tr_gdt */
    .balign 8
tr_far_ptr:
    .long 0                         /* patched: physical address of tr_long_mode */
    .word 0x08
    .balign 8
tr_cr3:     .quad 0
tr_entry:   .quad 0
tr_counter: .long 0
tr_slots:   .long 0
tr_table:   .fill 64, 8, 0
    .globl ap_trampoline_end
ap_trampoline_end:

    .globl tr_off_gdt, tr_off_gdt_ptr, tr_off_far_ptr, tr_off_long_mode
    .globl tr_off_cr3, tr_off_entry, tr_off_counter, tr_off_slots, tr_off_table
    .set tr_off_gdt, tr_gdt - ap_trampoline
    .set tr_off_gdt_ptr, tr_gdt_ptr - ap_trampoline
    .set tr_off_far_ptr, tr_far_ptr - ap_trampoline
    .set tr_off_long_mode, tr_long_mode - ap_trampoline
    .set tr_off_cr3, tr_cr3 - ap_trampoline
    .set tr_off_counter, tr_counter - ap_trampoline
    .set tr_off_slots, tr_slots - ap_trampoline
    .set tr_off_table, tr_table - ap_trampoline
    .set tr_off_entry, tr_entry - ap_trampoline
