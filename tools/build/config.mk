# Toolchains and flags shared by every fragment.

ATOLL_VERSION := 0.1.0

GCC_INCLUDE := $(shell gcc -print-file-name=include)

# The bare-metal side: freestanding C11 (gnu11), no libc, no SSE, kernel code model.
KCC      := gcc
KLD      := ld
KWARN    := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wpointer-arith -Wvla
KCFLAGS  := -std=gnu11 -O2 -g -ffreestanding -fno-stack-protector -mno-red-zone -fno-pic \
            -fno-pie -mcmodel=kernel -mno-sse -mno-mmx -mno-sse2 -mno-80387 -mgeneral-regs-only \
            -fno-omit-frame-pointer -fno-strict-aliasing -fno-common -fno-tree-loop-distribute-patterns -nostdinc \
            -isystem $(GCC_INCLUDE) -isystem hv/lib/libc/include -D_LIBC_LIMITS_H_ \
            -I. -DATOLL_KERNEL=1 -DATOLL_VERSION='"$(ATOLL_VERSION)"' $(KWARN)
KASFLAGS := $(filter-out -std=gnu11,$(KCFLAGS)) -D__ASSEMBLY__
KLDFLAGS := -nostdlib -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments

# Host side: unit tests under ASan + UBSan, libFuzzer targets, host tools.
HOSTCC   := gcc
HOST_WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wvla
HOST_TEST_CFLAGS := -std=gnu11 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer -I. -DATOLL_HOST=1 $(HOST_WARN)
HOST_TOOL_CFLAGS := -std=gnu11 -g -O2 -I. -DATOLL_HOST=1 -DATOLL_VERSION='"$(ATOLL_VERSION)"' $(HOST_WARN)
FUZZCC   := clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
            -I. -DATOLL_HOST=1 -DATOLL_FUZZ=1 -Wall -Wextra -Werror -Wno-unused-parameter

