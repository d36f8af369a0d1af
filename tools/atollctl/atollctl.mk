# atollctl (the operator CLI) and atoll-control-hostd (the portable control server over
# POSIX sockets, with a fake hypervisor, for host tests).  Both link Debian's libbearssl.

ATOLLCTL_SRCS := tools/atollctl/main.c tools/atollctl/client.c tools/atollctl/render.c tools/atollctl/report.c \
                 tools/atollctl/progress.c tools/atollctl/host_io.c net/control/ctl_codec.c \
                 tools/atollctl/offload.c tools/atollctl/disk_cmd.c hv/offload/grant.c \
                 $(NET_TLS_SRCS)
HOSTD_SRCS := tools/atoll-control-hostd/hostd.c tools/atollctl/host_io.c $(NET_CONTROL_SRCS) tests/net/fake_disk.c \
              $(NET_TLS_SRCS) tests/net/fake_hv.c hv/lib/format.c $(OFFLOAD_HOSTD_SRCS)
ATOLLCTL_HEADERS := $(wildcard tools/atollctl/*.h net/control/*.h net/tls/*.h tests/net/*.h hv/offload/*.h)

HOST_TOOLS += $(BUILD)/tools/atollctl $(BUILD)/tools/atoll-control-hostd

$(BUILD)/tools/atollctl: $(ATOLLCTL_SRCS) $(ATOLLCTL_HEADERS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) -o $@ $(ATOLLCTL_SRCS) -lbearssl

$(BUILD)/tools/atoll-control-hostd: $(HOSTD_SRCS) $(ATOLLCTL_HEADERS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) -o $@ $(HOSTD_SRCS) -lbearssl

# The same daemon under ASan + UBSan, for the host control tests (leaks, overflows).
$(BUILD)/net/atoll-control-hostd-asan: $(HOSTD_SRCS) $(ATOLLCTL_HEADERS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TEST_CFLAGS) -DATOLL_VERSION='"$(ATOLL_VERSION)"' -o $@ $(HOSTD_SRCS) -lbearssl

TEST_STEPS += test-control
.PHONY: test-control
test-control: $(BUILD)/tools/atollctl $(BUILD)/net/atoll-control-hostd-asan $(BUILD)/tools/vhdx
	$(Q)tests/net/run-control-tests $(BUILD)/tools/atollctl $(BUILD)/net/atoll-control-hostd-asan $(BUILD)/net/control-test
