/*
 * Linux, unmodified: either a bzImage entered through the 64-bit boot protocol
 * (Documentation/x86/boot.rst: zero page at RSI, protected-mode kernel at its preferred
 * address, entry at load address + 0x200 on an identity map), or an uncompressed vmlinux
 * entered through its PVH entry point (ELF note XEN_ELFNOTE_PHYS32_ENTRY: 32-bit protected
 * mode, paging off, EBX = hvm_start_info), which skips the kernel's self-decompression.
 *
 * Both get the same guest-physical picture: RAM [0, 0x9fc00) and [1 MiB, end), the
 * reserved BIOS range 0x9fc00-0x100000 holding the ACPI tables at LOADER_ACPI_TABLES (the
 * same every partition gets, hv/core/loader/loader_acpi.c), the
 * zero page or start info at LOADER_BOOT_INFO, the command line at LOADER_CMDLINE, and
 * the initrd page-aligned at the top of RAM (below the kernel's initrd_addr_max).
 */
#include <string.h>
#include "hv/lib/le.h"
#include "hv/core/loader/loader_common.h"

#define MIB                    0x100000ull
#define LINUX_MIN_RAM          (32 * MIB)
#define LINUX_MAX_RAM          (3072 * MIB)     /* one e820 RAM range below the PCI hole */
#define LINUX_CMDLINE_MAX      2048u            /* bytes reserved at LOADER_CMDLINE */

/* Setup header (offsets into the bzImage and the zero page). */
#define HDR_SETUP_SECTS     0x1f1
#define HDR_BOOT_FLAG       0x1fe
#define HDR_JUMP            0x200
#define HDR_MAGIC           0x202
#define HDR_VERSION         0x206
#define HDR_TYPE_OF_LOADER  0x210
#define HDR_LOADFLAGS       0x211
#define HDR_RAMDISK_IMAGE   0x218
#define HDR_RAMDISK_SIZE    0x21c
#define HDR_CMD_LINE_PTR    0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGN    0x230
#define HDR_RELOCATABLE     0x234
#define HDR_XLOADFLAGS      0x236
#define HDR_CMDLINE_SIZE    0x238
#define HDR_PREF_ADDRESS    0x258
#define HDR_INIT_SIZE       0x260
#define HDR_MIN_END         0x264       /* everything above is read from the image */
#define BP_ACPI_RSDP_ADDR   0x070
#define BP_EXT_RAMDISK_IMG  0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES     0x1e8
#define BP_E820_TABLE       0x2d0
#define BP_SIZE             4096u

#define LOADED_HIGH    0x01
#define XLF_KERNEL_64  0x01
#define BOOT_PROTO_MIN 0x20c            /* xloadflags and the 64-bit entry */
#define BOOT_PROTO_RSDP 0x20e           /* acpi_rsdp_addr */

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC          0x336ec578u
#define START_INFO_MODLIST       (LOADER_BOOT_INFO + 0x40)
#define START_INFO_MEMMAP        (LOADER_BOOT_INFO + 0x80)

enum { E820_RAM = 1, E820_RESERVED = 2 };
#define E820_ENTRIES 4

struct e820_range {
    uint64_t addr, size;
    uint32_t type;
};

struct linux_layout {
    uint64_t kernel_end;        /* first byte above the kernel's memory */
    uint64_t initrd_max;        /* last byte an initrd may use */
    uint64_t initrd_addr;       /* 0: none */
    size_t cmdline_len;         /* including the NUL */
};

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static void e820_map(uint64_t ram, struct e820_range map[E820_ENTRIES])
{
    map[0] = (struct e820_range){ 0, LOADER_LOW_RAM_END, E820_RAM };
    map[1] = (struct e820_range){ LOADER_LOW_RAM_END, 0xa0000 - LOADER_LOW_RAM_END, E820_RESERVED };
    map[2] = (struct e820_range){ 0xe0000, 0x20000, E820_RESERVED };
    map[3] = (struct e820_range){ MIB, ram - MIB, E820_RAM };
}

