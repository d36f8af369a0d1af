/* Walking a guest's own page tables: guest-linear to guest-physical addresses. */
#ifndef ATOLL_HV_CORE_GUEST_WALK_H
#define ATOLL_HV_CORE_GUEST_WALK_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/core/guest_mem.h"
#include "hv/core/virt.h"

/* False when the address is not mapped (or the tables lie outside the partition). */
bool guest_linear_to_phys(const struct guest_mem *m, const struct guest_paging *pg,
                          uint64_t linear, uint64_t *gpa);
/* Reads len bytes at a guest-linear address, page by page; false if any is unmapped. */
bool guest_read_linear(const struct guest_mem *m, const struct guest_paging *pg,
                       uint64_t linear, void *buf, size_t len);

#endif
