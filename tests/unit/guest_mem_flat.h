/* guest_mem_read and guest_mem_write over one flat host buffer, for host tests of code that
 * reads a partition's RAM (guest_walk.c).  One buffer at a time. */
#ifndef ATOLL_TESTS_UNIT_GUEST_MEM_FLAT_H
#define ATOLL_TESTS_UNIT_GUEST_MEM_FLAT_H
#include "hv/core/guest_mem.h"

void guest_mem_flat_init(struct guest_mem *m, void *ram, uint64_t size);

#endif
