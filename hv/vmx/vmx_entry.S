/*
 * int vmx_enter(uint64_t *gpr, int launched)
 * Saves the host's callee-saved registers, records this stack as HOST_RSP, loads the
 * guest's general registers and runs VMLAUNCH or VMRESUME.  A VM exit lands at
 * vmx_exit_point (HOST_RIP) with the stack as it was, where the guest registers are
 * stored back into gpr[] and 0 is returned.  A failed entry returns 1.
 */
#define HOST_RSP 0x6c14

    .text
    .globl vmx_enter
vmx_enter:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    pushq %rdi
    movl $HOST_RSP, %eax
    vmwrite %rsp, %rax
    movl %esi, %ecx                 /* launched? */
    testl %ecx, %ecx
    movq 0*8(%rdi), %rax
    movq 1*8(%rdi), %rcx
    movq 2*8(%rdi), %rdx
    movq 3*8(%rdi), %rbx
    movq 5*8(%rdi), %rbp
    movq 6*8(%rdi), %rsi
    movq 8*8(%rdi), %r8
    movq 9*8(%rdi), %r9
    movq 10*8(%rdi), %r10
    movq 11*8(%rdi), %r11
    movq 12*8(%rdi), %r12
    movq 13*8(%rdi), %r13
    movq 14*8(%rdi), %r14
    movq 15*8(%rdi), %r15
    movq 7*8(%rdi), %rdi
    jnz 1f                          /* flags from the test above survive the moves */
    vmlaunch
    jmp 2f
1:  vmresume
2:  /* entry failed */
    popq %rdi
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    movl $1, %eax
    ret

    .globl vmx_exit_point
vmx_exit_point:
    pushq %rdi
    movq 8(%rsp), %rdi              /* gpr[] */
    movq %rax, 0*8(%rdi)
    movq %rcx, 1*8(%rdi)
    movq %rdx, 2*8(%rdi)
    movq %rbx, 3*8(%rdi)
    movq %rbp, 5*8(%rdi)
    movq %rsi, 6*8(%rdi)
    movq %r8, 8*8(%rdi)
    movq %r9, 9*8(%rdi)
    movq %r10, 10*8(%rdi)
    movq %r11, 11*8(%rdi)
    movq %r12, 12*8(%rdi)
    movq %r13, 13*8(%rdi)
    movq %r14, 14*8(%rdi)
    movq %r15, 15*8(%rdi)
    popq %rax                       /* guest rdi */
    movq %rax, 7*8(%rdi)
    popq %rdi
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    xorl %eax, %eax
    ret
