# Debian packages and third-party sources (tools/deps/install.sh, versions.mk, packages.txt).
#
# $(DEPS_STAMP) is the stamp every build orders after.  It is remade when the package list,
# the pins or the installer change, when dpkg's database changes (a package added or
# removed), or when an unpacked source tree is missing; remaking it only re-checks what is
# already there, so the fast path costs one dpkg-query.

DPKG_STATUS := $(wildcard /var/lib/dpkg/status)

# Where the upstream sources live once unpacked (third_party.mk builds them).
TP          := $(BUILD)/third_party
TP_SRC      := $(TP)/src
TP_INC      := $(TP)/include
LWIP_DIR    := $(TP_SRC)/lwip-$(LWIP_VERSION)
BEARSSL_DIR := $(TP_SRC)/bearssl-$(BEARSSL_VERSION)
LZ4_DIR     := $(TP_SRC)/lz4-$(LZ4_VERSION)
ZYDIS_DIR   := $(TP_SRC)/zydis-$(ZYDIS_VERSION)
TP_UNPACKED := $(foreach d,$(LWIP_DIR) $(BEARSSL_DIR) $(LZ4_DIR) $(ZYDIS_DIR),$(d)/.atoll-unpacked)

$(DEPS_STAMP): tools/deps/install.sh tools/deps/packages.txt tools/deps/versions.mk \
               $(DPKG_STATUS) $(TP_UNPACKED)
	@mkdir -p $(@D) $(TP_INC)
	$(Q)tools/deps/install.sh --packages --sources $(TP_SRC)
	$(Q)ln -sfn /usr/include/Zycore $(TP_INC)/Zycore
	@touch $@

# A missing unpacked tree only makes the stamp stale; install.sh brings it back.
$(TP_UNPACKED): ;

.PHONY: deps
deps: $(DEPS_STAMP)
