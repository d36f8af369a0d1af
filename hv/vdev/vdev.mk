# hv/vdev: emulated platform devices (portable; unit-tested on the host).

VDEV_SRCS := hv/vdev/vdev_bus.c hv/vdev/uart8250.c hv/vdev/debug_exit.c hv/vdev/fw_cfg.c \
             hv/vdev/pic8259.c hv/vdev/pit8254.c hv/vdev/cmos_rtc.c hv/vdev/ioapic.c \
             hv/vdev/lapic.c hv/vdev/platform_devices.c hv/vdev/acpi_pm.c hv/vdev/hpet.c \
             hv/vdev/reset_ctl.c
KERNEL_SRCS += $(VDEV_SRCS)

# Every device saves and restores through hv/state (state.mk, read before this fragment).
VDEV_TEST_FAKE := tests/unit/test_vdev_fake.c $(STATE_HOST_SRCS)

UNIT_TESTS += test_vdev_bus test_vdev_uart test_vdev_misc test_vdev_pic test_vdev_pit \
              test_vdev_lapic test_vdev_ioapic test_vdev_platform
test_vdev_bus_SRCS  := tests/unit/test_vdev_bus.c hv/vdev/vdev_bus.c $(STATE_HOST_SRCS)
test_vdev_uart_SRCS := tests/unit/test_vdev_uart.c $(VDEV_TEST_FAKE) hv/vdev/uart8250.c hv/vdev/vdev_bus.c
test_vdev_misc_SRCS := tests/unit/test_vdev_misc.c $(VDEV_TEST_FAKE) hv/vdev/debug_exit.c \
                       hv/vdev/fw_cfg.c hv/vdev/vdev_bus.c
test_vdev_pic_SRCS  := tests/unit/test_vdev_pic.c $(VDEV_TEST_FAKE) hv/vdev/pic8259.c hv/vdev/vdev_bus.c
test_vdev_pit_SRCS  := tests/unit/test_vdev_pit.c $(VDEV_TEST_FAKE) hv/vdev/pit8254.c hv/vdev/vdev_bus.c
test_vdev_lapic_SRCS    := tests/unit/test_vdev_lapic.c $(VDEV_TEST_FAKE) $(VDEV_SRCS)
test_vdev_ioapic_SRCS   := tests/unit/test_vdev_ioapic.c $(VDEV_TEST_FAKE) $(VDEV_SRCS)
test_vdev_platform_SRCS := tests/unit/test_vdev_platform.c $(VDEV_TEST_FAKE) $(VDEV_SRCS)

UNIT_TESTS += test_vdev_apic_spec
test_vdev_apic_spec_SRCS := tests/unit/test_vdev_apic_spec.c $(VDEV_TEST_FAKE) $(VDEV_SRCS)

FUZZ_TARGETS += fuzz_vdev_io
fuzz_vdev_io_SRCS := tests/fuzz/fuzz_vdev_io.c $(VDEV_TEST_FAKE) $(VDEV_SRCS)

UNIT_TESTS += test_vdev_acpi_pm
test_vdev_acpi_pm_SRCS := tests/unit/test_vdev_acpi_pm.c $(VDEV_TEST_FAKE) hv/vdev/acpi_pm.c hv/vdev/vdev_bus.c

UNIT_TESTS += test_vdev_reset_ctl
test_vdev_reset_ctl_SRCS := tests/unit/test_vdev_reset_ctl.c $(VDEV_TEST_FAKE) hv/vdev/reset_ctl.c hv/vdev/vdev_bus.c

UNIT_TESTS += test_vdev_hpet
test_vdev_hpet_SRCS := tests/unit/test_vdev_hpet.c $(VDEV_TEST_FAKE) hv/vdev/hpet.c hv/vdev/vdev_bus.c

FUZZ_TARGETS += fuzz_hpet
fuzz_hpet_SRCS := tests/fuzz/fuzz_hpet.c $(VDEV_TEST_FAKE) hv/vdev/hpet.c hv/vdev/vdev_bus.c
