#include "boot/efi/elf_plan.h"

#include <stdbool.h>

#define PAGE_SIZE 4096ull
#define PT_LOAD 1u
#define ET_EXEC 2u
#define EM_X86_64 62u

struct elf64_header {
    unsigned char ident[16];
    uint16_t type;
    uint16_t machine;
    uint32_t version;
    uint64_t entry;
    uint64_t phoff;
    uint64_t shoff;
    uint32_t flags;
    uint16_t ehsize;
    uint16_t phentsize;
    uint16_t phnum;
    uint16_t shentsize;
    uint16_t shnum;
    uint16_t shstrndx;
};

struct elf64_phdr {
    uint32_t type;
    uint32_t flags;
    uint64_t offset;
    uint64_t vaddr;
    uint64_t paddr;
    uint64_t filesz;
    uint64_t memsz;
    uint64_t align;
};

_Static_assert(sizeof(struct elf64_header) == ELF_PLAN_HEADER_SIZE, "ELF64 header size");
_Static_assert(sizeof(struct elf64_phdr) == ELF_PLAN_PHDR_SIZE, "ELF64 phdr size");

/* True when [start, start + len) fits inside [0, limit). */
static bool fits(uint64_t start, uint64_t len, uint64_t limit)
{
    return start <= limit && len <= limit - start;
}

static bool is_elf64_x86(const struct elf64_header *h)
{
    return h->ident[0] == 0x7f && h->ident[1] == 'E' && h->ident[2] == 'L' &&
           h->ident[3] == 'F' && h->ident[4] == 2 /* 64-bit */ &&
           h->ident[5] == 1 /* little endian */ && h->ident[6] == 1 /* version */ &&
           h->machine == EM_X86_64;
}

const char *elf_plan_header(const void *header, uint64_t file_size, struct elf_plan *plan)
{
    const struct elf64_header *h = header;
    if (file_size < ELF_PLAN_HEADER_SIZE || !is_elf64_x86(h))
        return "not an x86-64 ELF64 file";
    if (h->type != ET_EXEC)
        return "not an ELF executable (ET_EXEC)";
    if (h->phentsize != ELF_PLAN_PHDR_SIZE || h->phnum == 0 || h->phnum > ELF_PLAN_MAX_PHDRS)
        return "bad program header table size";
    if (!fits(h->phoff, (uint64_t)h->phnum * ELF_PLAN_PHDR_SIZE, file_size))
        return "program headers lie outside the file";
    plan->entry = h->entry;
    plan->phoff = h->phoff;
    plan->phnum = h->phnum;
    plan->load_count = 0;
    plan->range_count = 0;
    return NULL;
}

static const char *check_load(const struct elf64_phdr *p, uint64_t file_size)
{
    if (p->filesz > p->memsz)
        return "a segment's file size exceeds its memory size";
    if (!fits(p->offset, p->filesz, file_size))
        return "a segment lies outside the file";
    if (!fits(p->paddr, p->memsz, ELF_PLAN_LIMIT))
        return "a segment lies above 4 GiB";
    return NULL;
}

static bool overlaps(const struct elf_load_segment *a, const struct elf_load_segment *b)
{
    return a->paddr < b->paddr + b->memsz && b->paddr < a->paddr + a->memsz;
}

static const char *add_load(struct elf_plan *plan, const struct elf64_phdr *p)
{
    if (plan->load_count == ELF_PLAN_MAX_LOADS)
        return "too many PT_LOAD segments";
    struct elf_load_segment seg = {p->offset, p->paddr, p->filesz, p->memsz};
    for (uint32_t i = 0; i < plan->load_count; i++)
        if (overlaps(&seg, &plan->loads[i]))
            return "two segments overlap in memory";
    plan->loads[plan->load_count++] = seg;
    return NULL;
}

/* Inserts [base, end) into the sorted range list, merging what touches it. */
static void add_range(struct elf_plan *plan, uint64_t base, uint64_t end)
{
    uint32_t n = 0;
    struct elf_page_range merged[ELF_PLAN_MAX_LOADS];
    bool placed = false;
    for (uint32_t i = 0; i < plan->range_count; i++) {
        struct elf_page_range r = plan->ranges[i];
        if (r.end < base) {
            merged[n++] = r;
        } else if (end < r.base) {
            if (!placed)
                merged[n++] = (struct elf_page_range){base, end};
            placed = true;
            merged[n++] = r;
        } else {
            base = r.base < base ? r.base : base;
            end = r.end > end ? r.end : end;
        }
    }
    if (!placed)
        merged[n++] = (struct elf_page_range){base, end};
    for (uint32_t i = 0; i < n; i++)
        plan->ranges[i] = merged[i];
    plan->range_count = n;
}

static bool entry_inside_load(const struct elf_plan *plan)
{
    for (uint32_t i = 0; i < plan->load_count; i++) {
        const struct elf_load_segment *s = &plan->loads[i];
        if (plan->entry >= s->paddr && plan->entry - s->paddr < s->memsz)
            return true;
    }
    return false;
}

const char *elf_plan_segments(const void *phdrs, uint64_t file_size, struct elf_plan *plan)
{
    const struct elf64_phdr *ph = phdrs;
    for (uint32_t i = 0; i < plan->phnum; i++) {
        if (ph[i].type != PT_LOAD || ph[i].memsz == 0)
            continue;
        const char *why = check_load(&ph[i], file_size);
        if (!why)
            why = add_load(plan, &ph[i]);
        if (why)
            return why;
        uint64_t base = ph[i].paddr & ~(PAGE_SIZE - 1);
        uint64_t end = (ph[i].paddr + ph[i].memsz + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
        add_range(plan, base, end);
    }
    if (plan->load_count == 0)
        return "no PT_LOAD segment";
    if (!entry_inside_load(plan))
        return "the entry point is outside every segment";
    return NULL;
}
