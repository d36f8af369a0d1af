# Device models that save and restore through hv/state (the PIT and the RTC) need it in
# every host build that links them.  Read after vdev.mk (fragments load in name order).
UNIT_TESTS += test_vdev_state
test_vdev_state_SRCS := tests/unit/test_vdev_state.c $(VDEV_TEST_FAKE) hv/vdev/pit8254.c \
                        hv/vdev/cmos_rtc.c hv/vdev/vdev_bus.c

VDEV_STATE_USERS := test_vdev_pit test_vdev_lapic test_vdev_ioapic test_vdev_platform \
                    test_vdev_state fuzz_vdev_io
$(foreach t,$(VDEV_STATE_USERS),$(eval $(t)_SRCS += $$(STATE_HOST_SRCS)))
