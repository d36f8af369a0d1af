# Every pinned version lives here and nowhere else.  Read by make (top Makefile) and by
# tools/deps/install.sh (which accepts only `NAME := value` lines).

# Debian release everything comes from.
DEBIAN_SUITE    := bookworm

# Upstream sources fetched with `apt-get source` and built freestanding (third_party.mk).
# The Debian source package NAME is pinned by NAME_VERSION (upper case).
LWIP_VERSION    := 2.1.3
BEARSSL_VERSION := 0.6
LZ4_VERSION     := 1.9.4
ZYDIS_VERSION   := 4.0.0
THIRD_PARTY_SOURCES := lwip bearssl lz4 zydis

# Installed Debian packages whose upstream version the build and TESTING.md rely on
# (tools/deps/packages.txt names the variable next to the package).
GNUEFI_VERSION  := 3.0.15
BOCHS_VERSION   := 2.7
QEMU_VERSION    := 7.2
OVMF_VERSION    := 2022.11
GRUB_VERSION    := 2.06
CLANG_VERSION   := 14

# Stamp that every build target orders after: packages present, third-party sources
# unpacked (their headers usable).  The libraries themselves are built on demand.
DEPS_STAMP := $(BUILD)/.deps-stamp
