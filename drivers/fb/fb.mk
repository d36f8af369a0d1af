# The framebuffer text console and its font.  The font comes from Debian's
# console-setup-linux package at build time (downloaded and unpacked, not installed).
FONT_DIR  := $(BUILD)/third_party/font
FONT_FILE := Lat15-VGA16.psf

KERNEL_SRCS += drivers/fb/fb_console.c drivers/fb/psf_font.c drivers/fb/bochs_vbe.c
KERNEL_EXTRA_OBJS += $(BUILD)/k/drivers/fb/console_font.o

$(FONT_DIR)/console_font.psf:
	@mkdir -p $(FONT_DIR)
	@echo "  FONT    $(FONT_FILE) from console-setup-linux"
	$(Q)cd $(FONT_DIR) && rm -rf deb x && mkdir deb x && cd deb && \
		apt-get download console-setup-linux >/dev/null 2>&1 || \
		{ echo "error: cannot download Debian's console-setup-linux (for the console font)"; exit 1; }
	$(Q)dpkg-deb -x $(FONT_DIR)/deb/console-setup-linux_*.deb $(FONT_DIR)/x
	$(Q)gzip -dc $(FONT_DIR)/x/usr/share/consolefonts/$(FONT_FILE).gz > $@.tmp && mv $@.tmp $@

$(BUILD)/k/drivers/fb/console_font.o: $(FONT_DIR)/console_font.psf
	@mkdir -p $(@D)
	$(Q)cd $(FONT_DIR) && objcopy -I binary -O elf64-x86-64 -B i386:x86-64 \
		--rename-section .data=.rodata,alloc,load,readonly,data,contents \
		console_font.psf $(abspath $@)

UNIT_TESTS += test_psf_font
test_psf_font_SRCS := tests/unit/test_psf_font.c drivers/fb/psf_font.c
FUZZ_TARGETS += fuzz_psf_font
fuzz_psf_font_SRCS := tests/fuzz/fuzz_psf_font.c drivers/fb/psf_font.c
