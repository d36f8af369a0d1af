# The hypervisor's network service: PCI, the e1000 driver, the lwIP port, and the TLS
# control server wired to the kernel (net/kernel).  The kernel calls net_service_start()
# and net_service_poll() (net/kernel/net_service.h).

NET_KERNEL_SRCS := drivers/pci/pci.c drivers/e1000/e1000.c \
    net/lwip/lwip_port.c net/lwip/e1000_netif.c \
    net/kernel/net_service.c net/kernel/net_options.c net/kernel/hw_entropy.c \
    net/kernel/tcp_stream.c net/kernel/tls_session.c \
    net/kernel/control_listener.c net/kernel/kernel_hv_ops.c net/kernel/peer_probe.c \
    net/kernel/net_sink.c net/kernel/kernel_offload.c net/kernel/offload_link.c net/kernel/migrate_link.c net/kernel/kernel_disk_ops.c \
    $(wildcard net/control/*.c net/tls/*.c)

# Partitions as the control server sees them: the real table once the kernel links
# hv/core/partition.c, a stand-in with none until then.
NET_KERNEL_SRCS += $(if $(filter hv/core/partition.c,$(KERNEL_SRCS)),\
    net/kernel/kernel_partitions.c,net/kernel/kernel_partitions_absent.c)

KERNEL_SRCS += $(NET_KERNEL_SRCS)
KERNEL_LIBS += $(LIB_LWIP) $(LIB_BEARSSL)

# Third-party headers for these objects only, as system headers (their warnings are not ours).
NET_KERNEL_INC := -isystem $(LWIP_DIR)/src/include -Inet/lwip -isystem $(BEARSSL_DIR)/inc
NET_KERNEL_OBJS := $(patsubst %.c,$(BUILD)/k/%.o,$(NET_KERNEL_SRCS))
$(NET_KERNEL_OBJS): KCFLAGS += $(NET_KERNEL_INC)
$(NET_KERNEL_OBJS): net/lwip/lwipopts.h net/lwip/arch/cc.h

# A network-only kernel for testing this service before the kernel's own run loop calls
# it: every kernel object except hv/core/run.o, with
# tests/net/net_only_run.c as hv_run (start the service, then poll it forever).
NET_ONLY_ELF  := $(BUILD)/net/atoll-net-only.elf
NET_ONLY_OBJS = $(filter-out $(BUILD)/k/hv/core/run.o,$(KERNEL_OBJS)) \
                $(BUILD)/k/tests/net/net_only_run.o
$(BUILD)/k/tests/net/net_only_run.o: KCFLAGS += $(NET_KERNEL_INC)

# (KERNEL_OBJS is defined after the fragments: depending on atoll.elf builds them all.)
$(NET_ONLY_ELF): $(BUILD)/atoll.elf $(BUILD)/k/tests/net/net_only_run.o $(KERNEL_LIBS) linker.ld
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(KLD) $(KLDFLAGS) -T linker.ld -o $@ $(NET_ONLY_OBJS) --start-group $(KERNEL_LIBS) --end-group

.PHONY: net-only-kernel
net-only-kernel: $(NET_ONLY_ELF)

# `make test-net-kernel`: the service under QEMU (tests/net/run-kernel-net-tests).  It boots
# the network-only kernel until the kernel's own run loop calls the service; then
# NET_TEST_KERNEL=$(BUILD)/atoll.elf.
NET_TEST_KERNEL ?= $(NET_ONLY_ELF)
TEST_STEPS += test-net-kernel
.PHONY: test-net-kernel
test-net-kernel: $(NET_TEST_KERNEL) $(BUILD)/tools/atollctl
	$(Q)tests/net/run-kernel-net-tests $(NET_TEST_KERNEL) $(BUILD)/tools/atollctl $(BUILD)/net/kernel-test

# `make bench`: bulk TLS vs plain TCP between two Atoll hosts under QEMU.
BENCHES += tests/net/bench-tls-vs-plain
bench: $(NET_ONLY_ELF) $(BUILD)/tools/atollctl