/* The command line (NUL-terminated) at LOADER_CMDLINE; max counts the NUL. */
static int write_cmdline(const struct guest_image_target *t, const struct loader_input *in,
                         size_t max, struct linux_layout *lay, char *err, size_t err_size)
{
    const char *cmd = in->cmdline ? in->cmdline : "";
    size_t len = strlen(cmd) + 1;
    if (len > max || len > LINUX_CMDLINE_MAX)
        return loader_fail(err, err_size, "%s: command line longer than the kernel takes (%lu bytes)",
                           in->image_name, (unsigned long)(max < LINUX_CMDLINE_MAX ? max : LINUX_CMDLINE_MAX) - 1);
    lay->cmdline_len = len;
    if (!t->write(t->ctx, LOADER_CMDLINE, cmd, len))
        return loader_fail(err, err_size, "%s: cannot write the command line", in->image_name);
    return 0;
}

/* The initrd, page-aligned as high as RAM and the kernel allow, above the kernel. */
static int place_initrd(const struct guest_image_target *t, const struct loader_input *in,
                        struct linux_layout *lay, char *err, size_t err_size)
{
    lay->initrd_addr = 0;
    if (!in->initrd || in->initrd_len == 0)
        return 0;
    uint64_t top = t->ram_bytes;
    if (lay->initrd_max < top - 1)
        top = lay->initrd_max + 1;
    if (in->initrd_len > top || ((top - in->initrd_len) & ~0xfffull) < lay->kernel_end)
        return loader_fail(err, err_size, "%s: initrd of %lu bytes does not fit above the kernel",
                           in->image_name, (unsigned long)in->initrd_len);
    lay->initrd_addr = (top - in->initrd_len) & ~0xfffull;
    if (!t->write(t->ctx, lay->initrd_addr, in->initrd, in->initrd_len))
        return loader_fail(err, err_size, "%s: cannot write the initrd", in->image_name);
    return 0;
}

/* What both entry paths need besides the kernel itself. */
static int write_common(const struct guest_image_target *t, const struct loader_input *in,
                        size_t cmdline_max, struct linux_layout *lay, char *err, size_t err_size)
{
    if (write_cmdline(t, in, cmdline_max, lay, err, err_size) != 0 ||
        place_initrd(t, in, lay, err, err_size) != 0)
        return -1;
    if (!loader_write_acpi(t, LOADER_ACPI_TABLES))
        return loader_fail(err, err_size, "%s: cannot write the ACPI tables (%u vCPUs)",
                           in->image_name, t->vcpus);
    return 0;
}

/* ---- bzImage, 64-bit boot protocol ------------------------------------------------- */

static int bzimage_check(const struct guest_image_target *t, const struct loader_input *in,
                         uint64_t kernel_len, uint64_t *load, struct linux_layout *lay,
                         char *err, size_t err_size)
{
    const uint8_t *img = in->image;
    uint16_t version = le16(img + HDR_VERSION);
    if (version < BOOT_PROTO_MIN || !(img[HDR_XLOADFLAGS] & XLF_KERNEL_64) ||
        !(img[HDR_LOADFLAGS] & LOADED_HIGH))
        return loader_fail(err, err_size, "%s: bzImage without the 64-bit boot protocol (version %#x)",
                           in->image_name, version);
    uint32_t align = le32(img + HDR_KERNEL_ALIGN);
    uint64_t pref = le64(img + HDR_PREF_ADDRESS);
    uint64_t need = le32(img + HDR_INIT_SIZE);
    if (need < kernel_len)
        need = kernel_len;
    if (align == 0 || (align & (align - 1)) || align > 0x40000000u)
        align = 0x200000u;
    if (pref < MIB || (pref & (align - 1))) {
        if (!img[HDR_RELOCATABLE])
            return loader_fail(err, err_size, "%s: kernel is neither relocatable nor at an aligned address",
                               in->image_name);
        pref = (16 * MIB + align - 1) & ~(uint64_t)(align - 1);
    }
    if (!range_in(pref, need, t->ram_bytes))
        return loader_fail(err, err_size, "%s: kernel needs %lu bytes at %#lx, more than the partition's memory",
                           in->image_name, need, pref);
    *load = pref;
    lay->kernel_end = pref + need;
    lay->initrd_max = le32(img + HDR_INITRD_ADDR_MAX);
    return 0;
}

