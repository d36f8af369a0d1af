# Live migration (hv/core/migrate.h) with the portable protocol (hv/migrate).
KERNEL_SRCS += hv/core/migrate_source.c hv/core/migrate_target.c hv/core/migrate_chan.c \
	hv/migrate/mig_proto.c hv/migrate/mig_choice.c hv/migrate/mig_converge.c \
	hv/migrate/mig_learn.c
