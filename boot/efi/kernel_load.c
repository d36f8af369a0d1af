#include "boot/efi/loader.h"

static struct elf_plan plan;
static UINT8 phdrs[ELF_PLAN_MAX_PHDRS * ELF_PLAN_PHDR_SIZE] __attribute__((aligned(8)));

static void read_or_die(EFI_FILE_HANDLE f, UINT64 offset, void *buf, UINT64 len)
{
    EFI_STATUS st = volume_read_at(f, offset, buf, len);
    if (EFI_ERROR(st))
        fatal_load_status(KERNEL_FILE_NAME, st);
}

static void plan_or_die(EFI_FILE_HANDLE f, UINT64 size)
{
    UINT64 header[ELF_PLAN_HEADER_SIZE / 8] = {0};
    read_or_die(f, 0, header, size < sizeof(header) ? size : sizeof(header));
    const char *why = elf_plan_header(header, size, &plan);
    if (!why) {
        read_or_die(f, plan.phoff, phdrs, (UINT64)plan.phnum * ELF_PLAN_PHDR_SIZE);
        why = elf_plan_segments(phdrs, size, &plan);
    }
    if (why)
        fatal_load(KERNEL_FILE_NAME, why);
}

/* Where a range's bytes go now: in place, or staged for a copy after ExitBootServices. */
static UINT64 place_range(const struct elf_page_range *r, struct kernel_image *k)
{
    UINT64 len = r->end - r->base, staging = 0;
    EFI_STATUS st = pages_alloc_at(r->base, len);
    if (!EFI_ERROR(st))
        return r->base;
    if (st == EFI_NOT_FOUND)
        st = pages_alloc_low(len, &staging);
    if (EFI_ERROR(st))
        fatal_load_status(KERNEL_FILE_NAME, st);
    k->copies[k->copy_count++] = (struct kernel_copy){r->base, staging, len};
    Print(L"" LOADER_PREFIX "0x%lx-0x%lx is still firmware memory; staged at 0x%lx until "
          L"boot services exit\n", r->base, r->end, staging);
    return staging;
}

static UINT32 range_of(const struct elf_load_segment *s)
{
    UINT32 i = 0;
    while (i + 1 < plan.range_count && s->paddr >= plan.ranges[i + 1].base)
        i++;
    return i;
}

void kernel_load(struct kernel_image *k)
{
    EFI_FILE_HANDLE f;
    UINT64 size = 0, where[ELF_PLAN_MAX_LOADS];
    EFI_STATUS st = volume_file_open(KERNEL_FILE_NAME, &f);
    if (!EFI_ERROR(st))
        st = volume_file_size(f, &size);
    if (EFI_ERROR(st))
        fatal_load_status(KERNEL_FILE_NAME, st);
    plan_or_die(f, size);
    k->copy_count = 0;
    for (UINT32 i = 0; i < plan.range_count; i++) {
        where[i] = place_range(&plan.ranges[i], k);
        SetMem((void *)(UINTN)where[i], plan.ranges[i].end - plan.ranges[i].base, 0);
    }
    for (UINT32 i = 0; i < plan.load_count; i++) {
        const struct elf_load_segment *s = &plan.loads[i];
        UINT32 r = range_of(s);
        UINT64 dst = where[r] + (s->paddr - plan.ranges[r].base);
        read_or_die(f, s->offset, (void *)(UINTN)dst, s->filesz);
    }
    f->Close(f);
    k->entry = plan.entry;
    k->base = plan.ranges[0].base;
    k->end = plan.ranges[plan.range_count - 1].end;
    k->file_size = size;
    Print(L"" LOADER_PREFIX "kernel %a (%ld KiB) at 0x%lx-0x%lx, entry 0x%lx\n",
          KERNEL_FILE_NAME, (size + 1023) >> 10, k->base, k->end, k->entry);
}
