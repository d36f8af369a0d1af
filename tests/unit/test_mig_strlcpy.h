/* strlcpy for host builds of kernel files (glibc before 2.38 has none); test_mig_host.c
 * defines it. */
#ifndef ATOLL_TESTS_UNIT_TEST_MIG_STRLCPY_H
#define ATOLL_TESTS_UNIT_TEST_MIG_STRLCPY_H
#include <stddef.h>
size_t strlcpy(char *dst, const char *src, size_t size);
#endif
