/* Device state back into a bus, as a checkpoint's restore does (hv/core/checkpoint.c): for
 * the tests that save a partition's devices and continue them in a fresh one, or expect a
 * hostile section refused.  Include
 * after <cmocka.h>. */
#ifndef ATOLL_TESTS_UNIT_TEST_BUS_STATE_H
#define ATOLL_TESTS_UNIT_TEST_BUS_STATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* Hands bus (fresh) the section id/instance of buf and expects it refused with `why` in
 * the reason, which is left in err (STATE_ERR_LEN bytes); the section must be there. */
static inline void bus_expect_refused(struct vdev_bus *bus, const uint8_t *buf, size_t len,
                                      uint32_t id, uint16_t instance, const char *why,
                                      char *err)
{
    struct state_kind kinds[STATE_MAX_KINDS];
    unsigned nk = vdev_bus_state_kinds(bus, kinds, STATE_MAX_KINDS);
    struct state_reader r;
    assert_int_equal(state_reader_open(&r, buf, len, kinds, nk), 0);
    struct state_section s;
    bool seen = false;
    err[0] = '\0';
    while (state_reader_next(&r, &s) == 1) {
        if (s.id != id || s.instance != instance)
            continue;
        seen = true;
        assert_int_equal(vdev_bus_restore_section(bus, &s, err, STATE_ERR_LEN), -1);
        if (!strstr(err, why))
            print_error("refused with '%s', expected '%s'\n", err, why);
        assert_non_null(strstr(err, why));
    }
    assert_true(seen);
}

#endif
