/*
 * Multiboot (v1) ELF32 kernels: segments at their physical addresses (low memory too,
 * outside what the loaders reserve), a Multiboot information block with the memory map
 * and command line, the partition's ACPI tables (found by the BIOS-area scan: Multiboot v1
 * has no field for them), entered in flat 32-bit protected mode with EAX = 0x2BADB002 and
 * EBX = the information block.
 */
#include <string.h>
#include "hv/core/loader/loader_common.h"

#define MB1_HEADER_MAGIC  0x1badb002u
#define MB1_BOOT_MAGIC    0x2badb002u
#define MB1_SEARCH_BYTES  8192
#define MB1_INFO_MEM      (1u << 0)
#define MB1_INFO_CMDLINE  (1u << 2)
#define MB1_INFO_MODS     (1u << 3)
#define MB1_INFO_MMAP     (1u << 6)

struct elf32_ehdr {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version, entry, phoff, shoff, flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf32_phdr {
    uint32_t type, offset, vaddr, paddr, filesz, memsz, flags, align;
};

struct mb1_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
};

struct mb1_mmap_entry {
    uint32_t size;
    uint64_t base, length;
    uint32_t type;
} __attribute__((packed));

static bool has_multiboot_header(const struct loader_input *in)
{
    size_t limit = in->image_len < MB1_SEARCH_BYTES ? in->image_len : MB1_SEARCH_BYTES;
    for (size_t off = 0; off + 12 <= limit; off += 4) {
        uint32_t w[3];
        memcpy(w, in->image + off, sizeof(w));
        if (w[0] == MB1_HEADER_MAGIC && w[0] + w[1] + w[2] == 0)
            return true;
    }
    return false;
}

static void read_phdr(const uint8_t *entry, struct loader_segment *seg)
{
    struct elf32_phdr ph;
    memcpy(&ph, entry, sizeof(ph));
    *seg = (struct loader_segment){ .type = ph.type, .offset = ph.offset, .paddr = ph.paddr,
                                    .filesz = ph.filesz, .memsz = ph.memsz };
}

static bool write_info(const struct guest_image_target *t, const char *cmdline)
{
    size_t n = cmdline ? strlen(cmdline) : 0;
    if (n > 4095)
        n = 4095;
    char zero = 0;
    if (!t->write(t->ctx, LOADER_CMDLINE, cmdline ? cmdline : "", n) ||
        !t->write(t->ctx, LOADER_CMDLINE + n, &zero, 1))
        return false;
    struct mb1_mmap_entry mmap[3] = {
        { 20, 0, LOADER_LOW_RAM_END, 1 },
        { 20, LOADER_LOW_RAM_END, 0x100000 - LOADER_LOW_RAM_END, 2 },
        { 20, 0x100000, t->ram_bytes - 0x100000, 1 },
    };
    struct mb1_info info = {
        .flags = MB1_INFO_MEM | MB1_INFO_CMDLINE | MB1_INFO_MODS | MB1_INFO_MMAP,
        .mem_lower = (uint32_t)(LOADER_LOW_RAM_END / 1024),
        .mem_upper = (uint32_t)((t->ram_bytes - 0x100000) / 1024),
        .cmdline = (uint32_t)LOADER_CMDLINE,
        .mods_count = 0,
        .mods_addr = (uint32_t)(LOADER_BOOT_INFO + 0x800),
        .mmap_length = sizeof(mmap),
        .mmap_addr = (uint32_t)(LOADER_BOOT_INFO + 0x100),
    };
    return t->write(t->ctx, LOADER_BOOT_INFO, &info, sizeof(info)) &&
           t->write(t->ctx, LOADER_BOOT_INFO + 0x100, mmap, sizeof(mmap));
}

int load_multiboot(const struct guest_image_target *t, const struct loader_input *in,
                   struct vcpu_start *st, char *err, size_t err_size)
{
    struct elf32_ehdr eh;
    if (in->image_len < sizeof(eh))
        return loader_fail(err, err_size, "%s: too small for an ELF file", in->image_name);
    memcpy(&eh, in->image, sizeof(eh));
    if (memcmp(eh.ident, "\x7f" "ELF", 4) || eh.ident[4] != 1 || eh.machine != 3)
        return loader_fail(err, err_size, "%s: not an ELF32 i386 image", in->image_name);
    if (!has_multiboot_header(in))
        return loader_fail(err, err_size, "%s: no Multiboot header in the first 8 KiB",
                           in->image_name);
    if (eh.phentsize < sizeof(struct elf32_phdr) || eh.phnum == 0 || eh.phnum > 64)
        return loader_fail(err, err_size, "%s: bad program header table", in->image_name);
    if (t->ram_bytes < 0x200000 || t->ram_bytes > 0xffffffffull)
        return loader_fail(err, err_size, "%s: a Multiboot kernel needs 2 MiB to 4 GiB of memory",
                           in->image_name);
    if (loader_place_segments(t, in, eh.phoff, eh.phnum, eh.phentsize, sizeof(struct elf32_phdr),
                              read_phdr, err, err_size))
        return -1;
    if (!write_info(t, in->cmdline))
        return loader_fail(err, err_size, "%s: cannot write the Multiboot information", in->image_name);
    if (!loader_write_acpi(t, LOADER_ACPI_TABLES))
        return loader_fail(err, err_size, "%s: cannot write the ACPI tables (%u vCPUs)",
                           in->image_name, t->vcpus);
    *st = (struct vcpu_start){ .mode = START_PROTECTED_32, .rip = eh.entry,
                               .rax = MB1_BOOT_MAGIC, .rbx = LOADER_BOOT_INFO };
    if (!loader_write_gdt(t, st))
        return loader_fail(err, err_size, "%s: cannot write the GDT", in->image_name);
    return 0;
}
