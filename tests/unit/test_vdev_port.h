/* Byte-wide port I/O through a device bus, as a guest's OUT and IN reach the devices: for
 * the device-model tests that drive a chip by its ports. */
#ifndef ATOLL_TESTS_UNIT_TEST_VDEV_PORT_H
#define ATOLL_TESTS_UNIT_TEST_VDEV_PORT_H
#include <stdint.h>

#include "hv/vdev/vdev.h"

static inline void port_out8(struct vdev_bus *bus, uint16_t port, uint8_t val)
{
    uint32_t v = val;
    vdev_bus_io(bus, port, 1, true, &v);
}

static inline uint8_t port_in8(struct vdev_bus *bus, uint16_t port)
{
    uint32_t v = 0;
    vdev_bus_io(bus, port, 1, false, &v);
    return (uint8_t)v;
}

#endif
