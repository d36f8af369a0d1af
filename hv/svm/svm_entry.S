/*
 * void svm_enter(uint64_t *gpr, uint64_t vmcb_phys)
 * With GIF clear and the host's own VMSAVE done by the caller: saves the host's
 * callee-saved registers, loads the guest's general registers but RAX and RSP (the VMCB
 * holds those), VMLOADs the guest's FS, GS, TR, LDTR and syscall MSRs, runs VMRUN, and
 * after the #VMEXIT VMSAVEs them back and stores the guest's registers into gpr[].  The
 * caller VMLOADs the host's block again before anything uses GS.
 */
    .text
    .globl svm_enter
svm_enter:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    pushq %rdi
    movq %rsi, %rax
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
    vmload %rax
    vmrun %rax
    vmsave %rax
    pushq %rdi
    movq 8(%rsp), %rdi              /* gpr[] */
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
    ret
