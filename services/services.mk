# The top layer: the table of services the kernel starts (hv/core/services.h).
KERNEL_SRCS += services/service_table.c
