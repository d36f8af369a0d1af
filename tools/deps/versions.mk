# Every pinned version lives here and nowhere else.
LWIP_VERSION    := 2.1.3
BEARSSL_VERSION := 0.6
LZ4_VERSION     := 1.9.4
ZYDIS_VERSION   := 4.0.0
GNUEFI_VERSION  := 3.0.15
DEBIAN_SUITE    := bookworm

# Stamp that every build target orders after: packages present, third-party built.
DEPS_STAMP := $(BUILD)/.deps-stamp
