# hv/vdev virtio: PCI host bridge, virtio-pci modern transport, virtio-blk (portable;
# unit-tested on the host, fuzzed).  Wiring into partitions is hv/core's.

VIRTIO_SRCS := hv/vdev/pci_host.c hv/vdev/virtqueue.c hv/vdev/virtio_pci.c \
               hv/vdev/virtio_blk.c hv/vdev/virtio_blk_copy.c hv/vdev/virtio_blk_offload.c \
               hv/vdev/vblk_ram.c hv/vdev/virtio_blk_state.c
KERNEL_SRCS += $(VIRTIO_SRCS)
# The guest tokens use the offload token format (hv/offload/token.c: in the kernel already).
VIRTIO_HOST_EXTRA_SRCS := hv/offload/token.c hv/lib/guid.c

VIRTIO_TEST_SRCS := $(VIRTIO_SRCS) $(VIRTIO_HOST_EXTRA_SRCS) tests/unit/test_virtio_guest.c \
                    tests/unit/test_vdev_fake.c hv/vdev/vdev_bus.c $(STATE_HOST_SRCS)

UNIT_TESTS += test_virtio_pci test_virtio_blk test_virtio_state test_virtio_blk_copy test_virtio_spec
test_virtio_spec_SRCS := tests/unit/test_virtio_spec.c $(VIRTIO_TEST_SRCS)
test_virtio_blk_copy_SRCS := tests/unit/test_virtio_blk_copy.c $(VIRTIO_TEST_SRCS)
test_virtio_state_SRCS := tests/unit/test_virtio_state.c $(VIRTIO_TEST_SRCS)
test_virtio_pci_SRCS := tests/unit/test_virtio_pci.c $(VIRTIO_TEST_SRCS)
test_virtio_blk_SRCS := tests/unit/test_virtio_blk.c $(VIRTIO_TEST_SRCS)

FUZZ_TARGETS += fuzz_virtio_blk fuzz_virtio_blk_copy
fuzz_virtio_blk_copy_SRCS := tests/fuzz/fuzz_virtio_blk_copy.c hv/vdev/virtio_blk_copy.c
FUZZ_TARGETS += fuzz_virtio_blk_copy_device
fuzz_virtio_blk_copy_device_SRCS := tests/fuzz/fuzz_virtio_blk_copy_device.c $(VIRTIO_TEST_SRCS)
fuzz_virtio_blk_SRCS := tests/fuzz/fuzz_virtio_blk.c $(VIRTIO_TEST_SRCS)
# Hostile offload requests (guest tokens under real HMAC-SHA256) against the device.
FUZZ_TARGETS += fuzz_virtio_blk_offload
fuzz_virtio_blk_offload_SRCS := tests/fuzz/fuzz_virtio_blk_offload.c $(VIRTIO_TEST_SRCS)
fuzz_virtio_blk_offload_LIBS := -lbearssl

# Arbitrary sections into every device's restore (platform devices, PCI host, virtio-pci,
# virtio-blk), then the device exercised and saved again.
FUZZ_TARGETS += fuzz_vdev_state
fuzz_vdev_state_SRCS := tests/fuzz/fuzz_vdev_state.c $(VIRTIO_SRCS) $(VIRTIO_HOST_EXTRA_SRCS) $(VDEV_SRCS) \
                        tests/unit/test_vdev_fake.c $(STATE_HOST_SRCS)

# The test guests against QEMU's own virtio-blk-pci (proves the guests' driver).
TEST_STEPS += test-virtio-qemu
.PHONY: test-virtio-qemu
test-virtio-qemu: $(GUEST_OUT)/tests/virtio_io.elf $(GUEST_OUT)/tests/virtio_bad.elf \
                  $(GUEST_OUT)/tests/virtio_flood.elf
	$(Q)guest/tests/run-virtio-qemu $(GUEST_OUT)/tests $(BUILD)/virtio/qemu