static void bzimage_zero_page(uint8_t *bp, const struct loader_input *in, uint64_t ram,
                              const struct linux_layout *lay)
{
    const uint8_t *img = in->image;
    size_t hdr_end = HDR_MAGIC + (size_t)img[HDR_JUMP + 1];    /* the jump skips the header */
    if (hdr_end > 0x290 || hdr_end < HDR_MIN_END)
        hdr_end = HDR_MIN_END;
    memset(bp, 0, BP_SIZE);
    memcpy(bp + HDR_SETUP_SECTS, img + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);
    bp[HDR_TYPE_OF_LOADER] = 0xff;
    put32(bp + HDR_CMD_LINE_PTR, (uint32_t)LOADER_CMDLINE);
    put32(bp + BP_EXT_CMD_LINE_PTR, 0);
    put32(bp + HDR_RAMDISK_IMAGE, (uint32_t)lay->initrd_addr);
    put32(bp + HDR_RAMDISK_SIZE, lay->initrd_addr ? (uint32_t)in->initrd_len : 0);
    put32(bp + BP_EXT_RAMDISK_IMG, 0);
    put32(bp + BP_EXT_RAMDISK_SIZE, 0);
    if (le16(img + HDR_VERSION) >= BOOT_PROTO_RSDP)
        put64(bp + BP_ACPI_RSDP_ADDR, LOADER_ACPI_TABLES);
    struct e820_range map[E820_ENTRIES];
    e820_map(ram, map);
    bp[BP_E820_ENTRIES] = E820_ENTRIES;
    for (unsigned i = 0; i < E820_ENTRIES; i++) {
        uint8_t *e = bp + BP_E820_TABLE + 20 * i;
        put64(e, map[i].addr);
        put64(e + 8, map[i].size);
        put32(e + 16, map[i].type);
    }
}

static int load_bzimage(const struct guest_image_target *t, const struct loader_input *in,
                        struct vcpu_start *st, char *err, size_t err_size)
{
    static uint8_t bp[BP_SIZE];                 /* partitions are built one at a time */
    const uint8_t *img = in->image;
    if (le16(img + HDR_BOOT_FLAG) != 0xaa55)
        return loader_fail(err, err_size, "%s: bzImage without the 0xAA55 boot flag", in->image_name);
    uint64_t setup_len = ((uint64_t)(img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4) + 1) * 512;
    if (setup_len >= in->image_len)
        return loader_fail(err, err_size, "%s: bzImage setup code covers the whole file", in->image_name);
    uint64_t load;
    struct linux_layout lay;
    if (bzimage_check(t, in, in->image_len - setup_len, &load, &lay, err, err_size) != 0)
        return -1;
    if (!t->write(t->ctx, load, img + setup_len, in->image_len - setup_len))
        return loader_fail(err, err_size, "%s: cannot write the kernel", in->image_name);
    uint32_t cmdline_size = le32(img + HDR_CMDLINE_SIZE);
    if (write_common(t, in, (size_t)cmdline_size + 1, &lay, err, err_size) != 0)
        return -1;
    bzimage_zero_page(bp, in, t->ram_bytes, &lay);
    if (!t->write(t->ctx, LOADER_BOOT_INFO, bp, sizeof(bp)))
        return loader_fail(err, err_size, "%s: cannot write the zero page", in->image_name);
    *st = (struct vcpu_start){ .mode = START_LONG_64, .rip = load + 0x200,
                               .rsp = LOADER_STACK_TOP, .rsi = LOADER_BOOT_INFO };
    if (!loader_write_gdt(t, st) || !loader_write_identity_map(t, &st->cr3))
        return loader_fail(err, err_size, "%s: cannot write the start-up page tables", in->image_name);
    return 0;
}

