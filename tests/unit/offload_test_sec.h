/*
 * The offload provider's security callbacks for host tests: HMAC-SHA256 (BearSSL) with
 * `key`, "random" ids counted up from 1, and a clock that reads `now` (ms), which a test
 * moves on to expire tokens.
 */
#ifndef ATOLL_TESTS_UNIT_OFFLOAD_TEST_SEC_H
#define ATOLL_TESTS_UNIT_OFFLOAD_TEST_SEC_H
#include <stdint.h>
#include "hv/offload/offload.h"

struct offload_test_sec {
    uint8_t key[32];
    uint64_t now;
    uint32_t ids;
};

/* A platform with only the security callbacks set, on s. */
struct offload_platform offload_test_platform(struct offload_test_sec *s);

#endif
