# Reset, save and restore of the device models (hv/state; every vdev test links it through
# VDEV_TEST_FAKE).  Read after vdev.mk (fragments load in name order).
UNIT_TESTS += test_vdev_state test_vdev_devstate
test_vdev_state_SRCS := tests/unit/test_vdev_state.c $(VDEV_TEST_FAKE) hv/vdev/pit8254.c \
                        hv/vdev/cmos_rtc.c hv/vdev/vdev_bus.c
test_vdev_devstate_SRCS := tests/unit/test_vdev_devstate.c $(VDEV_TEST_FAKE) $(VDEV_SRCS)
