# The guest tokens of a partition (hv/core/partition_tokens.c): HMAC-SHA256 from BearSSL.
KERNEL_SRCS += hv/core/partition_tokens.c
$(BUILD)/k/hv/core/partition_tokens.o: KCFLAGS += -isystem $(BEARSSL_DIR)/inc
