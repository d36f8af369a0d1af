# Third-party libraries built freestanding for the hypervisor (TESTING.md, "The
# dependencies, freestanding"): lwIP, BearSSL, LZ4 and Zydis from Debian's orig tarballs,
# which tools/deps/install.sh unpacks into $(TP_SRC)/NAME-VERSION (paths in deps.mk).
#
# For other fragments:
#   THIRD_PARTY_INC_LWIP/_BEARSSL/_LZ4/_ZYDIS  compiler flags (-I, and -D where the headers
#                                              depend on them) to use a library's headers
#   LIB_LWIP, LIB_BEARSSL, LIB_LZ4, LIB_ZYDIS  the static libraries (add to KERNEL_LIBS to link)
#   THIRD_PARTY_LIBS                           all four
# `make third-party` builds them; `make check-third-party` proves each links with nothing
# but its allowed undefined symbols and holds no SSE, MMX or x87 instruction.

TP_OBJ  := $(TP)/obj
TP_SHIM := tools/deps/shim

LIB_LWIP    := $(TP)/liblwip.a
LIB_BEARSSL := $(TP)/libbearssl.a
LIB_LZ4     := $(TP)/liblz4.a
LIB_ZYDIS   := $(TP)/libzydis.a
THIRD_PARTY_LIBS := $(LIB_LWIP) $(LIB_BEARSSL) $(LIB_LZ4) $(LIB_ZYDIS)

# ---- flags -------------------------------------------------------------------------------
ZYDIS_DEFINES := -DZYAN_NO_LIBC -DZYDIS_STATIC_BUILD -DZYCORE_STATIC_BUILD \
                 -DZYDIS_DISABLE_ENCODER -DZYDIS_DISABLE_FORMATTER

THIRD_PARTY_INC_LWIP    := -I$(LWIP_DIR)/src/include -Inet/lwip
THIRD_PARTY_INC_BEARSSL := -I$(BEARSSL_DIR)/inc
THIRD_PARTY_INC_LZ4     := -I$(LZ4_DIR)/lib
THIRD_PARTY_INC_ZYDIS   := -I$(ZYDIS_DIR)/include -I$(TP_INC) $(ZYDIS_DEFINES)

# The kernel's code generation (KCFLAGS) without its warnings: upstream code is not ours
# to fix, so its warnings are silenced rather than made errors.
TP_CFLAGS := $(filter-out $(KWARN),$(KCFLAGS)) -w -isystem $(TP_SHIM)

TP_FLAGS_LWIP    := $(THIRD_PARTY_INC_LWIP)
TP_FLAGS_BEARSSL := $(THIRD_PARTY_INC_BEARSSL) -I$(BEARSSL_DIR)/src -DBR_AES_X86NI=0 -DBR_SSE2=0 \
                    -DBR_RDRAND=0 -DBR_USE_URANDOM=0 -DBR_USE_UNIX_TIME=0 -DBR_USE_WIN32_RAND=0 \
                    -DBR_USE_WIN32_TIME=0 -DBR_POWER8=0
TP_FLAGS_LZ4     := $(THIRD_PARTY_INC_LZ4) -DLZ4_FREESTANDING=1 -DLZ4_memcpy=__builtin_memcpy \
                    -DLZ4_memset=__builtin_memset -DLZ4_memmove=__builtin_memmove -DLZ4HC_HEAPMODE=0
TP_FLAGS_ZYDIS   := $(THIRD_PARTY_INC_ZYDIS) -I$(ZYDIS_DIR)/src

# What each library may leave undefined: the kernel provides these (hv/lib/string.c, and
# for lwIP the port in net/lwip/).  check-third-party fails on anything else.
TP_ALLOWED_LWIP    := memcpy memmove memset memcmp strlen strncmp atoi sys_now \
                      lwip_port_diag lwip_port_assert lwip_port_rand sys_arch_protect sys_arch_unprotect
TP_ALLOWED_BEARSSL := memcpy memmove memset memcmp strlen
TP_ALLOWED_LZ4     := memcpy memmove memset
TP_ALLOWED_ZYDIS   := memcpy memmove memset

# ---- sources (known once install.sh has unpacked them) ------------------------------------
tp_if_unpacked = $(if $(wildcard $(1)/.atoll-unpacked),$(2))
tp_objs = $(patsubst $(TP_SRC)/%.c,$(TP_OBJ)/%.o,$(1))

LWIP_FILES := core/init.c core/def.c core/inet_chksum.c core/ip.c core/mem.c core/memp.c \
              core/netif.c core/pbuf.c core/raw.c core/stats.c core/sys.c core/tcp.c \
              core/tcp_in.c core/tcp_out.c core/timeouts.c core/udp.c \
              core/ipv4/dhcp.c core/ipv4/etharp.c core/ipv4/icmp.c core/ipv4/ip4.c \
              core/ipv4/ip4_addr.c core/ipv4/ip4_frag.c netif/ethernet.c
