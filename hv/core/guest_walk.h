/*
 * Walking a guest's own page tables: guest-linear to guest-physical addresses, the way the
 * CPU would (SDM Vol. 3A, chapter 4): no paging, 32-bit (with PSE and PSE-36), PAE, 4-level
 * and 5-level paging, 4 KiB, 2/4 MiB and 1 GiB pages.  Everything the guest controls is
 * checked as the CPU checks it: an address that is not canonical, an entry not present, or
 * one with a reserved bit set ends the walk (where the CPU would raise #PF or #GP), and so
 * does a table outside the partition's RAM.  The walk reads at most one entry per level, so
 * tables that point back at themselves cost no more than any others.  guest_walk does not
 * check access rights (U/S, R/W, XD); guest_walk_access does, for an access the guest
 * itself makes (an emulated instruction's operand or fetch), and guest_walk_fault says
 * what the CPU would raise for a failed one.
 */
#ifndef ATOLL_HV_CORE_GUEST_WALK_H
#define ATOLL_HV_CORE_GUEST_WALK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/core/guest_mem.h"
#include "hv/core/virt.h"

enum guest_walk_result {
    GUEST_WALK_OK,
    GUEST_WALK_NOT_PRESENT,     /* #PF, P = 0 */
    GUEST_WALK_RESERVED,        /* #PF with RSVD: a reserved bit set in an entry */
    GUEST_WALK_NON_CANONICAL,   /* #GP */
    GUEST_WALK_OUTSIDE_RAM,     /* a table the partition's RAM does not hold */
    GUEST_WALK_PROTECTION,      /* #PF, P = 1: the access rights forbid it (guest_walk_access) */
};

/* An access by the guest, as the CPU checks it. */
struct guest_access {
    bool write;
    bool user;                  /* CPL 3 */
    bool fetch;                 /* an instruction fetch */
    bool ac;                    /* EFLAGS.AC: with CR4.SMAP, lets a supervisor data access
                                 * reach a user page (SDM Vol. 3A, 4.6.1) */
};

/* The exception a failed walk raises: #PF with its error code (CR2 is the linear address),
 * or #GP(0) for a non-canonical address. */
struct guest_fault {
    uint8_t vector;
    uint32_t error;
};

/* What the guest's CPU supports, as far as the walk depends on it. */
struct guest_walk_cpu {
    unsigned maxphyaddr;        /* CPUID.80000008H:EAX[7:0] */
    bool pages_1g;              /* CPUID.80000001H:EDX[26] */
};

enum guest_walk_result guest_walk(const struct guest_mem *m, const struct guest_paging *pg,
                                  const struct guest_walk_cpu *cpu, uint64_t linear,
                                  uint64_t *gpa);

/* The same, and the access rights checked as the CPU checks them for a: U/S, R/W with
 * CR0.WP, XD, SMEP and SMAP (every emulated access is an explicit one). */
enum guest_walk_result guest_walk_access(const struct guest_mem *m, const struct guest_paging *pg,
                                         const struct guest_walk_cpu *cpu, uint64_t linear,
                                         const struct guest_access *a, uint64_t *gpa);

/* False for GUEST_WALK_OK; else true and the fault the CPU raises for a: #PF with P set for
 * a protection or reserved-bit fault (RSVD too), W and U/S as the access, I/D for a fetch
 * where no-execute (PAE paging, EFER.NXE) or SMEP is on; #GP(0) for a non-canonical one. */
bool guest_walk_fault(enum guest_walk_result r, const struct guest_paging *pg,
                      const struct guest_access *a, struct guest_fault *f);

/* guest_walk_access with this machine's CPU. */
enum guest_walk_result guest_translate(const struct guest_mem *m, const struct guest_paging *pg,
                                       uint64_t linear, const struct guest_access *a,
                                       uint64_t *gpa);

/* guest_walk with this machine's CPU; false for anything but GUEST_WALK_OK. */
bool guest_linear_to_phys(const struct guest_mem *m, const struct guest_paging *pg,
                          uint64_t linear, uint64_t *gpa);
/* Reads len bytes at a guest-linear address, page by page; false if any is unmapped. */
bool guest_read_linear(const struct guest_mem *m, const struct guest_paging *pg,
                       uint64_t linear, void *buf, size_t len);

#endif
