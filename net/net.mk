# Networking: the control protocol and server (net/control) and the TLS glue on BearSSL
# (net/tls).  Both are portable: the host tools and tests build them now; the kernel adds
#   KERNEL_SRCS += $(NET_CONTROL_SRCS) $(NET_TLS_SRCS)
# once BearSSL is built freestanding into KERNEL_LIBS.

NET_CONTROL_SRCS := net/control/ctl_codec.c net/control/ctl_server.c net/control/ctl_commands.c \
	net/control/ctl_offload.c \
	net/control/ctl_disk.c hv/lib/peer_slots.c
NET_TLS_SRCS     := net/tls/tls_identity.c net/tls/tls_selfcert.c net/tls/tls_pin.c \
                    net/tls/tls_conn.c net/tls/tls_grant.c
NET_HEADERS      := $(wildcard net/control/*.h net/tls/*.h tests/net/*.h)

UNIT_TESTS += test_ctl_codec test_ctl_server test_tls_conn
UNIT_TESTS += test_ctl_disk
test_ctl_disk_SRCS := tests/unit/test_ctl_disk.c $(NET_CONTROL_SRCS) tests/net/fake_hv.c hv/lib/format.c
test_ctl_codec_SRCS  := tests/unit/test_ctl_codec.c $(NET_CONTROL_SRCS)
test_ctl_server_SRCS := tests/unit/test_ctl_server.c $(NET_CONTROL_SRCS) tests/net/fake_hv.c hv/lib/format.c
test_tls_conn_SRCS   := tests/unit/test_tls_conn.c $(NET_TLS_SRCS)
test_tls_conn_LIBS   := -lbearssl
$(BUILD)/unit/test_ctl_codec $(BUILD)/unit/test_ctl_server $(BUILD)/unit/test_tls_conn: $(NET_HEADERS)

FUZZ_TARGETS += fuzz_control_msg
fuzz_control_msg_SRCS := tests/fuzz/fuzz_control_msg.c $(NET_CONTROL_SRCS) tests/net/fake_hv.c hv/lib/format.c
$(BUILD)/fuzz/fuzz_control_msg: $(NET_HEADERS)

# Freestanding check: every net source compiles with the kernel's flags.  BearSSL headers
# come from the fetched source tree when it exists, else from Debian's libbearssl-dev.
NET_BEARSSL_SRC_INC := $(firstword $(wildcard $(BUILD)/third_party/src/bearssl*/inc))
NET_BEARSSL_INC     := $(if $(NET_BEARSSL_SRC_INC),$(NET_BEARSSL_SRC_INC),$(BUILD)/net/bearssl-inc)
NET_K_OBJS := $(patsubst %.c,$(BUILD)/net/k/%.o,$(NET_CONTROL_SRCS) $(NET_TLS_SRCS))

$(BUILD)/net/bearssl-inc/bearssl.h:
	@mkdir -p $(@D)
	$(Q)test -f /usr/include/bearssl/bearssl.h || { echo "error: BearSSL headers missing: apt-get install libbearssl-dev"; exit 1; }
	$(Q)cp /usr/include/bearssl/*.h $(@D)/

$(BUILD)/net/k/%.o: %.c $(NET_HEADERS) $(if $(NET_BEARSSL_SRC_INC),,$(BUILD)/net/bearssl-inc/bearssl.h)
	@mkdir -p $(@D)
	@echo "  KCC     $<"
	$(Q)$(KCC) $(KCFLAGS) -isystem $(NET_BEARSSL_INC) -c $< -o $@

.PHONY: net-freestanding
net-freestanding: $(NET_K_OBJS)
	@echo "net: freestanding objects in $(BUILD)/net/k"
