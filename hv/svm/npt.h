/*
 * Nested page tables for one partition (AMD's second-level translation, in the format of
 * the host's own 4-level long-mode tables): its RAM mapped, 2 MiB leaves where the backing
 * allows, nothing else present, so MMIO and stray accesses exit as nested page faults.
 * Pages can be made read-only or absent and back again per 4 KiB page (write tracking,
 * lazy restore); channel pages of other partitions are mapped outside RAM.
 */
#ifndef ATOLL_HV_SVM_NPT_H
#define ATOLL_HV_SVM_NPT_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/core/guest_mem.h"

#define NPT_READ   1u           /* present (and user: guest accesses count as user ones) */
#define NPT_WRITE  2u
#define NPT_ALL    (NPT_READ | NPT_WRITE)

struct npt {
    uint64_t *pml4;
    uint64_t ncr3;              /* what the VMCB's N_CR3 holds */
    unsigned table_pages;
};

bool npt_build(struct npt *n, const struct guest_mem *m, bool large_pages);
void npt_destroy(struct npt *n);
/* Every 4 KiB page of [gpa, gpa+len) gets perms (NPT_*, 0 = absent); 2 MiB leaves split.
 * False, with nothing changed, where a page is not RAM or a split finds no frame. */
bool npt_set_permissions(struct npt *n, uint64_t gpa, uint64_t len, unsigned perms);
/* One 4 KiB page of someone else's memory at gpa, outside RAM; false where anything is
 * mapped already, beyond 48 bits, or when no frame is left. */
bool npt_map_page(struct npt *n, uint64_t gpa, uint64_t hpa, unsigned perms);
/* Removes a page npt_map_page mapped; RAM is never removed. */
void npt_unmap_page(struct npt *n, uint64_t gpa);

#endif