ZYDIS_FILES := Decoder.c DecoderData.c SharedData.c Utils.c MetaInfo.c Mnemonic.c Register.c \
               Zydis.c

LWIP_SRCS    := $(call tp_if_unpacked,$(LWIP_DIR),$(addprefix $(LWIP_DIR)/src/,$(LWIP_FILES)))
BEARSSL_SRCS := $(call tp_if_unpacked,$(BEARSSL_DIR),\
                  $(sort $(wildcard $(BEARSSL_DIR)/src/*.c $(BEARSSL_DIR)/src/*/*.c)))
LZ4_SRCS     := $(call tp_if_unpacked,$(LZ4_DIR),$(LZ4_DIR)/lib/lz4.c $(LZ4_DIR)/lib/lz4hc.c)
ZYDIS_SRCS   := $(call tp_if_unpacked,$(ZYDIS_DIR),$(addprefix $(ZYDIS_DIR)/src/,$(ZYDIS_FILES)))

LWIP_OBJS    := $(call tp_objs,$(LWIP_SRCS))
BEARSSL_OBJS := $(call tp_objs,$(BEARSSL_SRCS))
LZ4_OBJS     := $(call tp_objs,$(LZ4_SRCS))
ZYDIS_OBJS   := $(call tp_objs,$(ZYDIS_SRCS))
TP_ALL_OBJS  := $(LWIP_OBJS) $(BEARSSL_OBJS) $(LZ4_OBJS) $(ZYDIS_OBJS)

$(LWIP_OBJS):    TP_FLAGS := $(TP_FLAGS_LWIP)
$(BEARSSL_OBJS): TP_FLAGS := $(TP_FLAGS_BEARSSL)
$(LZ4_OBJS):     TP_FLAGS := $(TP_FLAGS_LZ4)
$(ZYDIS_OBJS):   TP_FLAGS := $(TP_FLAGS_ZYDIS)

# ---- rules ---------------------------------------------------------------------------------
# Objects and archives are written under a temporary name and renamed, so two makes
# running in one tree never leave a torn file behind.
$(TP_OBJ)/%.o: $(TP_SRC)/%.c $(wildcard $(TP_SHIM)/*.h) tools/deps/third_party.mk \
               tools/deps/versions.mk tools/build/config.mk | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  TPCC    $(patsubst $(TP_SRC)/%,%,$<)"
	$(Q)$(KCC) $(TP_CFLAGS) $(TP_FLAGS) -MMD -MP -MT $@ -MF $@.d.$$$$ -c $< -o $@.$$$$ \
		&& mv -f $@.d.$$$$ $(@:.o=.d) && mv -f $@.$$$$ $@

# An archive whose sources were not unpacked when make read this file (a fresh tree: the
# $(DEPS_STAMP) rule unpacks them first) is built by a make that reads them anew.
define tp_archive_rule
$(1): $(2) | $(DEPS_STAMP)
ifeq ($(strip $(2)),)
	$$(if $$(TP_RELOADED),$$(error $(1): sources still missing in $(TP_SRC) after install.sh))
	$(Q)$$(MAKE) --no-print-directory TP_RELOADED=1 $$@
else
	@echo "  AR      $$@"
	$(Q)rm -f $$@.$$$$$$$$ && ar rcsD $$@.$$$$$$$$ $(2) && mv -f $$@.$$$$$$$$ $$@
endif
endef
$(eval $(call tp_archive_rule,$(LIB_LWIP),$(LWIP_OBJS)))
$(eval $(call tp_archive_rule,$(LIB_BEARSSL),$(BEARSSL_OBJS)))
$(eval $(call tp_archive_rule,$(LIB_LZ4),$(LZ4_OBJS)))
$(eval $(call tp_archive_rule,$(LIB_ZYDIS),$(ZYDIS_OBJS)))

.PHONY: third-party check-third-party
third-party: $(THIRD_PARTY_LIBS)
deps: third-party

check-third-party: $(THIRD_PARTY_LIBS)
	$(Q)tools/deps/check-third-party \
		"lwip $(LIB_LWIP) $(TP_ALLOWED_LWIP)" \
		"bearssl $(LIB_BEARSSL) $(TP_ALLOWED_BEARSSL)" \
		"lz4 $(LIB_LZ4) $(TP_ALLOWED_LZ4)" \
		"zydis $(LIB_ZYDIS) $(TP_ALLOWED_ZYDIS)"

TEST_STEPS += check-third-party

-include $(TP_ALL_OBJS:.o=.d)