/* ---- vmlinux, PVH entry ------------------------------------------------------------ */

#define ELF_EHDR_LEN 64u
#define ELF_PHDR_LEN 56u
enum { PT_LOAD = 1, PT_NOTE = 4 };

struct elf_segment {
    uint32_t type;
    uint64_t offset, paddr, filesz, memsz;
};

static bool elf_segment(const struct loader_input *in, unsigned i, struct elf_segment *s)
{
    const uint8_t *img = in->image;
    uint64_t phoff = le64(img + 32);
    uint16_t phentsize = le16(img + 54);
    uint64_t at = phoff + (uint64_t)i * phentsize;
    if (phoff > in->image_len || phentsize < ELF_PHDR_LEN || !range_in(at, ELF_PHDR_LEN, in->image_len))
        return false;
    const uint8_t *ph = img + at;
    *s = (struct elf_segment){ le32(ph), le64(ph + 8), le64(ph + 24), le64(ph + 32), le64(ph + 40) };
    return true;
}

/* The 32-bit entry from a "Xen" note of type XEN_ELFNOTE_PHYS32_ENTRY, or 0. */
static uint64_t pvh_entry_in_notes(const uint8_t *n, uint64_t len)
{
    while (len >= 12) {
        uint32_t namesz = le32(n), descsz = le32(n + 4), type = le32(n + 8);
        uint64_t name_len = ((uint64_t)namesz + 3) & ~3ull, desc_len = ((uint64_t)descsz + 3) & ~3ull;
        if (name_len > len - 12 || desc_len > len - 12 - name_len)
            return 0;
        const uint8_t *desc = n + 12 + name_len;
        if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 && !memcmp(n + 12, "Xen", 4))
            return descsz == 4 ? le32(desc) : descsz == 8 ? le64(desc) : 0;
        n += 12 + name_len + desc_len;
        len -= 12 + name_len + desc_len;
    }
    return 0;
}

static int pvh_load_segments(const struct guest_image_target *t, const struct loader_input *in,
                             uint64_t *entry, struct linux_layout *lay, char *err, size_t err_size)
{
    uint16_t phnum = le16(in->image + 56);
    if (phnum == 0 || phnum > 64)
        return loader_fail(err, err_size, "%s: bad program header table", in->image_name);
    *entry = 0;
    lay->kernel_end = 0;
    for (unsigned i = 0; i < phnum; i++) {
        struct elf_segment s;
        if (!elf_segment(in, i, &s))
            return loader_fail(err, err_size, "%s: program header %u is outside the file", in->image_name, i);
        if (s.type == PT_NOTE && range_in(s.offset, s.filesz, in->image_len) && !*entry)
            *entry = pvh_entry_in_notes(in->image + s.offset, s.filesz);
        if (s.type != PT_LOAD || s.memsz == 0)
            continue;
        if (s.paddr < MIB)
            return loader_fail(err, err_size, "%s: segment %u is below 1 MiB, where no Linux kernel goes",
                               in->image_name, i);
        if (loader_place_segment(t, in, i, s.offset, s.filesz, s.paddr, s.memsz, err, err_size))
            return -1;
        if (s.paddr + s.memsz > lay->kernel_end)
            lay->kernel_end = s.paddr + s.memsz;
    }
    if (!lay->kernel_end)
        return loader_fail(err, err_size, "%s: no loadable segment", in->image_name);
    if (*entry < MIB || *entry >= lay->kernel_end)
        return loader_fail(err, err_size, "%s: no PVH entry point (XEN_ELFNOTE_PHYS32_ENTRY) inside the kernel",
                           in->image_name);
    return 0;
}

