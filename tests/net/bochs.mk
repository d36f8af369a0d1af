# `make test-net-bochs`: two Atoll hosts under Bochs joined by bxhub reach each other (ICMP
# echo and a pinned TLS session), with the kernel and peer checks of the QEMU two-host test
# (net/kernel/kernel_net.mk: NET_TEST_KERNEL); host B boots the real hypervisor with a
# partition that host A starts and stops through B's control server.  Ends "net-bochs: N passed, N failed".
TEST_STEPS += test-net-bochs
.PHONY: test-net-bochs
test-net-bochs: $(NET_TEST_KERNEL) $(BUILD)/tools/atollctl $(BUILD)/atoll.elf $(GUEST_OUT)/tests/isolation_a.elf
	$(Q)tests/net/run-bochs-net-tests $(NET_TEST_KERNEL) $(BUILD)/tools/atollctl $(BUILD)/net/bochs-test \
	    $(BUILD)/atoll.elf $(GUEST_OUT)/tests/isolation_a.elf
