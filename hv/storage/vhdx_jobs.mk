# Disk jobs (copy, convert, compact, defrag, merge as stepped background jobs) and the
# de-duplication index; after vhdx.mk (alphabetical), whose variables it extends.
DISK_JOB_SRCS := hv/storage/disk_job.c hv/storage/dedup_index.c
KERNEL_SRCS += hv/storage/disk_op_request.c
KERNEL_SRCS += $(DISK_JOB_SRCS)
VHDX_HOST_SRCS += $(DISK_JOB_SRCS)
VHDX_HEADERS += hv/storage/disk_job.h hv/storage/dedup_index.h

UNIT_TESTS += test_disk_job
test_disk_job_SRCS := tests/unit/test_disk_job.c tests/unit/test_vhdx_mem_io.c $(VHDX_HOST_SRCS)
test_disk_job_LIBS := -lbearssl

FUZZ_TARGETS += fuzz_disk_job
fuzz_disk_job_SRCS := tests/fuzz/fuzz_disk_job.c tests/unit/test_vhdx_mem_io.c $(VHDX_HOST_SRCS)

UNIT_TESTS += test_disk_op_request
test_disk_op_request_SRCS := tests/unit/test_disk_op_request.c hv/storage/disk_op_request.c \
	hv/lib/format.c

FUZZ_TARGETS += fuzz_disk_op_request
fuzz_disk_op_request_SRCS := tests/fuzz/fuzz_disk_op_request.c hv/storage/disk_op_request.c \
	hv/lib/format.c
