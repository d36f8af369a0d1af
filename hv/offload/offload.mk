# Token-based copy offload (hv/offload/TOKEN.md): tokens, the provider, their tests.
# Before hv/storage/*.mk alphabetically: recursive `=` for anything naming its variables.
OFFLOAD_TOKEN_SRCS := hv/offload/token.c hv/lib/guid.c

KERNEL_SRCS += hv/offload/token.c

UNIT_TESTS += test_offload_token
test_offload_token_SRCS := tests/unit/test_offload_token.c $(OFFLOAD_TOKEN_SRCS)
test_offload_token_LIBS := -lbearssl

FUZZ_TARGETS += fuzz_offload_token
fuzz_offload_token_SRCS := tests/fuzz/fuzz_offload_token.c $(OFFLOAD_TOKEN_SRCS)

# The provider and its pool objects; host-tested on a FAT32 pool in memory with VHDX disks.
OFFLOAD_SRCS := hv/offload/offload.c hv/offload/offload_pool.c hv/offload/grant.c \
	hv/storage/pool_clone.c
KERNEL_SRCS += $(OFFLOAD_SRCS)

UNIT_TESTS += test_offload
test_offload_SRCS = tests/unit/test_offload.c tests/unit/test_block_mem.c tests/unit/offload_fixture.c \
	$(OFFLOAD_SRCS) \
	hv/offload/token.c $(FAT32_SRCS) $(BLOCK_SRCS) $(VHDX_CORE_SRCS) hv/lib/format.c
test_offload_LIBS := -lbearssl

# Block sharing: whole-disk offload writes as linked clones (hv/storage/pool_clone.c), a
# power cut after every write of a clone, recovered, judged by fsck.fat.
UNIT_TESTS += test_offload_clone
test_offload_clone_SRCS = tests/unit/test_offload_clone.c tests/unit/test_block_mem.c \
	tests/unit/pool_parent_env.c tests/unit/offload_fixture.c \
	$(OFFLOAD_SRCS) hv/offload/token.c $(FAT32_SRCS) $(BLOCK_SRCS) $(VHDX_CORE_SRCS) \
	hv/lib/format.c
test_offload_clone_LIBS := -lbearssl

FUZZ_TARGETS += fuzz_pool_clone
fuzz_pool_clone_SRCS = tests/fuzz/fuzz_pool_clone.c tests/unit/test_block_mem.c \
	tests/unit/pool_parent_env.c \
	hv/storage/pool_clone.c $(FAT32_SRCS) $(BLOCK_SRCS) $(VHDX_CORE_SRCS) hv/lib/format.c

# The provider behind the control server; the host daemon (atoll-control-hostd --pool)
# runs the real provider on a pool image through tests/net/fake_offload.c.
KERNEL_SRCS += hv/offload/offload_ctl.c
OFFLOAD_HOSTD_SRCS = tests/net/fake_offload.c tests/net/host_pool_file.c hv/offload/offload_ctl.c $(OFFLOAD_SRCS) \
	hv/offload/token.c $(FAT32_SRCS) $(BLOCK_SRCS) $(VHDX_CORE_SRCS)

# `make test-offload-kernel`: the kernel's provider under QEMU TCG, driven by atollctl,
# inside one host and between two that never exchanged keys (atollctl grants B a token of
# A, B pulls it from A's offload link; every refusal, the bytes through atollctl):
# tests/net/run-kernel-offload-tests, about 45 s (90 s on the loaded build machine); part of
# `make test`.
TEST_STEPS += test-offload-kernel
.PHONY: test-offload-kernel
test-offload-kernel: $(BUILD)/atoll.elf $(BUILD)/tools/atollctl $(BUILD)/tools/vhdx \
		$(BUILD)/guest/tests/spin.elf
	$(Q)tests/net/run-kernel-offload-tests $(BUILD)/atoll.elf $(BUILD)/tools/atollctl \
		$(BUILD)/tools/vhdx $(BUILD)/net/offload-kernel-test

# The offload control commands with stub ops (argument decoding, refusals, replies).
UNIT_TESTS += test_ctl_offload
test_ctl_offload_SRCS = tests/unit/test_ctl_offload.c $(NET_CONTROL_SRCS) tests/net/fake_hv.c \
	hv/lib/format.c

# Grants: the initiator's introduction of two providers (hv/offload/grant.h); the format
# and the source provider's checks, tested with real ECDSA keys.  The transport: net/kernel/offload_link.c.
UNIT_TESTS += test_offload_grant
test_offload_grant_SRCS = tests/unit/test_offload_grant.c hv/offload/grant.c $(NET_TLS_SRCS)
test_offload_grant_LIBS := -lbearssl

