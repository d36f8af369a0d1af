/*
 * Checks an ELF64 hypervisor image and works out where it goes: each PT_LOAD at its
 * physical address (p_paddr), and the page ranges to allocate for them.  Everything in
 * the file is untrusted; the answer is either a plan or one line saying what is wrong.
 * Portable: the ELF structures are restated here.
 */
#ifndef ATOLL_BOOT_EFI_ELF_PLAN_H
#define ATOLL_BOOT_EFI_ELF_PLAN_H

#include <stddef.h>
#include <stdint.h>

#define ELF_PLAN_HEADER_SIZE 64u
#define ELF_PLAN_PHDR_SIZE   56u
#define ELF_PLAN_MAX_PHDRS   64u
#define ELF_PLAN_MAX_LOADS   16u
#define ELF_PLAN_LIMIT       0x100000000ull /* the loader's identity map covers 4 GiB */

struct elf_load_segment {
    uint64_t offset;  /* in the file */
    uint64_t paddr;
    uint64_t filesz;
    uint64_t memsz;   /* filesz..memsz is zeroed */
};

struct elf_page_range {
    uint64_t base;    /* page aligned */
    uint64_t end;     /* page aligned, exclusive */
};

struct elf_plan {
    uint64_t entry;
    uint64_t phoff;         /* where the program headers are, from the ELF header */
    uint32_t phnum;
    uint32_t load_count;
    struct elf_load_segment loads[ELF_PLAN_MAX_LOADS];
    uint32_t range_count;   /* sorted, disjoint, not adjacent */
    struct elf_page_range ranges[ELF_PLAN_MAX_LOADS];
};

/* Checks the first ELF_PLAN_HEADER_SIZE bytes of a file of `file_size` bytes and fills
 * plan->entry, phoff, phnum.  Returns NULL or a reason. */
const char *elf_plan_header(const void *header, uint64_t file_size, struct elf_plan *plan);

/* Checks plan->phnum program headers (8-byte aligned buffer) (phnum * ELF_PLAN_PHDR_SIZE bytes read from
 * plan->phoff) and fills the segments and page ranges.  Returns NULL or a reason. */
const char *elf_plan_segments(const void *phdrs, uint64_t file_size, struct elf_plan *plan);

#endif
