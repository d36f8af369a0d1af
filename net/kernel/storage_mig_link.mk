# Background storage migration in the kernel: the source and target halves
# (hv/core/storage_migrate_*.c) and the listener (net/kernel/storage_mig_link.c, lwIP
# headers like the rest of net/kernel; after kernel_net.mk, whose NET_KERNEL_INC it uses).
KERNEL_SRCS += hv/core/storage_migrate_source.c hv/core/storage_migrate_target.c \
	hv/core/storage_migrate_parents.c \
	hv/core/storage_migrate_chan.c net/kernel/storage_mig_link.c
$(BUILD)/k/net/kernel/storage_mig_link.o: KCFLAGS += $(NET_KERNEL_INC)
$(BUILD)/k/net/kernel/storage_mig_link.o: net/lwip/lwipopts.h net/lwip/arch/cc.h
