# Token-based copy offload (hv/offload/TOKEN.md): tokens, the provider, their tests.
# Before hv/storage/*.mk alphabetically: recursive `=` for anything naming its variables.
OFFLOAD_TOKEN_SRCS := hv/offload/token.c hv/lib/guid.c

KERNEL_SRCS += hv/offload/token.c

UNIT_TESTS += test_offload_token
test_offload_token_SRCS := tests/unit/test_offload_token.c $(OFFLOAD_TOKEN_SRCS)
test_offload_token_LIBS := -lbearssl

FUZZ_TARGETS += fuzz_offload_token
fuzz_offload_token_SRCS := tests/fuzz/fuzz_offload_token.c $(OFFLOAD_TOKEN_SRCS)
