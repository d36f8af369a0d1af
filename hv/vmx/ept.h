/*
 * Extended page tables for one partition: its RAM mapped write-back, 2 MiB leaves where
 * the backing allows, nothing else present (so MMIO and stray accesses exit).  Ranges can
 * be made read-only and back again per 4 KiB page, which is what dirty tracking for live
 * migration and snapshots builds on.
 */
#ifndef ATOLL_HV_VMX_EPT_H
#define ATOLL_HV_VMX_EPT_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/core/guest_mem.h"

#define EPT_READ   1u
#define EPT_WRITE  2u
#define EPT_EXEC   4u
#define EPT_RWX    7u

struct ept {
    uint64_t *pml4;
    uint64_t eptp;          /* EPT pointer: WB, 4-level, pml4 physical */
    unsigned table_pages;
};

bool ept_build(struct ept *e, const struct guest_mem *m, bool large_pages);
void ept_destroy(struct ept *e);
/* Sets the permissions of every 4 KiB page in [gpa, gpa+len); splits 2 MiB leaves.  False,
 * with no permission changed, when a page is not mapped or a split finds no frame. */
bool ept_set_permissions(struct ept *e, uint64_t gpa, uint64_t len, unsigned perms);
/* Maps one 4 KiB page of someone else's memory (a channel grant, the framebuffer) at gpa,
 * outside RAM, write-back or write-combining (the EPT's type stands for the MTRRs', which
 * EPT does not consult, combined with the guest's PAT); false where anything is mapped
 * already, beyond 48 bits, or when no frame is left. */
bool ept_map_page(struct ept *e, uint64_t gpa, uint64_t hpa, unsigned perms,
                  bool write_combining);
/* Removes a page that ept_map_page mapped; RAM is never removed. */
void ept_unmap_page(struct ept *e, uint64_t gpa);
/* Host-physical address gpa maps to, or ~0 when not mapped. */
uint64_t ept_translate(const struct ept *e, uint64_t gpa);
/* Flushes this EPT's translations on the calling CPU. */
void ept_invalidate_local(const struct ept *e);

#endif