/* hvm_start_info (version 1), its module list (the initrd) and memory map. */
static bool pvh_write_start_info(const struct guest_image_target *t, const struct loader_input *in,
                                 const struct linux_layout *lay)
{
    uint8_t si[56] = { 0 }, mod[32] = { 0 }, mm[E820_ENTRIES * 24] = { 0 };
    struct e820_range map[E820_ENTRIES];
    e820_map(t->ram_bytes, map);
    for (unsigned i = 0; i < E820_ENTRIES; i++) {
        put64(mm + 24 * i, map[i].addr);
        put64(mm + 24 * i + 8, map[i].size);
        put32(mm + 24 * i + 16, map[i].type);
    }
    put32(si, HVM_START_MAGIC);
    put32(si + 4, 1);
    put32(si + 12, lay->initrd_addr ? 1 : 0);
    put64(si + 16, lay->initrd_addr ? START_INFO_MODLIST : 0);
    put64(si + 24, LOADER_CMDLINE);
    put64(si + 32, LOADER_ACPI_TABLES);
    put64(si + 40, START_INFO_MEMMAP);
    put32(si + 48, E820_ENTRIES);
    put64(mod, lay->initrd_addr);
    put64(mod + 8, lay->initrd_addr ? in->initrd_len : 0);
    return t->write(t->ctx, LOADER_BOOT_INFO, si, sizeof(si)) &&
           t->write(t->ctx, START_INFO_MODLIST, mod, sizeof(mod)) &&
           t->write(t->ctx, START_INFO_MEMMAP, mm, sizeof(mm));
}

static int load_pvh(const struct guest_image_target *t, const struct loader_input *in,
                    struct vcpu_start *st, char *err, size_t err_size)
{
    const uint8_t *img = in->image;
    if (in->image_len < ELF_EHDR_LEN || img[4] != 2 || img[5] != 1 || le16(img + 18) != 62)
        return loader_fail(err, err_size, "%s: not an ELF64 x86-64 kernel", in->image_name);
    uint64_t entry;
    struct linux_layout lay = { .initrd_max = 0xffffffffull };
    if (pvh_load_segments(t, in, &entry, &lay, err, err_size) != 0 ||
        write_common(t, in, LINUX_CMDLINE_MAX, &lay, err, err_size) != 0)
        return -1;
    if (!pvh_write_start_info(t, in, &lay))
        return loader_fail(err, err_size, "%s: cannot write the PVH start info", in->image_name);
    *st = (struct vcpu_start){ .mode = START_PROTECTED_32, .rip = entry,
                               .rsp = LOADER_STACK_TOP, .rbx = LOADER_BOOT_INFO };
    if (!loader_write_gdt(t, st))
        return loader_fail(err, err_size, "%s: cannot write the start-up GDT", in->image_name);
    return 0;
}

int load_linux(const struct guest_image_target *t, const struct loader_input *in,
               struct vcpu_start *st, char *err, size_t err_size)
{
    if (t->ram_bytes < LINUX_MIN_RAM || t->ram_bytes > LINUX_MAX_RAM)
        return loader_fail(err, err_size, "%s: Linux partitions need 32 MiB to 4 GiB of memory",
                           in->image_name);
    if (in->image_len >= 4 && !memcmp(in->image, "\x7f" "ELF", 4))
        return load_pvh(t, in, st, err, err_size);
    if (in->image_len > HDR_MIN_END + 0x200 && !memcmp(in->image + HDR_MAGIC, "HdrS", 4))
        return load_bzimage(t, in, st, err, err_size);
    return loader_fail(err, err_size, "%s: neither a bzImage nor an ELF vmlinux", in->image_name);
}
