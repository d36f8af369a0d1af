/* Device state back into a bus, as a checkpoint's restore does (hv/core/checkpoint.c): for
 * the tests that save a partition's devices and continue them in a fresh one.  Include
 * after <cmocka.h>. */
#ifndef ATOLL_TESTS_UNIT_TEST_BUS_STATE_H
#define ATOLL_TESTS_UNIT_TEST_BUS_STATE_H
#include <stddef.h>
#include <stdint.h>

#include "hv/state/state_stream.h"
#include "hv/vdev/vdev.h"

/* Resets bus, then hands it every section of buf; returns the first refusal (0 none), its
 * reason in err (STATE_ERR_LEN bytes). */
static inline int bus_restore_stream(struct vdev_bus *bus, const uint8_t *buf, size_t len,
                                     char *err)
{
    struct state_kind kinds[STATE_MAX_KINDS];
    unsigned n = vdev_bus_state_kinds(bus, kinds, STATE_MAX_KINDS);
    struct state_reader r;
    assert_int_equal(state_reader_open(&r, buf, len, kinds, n), 0);
    vdev_bus_reset_state(bus);
    struct state_section s;
    while (state_reader_next(&r, &s) == 1) {
        int rc = vdev_bus_restore_section(bus, &s, err, STATE_ERR_LEN);
        if (rc)
            return rc;
    }
    return 0;
}

#endif
