/* The hypervisor's own address space: a direct map of all RAM plus the kernel image. */
#ifndef ATOLL_HV_ARCH_X86_PAGING_H
#define ATOLL_HV_ARCH_X86_PAGING_H
#include <stdint.h>

/* Builds the final page tables (direct map of [0, top), at least 4 GiB) and loads them.
 * Returns the number of bytes the direct map covers. */
uint64_t paging_init(uint64_t top);
/* CR3 value every CPU loads. */
uint64_t paging_root(void);
/* Removes the low identity map once every CPU runs in the high half. */
void paging_drop_identity(void);

#endif
