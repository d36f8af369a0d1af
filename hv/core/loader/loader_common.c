#include "hv/core/loader/loader_common.h"

static const struct {
    uint64_t base, end;
    const char *what;
} reserved[] = {
    { LOADER_BDA_EBDA_PTR & ~0xffull, (LOADER_BDA_EBDA_PTR & ~0xffull) + 0x100, "BIOS data area" },
    { LOADER_STACK_BOTTOM, LOADER_BOOT_AREA_END, "start-up stack, boot information and page tables" },
    { LOADER_EBDA, 0x100000, "EBDA, VGA and BIOS area (ACPI tables)" },
};

const char *loader_reserved_overlap(uint64_t gpa, uint64_t len)
{
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (len && gpa < reserved[i].end && (gpa >= reserved[i].base || reserved[i].base - gpa < len))
            return reserved[i].what;
    return NULL;
}

int loader_place_segment(const struct guest_image_target *t, const struct loader_input *in,
                         unsigned index, uint64_t offset, uint64_t filesz, uint64_t paddr,
                         uint64_t memsz, char *err, size_t err_size)
{
    if (filesz > memsz || !range_in(offset, filesz, in->image_len) ||
        !range_in(paddr, memsz, t->ram_bytes))
        return loader_fail(err, err_size, "%s: segment %u does not fit the partition's memory",
                           in->image_name, index);
    const char *taken = loader_reserved_overlap(paddr, memsz);
    if (taken)
        return loader_fail(err, err_size, "%s: segment %u (%#lx-%#lx) overlaps the %s",
                           in->image_name, index, (unsigned long)paddr,
                           (unsigned long)(paddr + memsz - 1), taken);
    if (!t->write(t->ctx, paddr, in->image + offset, filesz) ||
        !t->zero(t->ctx, paddr + filesz, memsz - filesz))
        return loader_fail(err, err_size, "%s: cannot load segment %u", in->image_name, index);
    return 0;
}

int loader_place_segments(const struct guest_image_target *t, const struct loader_input *in,
                          uint64_t phoff, unsigned phnum, unsigned phentsize, size_t entry_size,
                          void (*read_entry)(const uint8_t *entry, struct loader_segment *seg),
                          char *err, size_t err_size)
{
    unsigned loaded = 0;
    for (unsigned i = 0; i < phnum; i++) {
        uint64_t at = phoff + (uint64_t)i * phentsize;
        if (phoff > in->image_len || !range_in(at, entry_size, in->image_len))
            return loader_fail(err, err_size, "%s: program header %u is outside the file",
                               in->image_name, i);
        struct loader_segment seg;
        read_entry(in->image + at, &seg);
        if (seg.type != 1 || seg.memsz == 0)
            continue;
        if (loader_place_segment(t, in, i, seg.offset, seg.filesz, seg.paddr, seg.memsz, err,
                                 err_size))
            return -1;
        loaded++;
    }
    if (!loaded)
        return loader_fail(err, err_size, "%s: no loadable segment", in->image_name);
    return 0;
}

bool loader_write_gdt(const struct guest_image_target *t, struct vcpu_start *st)
{
    static const uint64_t gdt[4] = {
        0, 0x00af9a000000ffffull, 0x00cf92000000ffffull, 0x00cf9a000000ffffull,
    };
    st->gdt_base = LOADER_GDT;
    st->gdt_limit = sizeof(gdt) - 1;
    return t->write(t->ctx, LOADER_GDT, gdt, sizeof(gdt));
}

bool loader_write_identity_map(const struct guest_image_target *t, uint64_t *cr3)
{
    uint64_t page[512];
    for (int i = 0; i < 512; i++)
        page[i] = 0;
    page[0] = (LOADER_PAGE_TABLES + 0x1000) | 3;
    if (!t->write(t->ctx, LOADER_PAGE_TABLES, page, sizeof(page)))
        return false;
    for (int i = 0; i < 4; i++)
        page[i] = (LOADER_PAGE_TABLES + 0x2000 + 0x1000ull * (uint64_t)i) | 3;
    if (!t->write(t->ctx, LOADER_PAGE_TABLES + 0x1000, page, sizeof(page)))
        return false;
    for (uint64_t pd = 0; pd < 4; pd++) {
        for (uint64_t i = 0; i < 512; i++)
            page[i] = ((pd << 30) + (i << 21)) | 0x83;
        if (!t->write(t->ctx, LOADER_PAGE_TABLES + 0x2000 + pd * 0x1000, page, sizeof(page)))
            return false;
    }
    *cr3 = LOADER_PAGE_TABLES;
    return true;
}
