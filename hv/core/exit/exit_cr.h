/*
 * The control-register rules of the SDM (Vol. 3, 2.5 and 9.8.5; Vol. 4 on IA32_EFER) for
 * MOV to CR0 and CR4, CLTS, LMSW and WRMSR to IA32_EFER, on the values the guest sees.
 * Portable: the backend loads what these accept (with whatever bits its hardware forces)
 * and raises #GP for what they refuse.
 */
#ifndef ATOLL_HV_CORE_EXIT_CR_H
#define ATOLL_HV_CORE_EXIT_CR_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/lib/x86_bits.h"

/* The guest's control registers as it reads them. */
struct guest_ctl {
    uint64_t cr0, cr4, efer;
};

/* Which of them a write changed. */
#define GUEST_CTL_CR0  1u
#define GUEST_CTL_CR4  2u
#define GUEST_CTL_EFER 4u

/* False: #GP.  Otherwise *next is the state after the write: EFER.LMA follows CR0.PG
 * (paging on with EFER.LME enters long mode, which needs CR4.PAE; paging off leaves it,
 * and is refused while CR4.PCIDE is set); CR0.WP stays set while CR4.CET is. */
bool guest_cr0_write(const struct guest_ctl *now, uint64_t value, struct guest_ctl *next);
/* offered: the CR4 bits the guest may set; in long mode CR4.PAE stays set and CR4.LA57
 * cannot change; CR4.PCIDE is set only in long mode, CR4.CET only with CR0.WP (each of
 * these a failed VM entry, not just a wrong guest, were it let through). */
bool guest_cr4_write(const struct guest_ctl *now, uint64_t value, uint64_t offered,
                     struct guest_ctl *next);
/* SCE, LME and NXE are writable (LMA is read-only and follows CR0.PG); LME cannot change
 * while paging is on (now->cr0: CR0.PG), so it is never cleared in long mode. */
bool guest_efer_write(const struct guest_ctl *now, uint64_t value, struct guest_ctl *next);

/* CLTS and LMSW as the CR0 value they write: LMSW loads PE, MP, EM and TS from the low four
 * bits of its source, and cannot clear PE. */
uint64_t guest_cr0_after_clts(uint64_t cr0);
uint64_t guest_cr0_after_lmsw(uint64_t cr0, uint64_t source);

#endif
