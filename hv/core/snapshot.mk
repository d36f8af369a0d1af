# RAM snapshots into the pool and restores (hv/core/snapshot.h), with the portable
# snapshot modules and LZ4 built freestanding.
KERNEL_SRCS += hv/core/snapshot_save.c hv/core/snapshot_restore.c hv/core/snapshot_lazy.c \
	hv/core/snapshot_pool.c hv/snapshot/snap_lazy.c \
	hv/snapshot/snap_codec.c hv/snapshot/snap_policy.c hv/snapshot/snap_file.c \
	hv/snapshot/snap_passes.c
KERNEL_LIBS += $(LIB_LZ4)

build/k/hv/snapshot/snap_codec.o: KCFLAGS += $(filter-out -I%,$(TP_FLAGS_LZ4)) $(THIRD_PARTY_INC_LZ4)
