#include "boot/efi/identity_map.h"
#include "boot/efi/loader.h"
#include "boot/efi/memory_map.h"

#define MAP_SLACK_DESCS 32
#define STACK_BYTES (64u << 10)
#define CR4_LA57 (1ull << 12)
#define FOUR_GIB (1ull << 32)

static UINT8 *map;
static UINTN map_capacity;
static UINT64 stack_top, page_table_root;
static struct boot_info *handoff_info;
static const struct kernel_image *handoff_kernel;

static EFI_STATUS map_read(UINTN *size, UINTN *key, UINTN *desc_size)
{
    UINT32 version;
    *size = map_capacity;
    return BS->GetMemoryMap(size, (EFI_MEMORY_DESCRIPTOR *)map, key, desc_size, &version);
}

__attribute__((noreturn)) static void die(const CHAR16 *what, EFI_STATUS st)
{
    CHAR16 text[64];
    StatusToString(text, st);
    Print(L"" LOADER_PREFIX "error: %s: %s\n", what, text);
    fatal_stop(st);
}

/* The highest address of anything that is memory (not MMIO), at least 4 GiB. */
static UINT64 memory_top(UINTN size, UINTN desc_size)
{
    UINT64 top = FOUR_GIB;
    for (UINTN off = 0; off + desc_size <= size; off += desc_size) {
        const struct uefi_mem_desc *d = (const void *)(map + off);
        UINT64 end = d->phys_start + (d->pages << 12);
        if (d->type != UEFI_MEM_RESERVED && d->type != UEFI_MEM_MMIO &&
            d->type != UEFI_MEM_MMIO_PORT && end > top)
            top = end;
    }
    return top < IDENTITY_MAP_MAX_TOP ? top : IDENTITY_MAP_MAX_TOP;
}

static BOOLEAN five_level_paging(void)
{
    UINT64 cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    return (cr4 & CR4_LA57) != 0;
}

/* Map buffer, stack and page tables: everything that has to exist before the final map. */
static void prepare(void)
{
    UINTN size = 0, key, desc_size = 0;
    UINT32 version;
    UINT64 stack, tables;
    BS->GetMemoryMap(&size, NULL, &key, &desc_size, &version);
    map_capacity = size + MAP_SLACK_DESCS * desc_size;
    map = AllocatePool(map_capacity);
    if (!map || desc_size < sizeof(struct uefi_mem_desc))
        die(L"cannot read the memory map", EFI_OUT_OF_RESOURCES);
    EFI_STATUS st = map_read(&size, &key, &desc_size);
    BOOLEAN la57 = five_level_paging();
    UINT64 top = memory_top(size, desc_size);
    UINTN table_pages = identity_map_pages(top, la57);
    if (!EFI_ERROR(st))
        st = pages_alloc_low(STACK_BYTES, &stack);
    if (!EFI_ERROR(st))
        st = pages_alloc_low((UINT64)table_pages << 12, &tables);
    if (EFI_ERROR(st))
        die(L"cannot allocate the hand-off stack and page tables", st);
    SetMem((void *)(UINTN)tables, table_pages << 12, 0);
    page_table_root = identity_map_build((uint64_t *)(UINTN)tables, top, la57);
    stack_top = stack + STACK_BYTES;
}

static void check_staged_targets(UINTN size, UINTN desc_size, const struct kernel_image *k)
{
    for (UINT32 i = 0; i < k->copy_count; i++) {
        const struct kernel_copy *c = &k->copies[i];
        if (!memory_map_reclaimable(map, size / desc_size, desc_size, c->target,
                                    c->target + c->length)) {
            CHAR16 reason[96];
            SPrint(reason, sizeof(reason), L"0x%lx-0x%lx is not free RAM", c->target,
                   c->target + c->length);
            fatal_load_text(KERNEL_FILE_NAME, reason);
        }
    }
}

static EFI_STATUS try_exit(EFI_HANDLE image, const struct kernel_image *k, UINTN *size,
                           UINTN *desc_size)
{
    UINTN key;
    EFI_STATUS st = map_read(size, &key, desc_size);
    if (EFI_ERROR(st))
        return st;
    check_staged_targets(*size, *desc_size, k);
    return BS->ExitBootServices(image, key);
}

__attribute__((noreturn)) static void enter(struct boot_info *bi, UINT64 entry)
{
    __asm__ volatile("cli\n\t"
                     "cld\n\t"
                     "call *%1\n"
                     "1:\thlt\n\t"
                     "jmp 1b"
                     : : "D"(bi), "r"(entry) : "memory");
    __builtin_unreachable();
}

/* Runs on the loader's own stack and page tables: the firmware's may be overwritten now. */
__attribute__((noreturn, used)) static void finish(void)
{
    const struct kernel_image *k = handoff_kernel;
    for (UINT32 i = 0; i < k->copy_count; i++) {
        const struct kernel_copy *c = &k->copies[i];
        UINT8 *dst = (UINT8 *)(UINTN)c->target;
        const UINT8 *src = (const UINT8 *)(UINTN)c->source;
        for (UINT64 b = 0; b < c->length; b++)
            dst[b] = src[b];
    }
    enter(handoff_info, k->entry);
}

__attribute__((noreturn)) static void switch_and_finish(void)
{
    __asm__ volatile("cli\n\t"
                     "mov %0, %%cr3\n\t"
                     "mov %1, %%rsp\n\t"
                     "call finish"
                     : : "r"(page_table_root), "r"(stack_top) : "memory");
    __builtin_unreachable();
}

void handoff(EFI_HANDLE image, struct boot_info *bi, const struct kernel_image *k)
{
    UINTN size = 0, desc_size = 0;
    Print(L"" LOADER_PREFIX "exiting boot services, entering the hypervisor at 0x%lx\n",
          k->entry);
    prepare();
    EFI_STATUS st = try_exit(image, k, &size, &desc_size);
    if (st == EFI_INVALID_PARAMETER)
        st = try_exit(image, k, &size, &desc_size);
    if (EFI_ERROR(st))
        die(L"ExitBootServices failed", st);
    uint32_t n = memory_map_convert(map, size / desc_size, desc_size, bi->mem, BOOTINFO_MAX_MEM);
    for (UINT32 i = 0; i < k->copy_count; i++) {
        const struct kernel_copy *c = &k->copies[i];
        n = memory_map_claim(bi->mem, n, BOOTINFO_MAX_MEM, c->target, c->target + c->length,
                             BOOT_MEM_LOADER);
        /* finish() empties the staging copy before the hypervisor runs */
        n = memory_map_claim(bi->mem, n, BOOTINFO_MAX_MEM, c->source, c->source + c->length,
                             BOOT_MEM_USABLE);
    }
    bi->mem_count = n;
    handoff_info = bi;
    handoff_kernel = k;
    switch_and_finish();
}
