KERNEL_SRCS += hv/arch/x86/ipi_call.c