FUZZ_TARGETS += fuzz_offload_grant
fuzz_offload_grant_SRCS := tests/fuzz/fuzz_offload_grant.c hv/offload/grant.c

FUZZ_TARGETS += fuzz_ctl_offload
fuzz_ctl_offload_SRCS = tests/fuzz/fuzz_ctl_offload.c $(NET_CONTROL_SRCS) tests/net/fake_hv.c \
	hv/lib/format.c

# The offload link's wire format (net/kernel/offload_link.c): B's request, A's frames.
KERNEL_SRCS += hv/offload/offload_wire.c
UNIT_TESTS += test_offload_wire
test_offload_wire_SRCS := tests/unit/test_offload_wire.c hv/offload/offload_wire.c

FUZZ_TARGETS += fuzz_offload_wire
fuzz_offload_wire_SRCS := tests/fuzz/fuzz_offload_wire.c hv/offload/offload_wire.c

# Two providers joined in memory through a grant (the link's two halves, without TLS).
UNIT_TESTS += test_offload_peer
test_offload_peer_SRCS = tests/unit/test_offload_peer.c tests/unit/test_block_mem.c \
	$(OFFLOAD_SRCS) hv/offload/token.c $(FAT32_SRCS) $(BLOCK_SRCS) $(VHDX_CORE_SRCS) \
	hv/lib/format.c $(NET_TLS_SRCS)
test_offload_peer_LIBS := -lbearssl

# `make bench`: offload copy inside one pool against a client-mediated copy, same run
# (tests/bench/offload_bench.c): rows copied and a row with the blocks shared (a linked
# clone); 5 to 11 minutes a run on the loaded build machine, most of it the anchors; about
# 5 GiB of disk in build/bench/offload-work while it runs.
OFFLOAD_BENCH := $(BUILD)/bench/offload-bench
BENCHES += $(BUILD)/bench/run-offload-bench
$(OFFLOAD_BENCH): tests/bench/offload_bench.c tests/net/host_pool_file.c tests/unit/pool_parent_env.c $(OFFLOAD_SRCS) hv/offload/token.c $(FAT32_SRCS) \
		$(VHDX_CORE_SRCS) $(wildcard hv/offload/*.h) tests/bench/bench_cli.h
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) -o $@ tests/bench/offload_bench.c tests/net/host_pool_file.c tests/unit/pool_parent_env.c $(OFFLOAD_SRCS) \
		hv/offload/token.c $(FAT32_SRCS) $(BLOCK_SRCS) $(VHDX_CORE_SRCS) hv/lib/format.c -lbearssl

$(BUILD)/bench/run-offload-bench: $(OFFLOAD_BENCH) $(BUILD)/tools/vhdx
	@mkdir -p $(@D)
	$(Q)printf '#!/bin/sh\nexec %s %s %s %s\n' "$(abspath tests/bench/offload-bench)" \
		"$(abspath $(OFFLOAD_BENCH))" "$(abspath $(BUILD)/tools/vhdx)" \
		"$(abspath $(BUILD)/bench/offload-work)" >$@
	$(Q)chmod +x $@

tools: $(BUILD)/bench/run-offload-bench

# `make bench-offload-hosts`, also a `make bench` row: offload between two hosts (QEMU TCG)
# against atollctl copying through itself, same run, with the bytes through the initiator
# (tests/bench/offload-hosts-bench; about two minutes a run, most of it the two boots).
BENCHES += $(BUILD)/bench/run-offload-hosts-bench
$(BUILD)/bench/run-offload-hosts-bench: $(BUILD)/atoll.elf $(BUILD)/tools/atollctl
	@mkdir -p $(@D)
	$(Q)printf '#!/bin/sh\nexec %s %s %s %s\n' "$(abspath tests/bench/offload-hosts-bench)" \
		"$(abspath $(BUILD)/atoll.elf)" "$(abspath $(BUILD)/tools/atollctl)" \
		"$(abspath $(BUILD)/bench/offload-hosts-work)" >$@
	$(Q)chmod +x $@

tools: $(BUILD)/bench/run-offload-hosts-bench
.PHONY: bench-offload-hosts
bench-offload-hosts: $(BUILD)/bench/run-offload-hosts-bench
	$(Q)$(BUILD)/bench/run-offload-hosts-bench
