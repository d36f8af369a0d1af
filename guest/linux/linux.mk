# guest/linux: the Linux guest, Debian's own kernel with a busybox initramfs.
#
#   build/guest/linux/bzImage     the installed linux-image-amd64 kernel, as shipped
#   build/guest/linux/vmlinux     its uncompressed ELF (for the PVH entry: no decompression)
#   build/guest/linux/initrd.gz   busybox-static, /init, scenarios, virtio/ext4 modules
#
#   make linux-guest        build them (part of `make guests`)
#   make test-linux-qemu    boot them under QEMU TCG (no hypervisor): bzImage and PVH

LINUX_OUT := $(GUEST_OUT)/linux
# The kernel the linux-image-amd64 meta-package points at (whatever version apt gave).
LINUX_KVER = $(or $(shell dpkg-query -W -f='$${Depends}' linux-image-amd64 2>/dev/null | \
	sed -n 's/.*linux-image-\([0-9][^ ,]*-amd64\).*/\1/p'), \
	$(error linux-image-amd64 is not installed: run `make deps` or apt-get install linux-image-amd64))
LINUX_INITRD_SRCS := guest/linux/init guest/linux/mkinitramfs.sh $(wildcard guest/linux/scenarios/*.sh)

.PHONY: linux-guest test-linux-qemu
guests: linux-guest
linux-guest: $(LINUX_OUT)/bzImage $(LINUX_OUT)/vmlinux $(LINUX_OUT)/initrd.gz

$(LINUX_OUT)/bzImage:
	@mkdir -p $(@D)
	@echo "  LINUX   $@ ($(LINUX_KVER))"
	$(Q)cp /boot/vmlinuz-$(LINUX_KVER) $@

$(LINUX_OUT)/vmlinux: $(LINUX_OUT)/bzImage guest/linux/extract-vmlinux.py
	@echo "  VMLINUX $@"
	$(Q)python3 guest/linux/extract-vmlinux.py $< $@

$(LINUX_OUT)/atoll-exit: guest/linux/atoll-exit.c
	@mkdir -p $(@D)
	@echo "  STATIC  $@"
	$(Q)gcc -static -Os -s -Wall -Wextra -Werror -o $@ $<

$(LINUX_OUT)/initrd.gz: $(LINUX_INITRD_SRCS) $(LINUX_OUT)/atoll-exit
	@echo "  INITRD  $@"
	$(Q)guest/linux/mkinitramfs.sh $@ $(LINUX_OUT)/atoll-exit $(LINUX_KVER)

TEST_STEPS += test-linux-qemu
test-linux-qemu: linux-guest
	$(Q)guest/linux/run-qemu $(LINUX_OUT)

# The Linux demo: Debian's kernel to a busybox shell in a partition (Bochs: about a minute).
.PHONY: run-linux
run-linux: kernel linux-guest
	$(Q)tools/run/atoll-run --no-build --manifest guest/linux/linux-shell.cfg --cpus 1 --memory 640
