# Worker tasks: work items run by priority on the CPUs that run no vCPU (worker.h).
KERNEL_SRCS += hv/core/worker_queue.c hv/core/worker.c hv/core/worker_selftest.c hv/core/mem_scrub.c

UNIT_TESTS += test_worker_queue
test_worker_queue_SRCS := tests/unit/test_worker_queue.c hv/core/worker_queue.c

UNIT_TESTS += test_manifest_service_cpus
test_manifest_service_cpus_SRCS := tests/unit/test_manifest_service_cpus.c hv/core/config/manifest.c \
	hv/lib/format.c

UNIT_TESTS += test_worker_boot_word
test_worker_boot_word_SRCS := tests/unit/test_worker_boot_word.c hv/core/config/boot_config.c \
	hv/lib/cmdline.c hv/lib/format.c
