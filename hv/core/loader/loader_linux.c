/*
 * Linux, unmodified: either a bzImage entered through the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst: zero page at RSI, protected-mode kernel at its
 * preferred address, entry at load address + 0x200 on an identity map; the header parsed
 * by bzimage.c), or an uncompressed vmlinux entered through its PVH entry point (ELF note
 * XEN_ELFNOTE_PHYS32_ENTRY: 32-bit protected mode, paging off, EBX = hvm_start_info),
 * which skips the kernel's self-decompression.
 *
 * Both get the same guest-physical picture: RAM [0, 0x9fc00) and [1 MiB, end), the
 * reserved BIOS range 0x9fc00-0x100000 holding the ACPI tables at LOADER_ACPI_TABLES (the
 * same every partition gets, hv/core/loader/loader_acpi.c), the zero page or start info at
 * LOADER_BOOT_INFO, the command line at LOADER_CMDLINE, and the initrd page-aligned as high
 * as RAM and initrd_addr_max allow, outside the kernel.  docs/linux-boot.md is the contract.
 */
#include <string.h>
#include "hv/lib/le.h"
#include "hv/core/loader/bzimage.h"
#include "hv/core/loader/loader_common.h"
#include "hv/vdev/hpet.h"
#include "hv/vdev/ioapic.h"
#include "hv/vdev/lapic.h"

#define MIB                    0x100000ull
#define LINUX_MIN_RAM          (32 * MIB)
#define LINUX_MAX_RAM          (3072 * MIB)     /* one e820 RAM range below the PCI hole */
#define LINUX_CMDLINE_BUF      (LOADER_GDT - LOADER_CMDLINE)    /* bytes, with the NUL */
#define LINUX_PVH_CMDLINE_MAX  2048u            /* the kernel's COMMAND_LINE_SIZE, with the NUL */
#define PAGE_MASK_4K           0xfffull

/* The 64-bit boot protocol's selectors: flat 64-bit code and flat data. */
#define LINUX_BOOT_CS 0x10
#define LINUX_BOOT_DS 0x18

/* Zero page (struct boot_params, Documentation/arch/x86/zero-page.rst) outside the setup
 * header. */
#define BP_ACPI_RSDP_ADDR   0x070
#define BP_EXT_RAMDISK_IMG  0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_ALT_MEM_K        0x1e0
#define BP_E820_ENTRIES     0x1e8
#define BP_E820_TABLE       0x2d0
#define BP_E820_MAX         128u
#define BP_SIZE             4096u

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC          0x336ec578u
#define START_INFO_MODLIST       (LOADER_BOOT_INFO + 0x40)
#define START_INFO_MEMMAP        (LOADER_BOOT_INFO + 0x80)

enum { E820_RAM = 1, E820_RESERVED = 2 };
#define E820_ENTRIES 7
_Static_assert(E820_ENTRIES <= BP_E820_MAX, "the zero page holds 128 e820 entries: "
               "more need a SETUP_E820_EXT setup_data node");

struct e820_range {
    uint64_t addr, size;
    uint32_t type;
};

struct linux_layout {
    uint64_t kernel_start;      /* the kernel's memory: [kernel_start, kernel_end) */
    uint64_t kernel_end;
    uint64_t initrd_max;        /* last byte an initrd may use */
    uint64_t initrd_addr;       /* 0: none */
    size_t cmdline_len;         /* including the NUL */
};

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

/* Sorted, not overlapping: low RAM, the EBDA, the BIOS area with the ACPI tables, RAM from
 * 1 MiB, and the pages of the IOAPIC, HPET and LAPIC (as PC firmware reports them). */
static void e820_map(uint64_t ram, struct e820_range map[E820_ENTRIES])
{
    map[0] = (struct e820_range){ 0, LOADER_LOW_RAM_END, E820_RAM };
    map[1] = (struct e820_range){ LOADER_LOW_RAM_END, 0xa0000 - LOADER_LOW_RAM_END, E820_RESERVED };
    map[2] = (struct e820_range){ 0xe0000, 0x20000, E820_RESERVED };
    map[3] = (struct e820_range){ MIB, ram - MIB, E820_RAM };
    map[4] = (struct e820_range){ VIOAPIC_DEFAULT_BASE, 0x1000, E820_RESERVED };
    map[5] = (struct e820_range){ VHPET_DEFAULT_BASE, 0x1000, E820_RESERVED };
    map[6] = (struct e820_range){ VLAPIC_DEFAULT_BASE, 0x1000, E820_RESERVED };
}

/* The command line (NUL-terminated) at LOADER_CMDLINE: at most max characters, else
 * refused (not cut: a cut command line boots a kernel other than the one asked for). */
static int write_cmdline(const struct guest_image_target *t, const struct loader_input *in,
                         size_t max, const char *limit, struct linux_layout *lay, char *err,
                         size_t err_size)
{
    const char *cmd = in->cmdline ? in->cmdline : "";
    size_t len = strlen(cmd);
    if (len > max)
        return loader_fail(err, err_size,
                           "%s: command line of %llu characters is longer than the %llu %s "
                           "(refused, not cut)", in->image_name, (unsigned long long)len,
                           (unsigned long long)max, limit);
    lay->cmdline_len = len + 1;
    if (!t->write(t->ctx, LOADER_CMDLINE, cmd, len + 1))
        return loader_fail(err, err_size, "%s: cannot write the command line", in->image_name);
    return 0;
}

/* The highest page-aligned start for len bytes ending at or below top and at or above
 * floor, or 0 when there is none. */
static uint64_t highest_fit(uint64_t floor, uint64_t top, uint64_t len)
{
    if (len > top)
        return 0;
    uint64_t at = (top - len) & ~PAGE_MASK_4K;
    return at >= floor ? at : 0;
}

/* The initrd, page-aligned as high as RAM and initrd_max allow, outside the kernel's
 * memory and above 1 MiB (where the boot data lie): above the kernel, else below it. */
static int place_initrd(const struct guest_image_target *t, const struct loader_input *in,
                        struct linux_layout *lay, char *err, size_t err_size)
{
    lay->initrd_addr = 0;
    if (!in->initrd || in->initrd_len == 0)
        return 0;
    uint64_t top = t->ram_bytes, len = in->initrd_len;
    if (lay->initrd_max < top - 1)
        top = lay->initrd_max + 1;
    uint64_t at = highest_fit(lay->kernel_end, top, len);
    if (!at && lay->kernel_start > MIB)
        at = highest_fit(MIB, top < lay->kernel_start ? top : lay->kernel_start, len);
    if (!at)
        return loader_fail(err, err_size,
                           "%s: initrd of %llu bytes does not fit in the partition's memory "
                           "below %#llx beside the kernel (%#llx-%#llx)", in->image_name,
                           (unsigned long long)len, (unsigned long long)top,
                           (unsigned long long)lay->kernel_start,
                           (unsigned long long)lay->kernel_end - 1);
    lay->initrd_addr = at;
    if (!t->write(t->ctx, at, in->initrd, len))
        return loader_fail(err, err_size, "%s: cannot write the initrd", in->image_name);
    return 0;
}

/* What both entry paths need besides the kernel itself. */
static int write_common(const struct guest_image_target *t, const struct loader_input *in,
                        size_t cmdline_max, const char *limit, struct linux_layout *lay,
                        char *err, size_t err_size)
{
    if (write_cmdline(t, in, cmdline_max, limit, lay, err, err_size) != 0 ||
        place_initrd(t, in, lay, err, err_size) != 0)
        return -1;
    if (!loader_write_acpi(t, LOADER_ACPI_TABLES))
        return loader_fail(err, err_size, "%s: cannot write the ACPI tables (%u vCPUs)",
                           in->image_name, t->vcpus);
    return 0;
}

/* ---- bzImage, 64-bit boot protocol ------------------------------------------------- */

/*
 * Where the protected-mode kernel goes.  A relocatable kernel at pref_address rounded up to
 * kernel_alignment; never lower, since Linux decompresses itself at pref_address
 * (LOAD_PHYSICAL_ADDR) or above whatever address it is given.  A kernel that is not
 * relocatable at pref_address.  Its memory, [load, load + max(init_size, its code)), must
 * lie in RAM above 1 MiB.
 */
static int bzimage_place(const struct guest_image_target *t, const struct loader_input *in,
                         const struct bzimage *bz, uint64_t *load, struct linux_layout *lay,
                         char *err, size_t err_size)
{
    uint64_t need = bz->init_size > bz->kernel_len ? bz->init_size : bz->kernel_len;
    uint64_t at = bz->pref_address ? bz->pref_address : MIB;
    if (bz->relocatable) {
        uint64_t mask = (uint64_t)bz->kernel_alignment - 1;
        at = at < MIB ? MIB : at;
        at = at > t->ram_bytes ? t->ram_bytes : (at + mask) & ~mask;
    } else if (at < MIB) {
        return loader_fail(err, err_size,
                           "%s: kernel is not relocatable and its pref_address %#llx is below "
                           "1 MiB, where the partition's boot data lie", in->image_name,
                           (unsigned long long)at);
    }
    if (!range_in(at, need, t->ram_bytes))
        return loader_fail(err, err_size,
                           "%s: %s kernel needs %#llx-%#llx (%s + init_size %#x), beyond the "
                           "partition's %llu MiB of memory", in->image_name,
                           bz->relocatable ? "relocatable" : "non-relocatable",
                           (unsigned long long)at, (unsigned long long)(at + need - 1),
                           bz->relocatable ? "pref_address aligned up" : "pref_address",
                           bz->init_size, (unsigned long long)(t->ram_bytes / MIB));
    *load = at;
    lay->kernel_start = at;
    lay->kernel_end = at + need;
    lay->initrd_max = bz->initrd_addr_max;
    return 0;
}

/* struct boot_params: zeroed (screen_info, EDID, sentinel and all), the kernel's setup
 * header as far as its jump says, then every field a loader writes. */
static void bzimage_zero_page(uint8_t *bp, const struct loader_input *in,
                              const struct bzimage *bz, uint64_t load, uint64_t ram,
                              const struct linux_layout *lay)
{
    memset(bp, 0, BP_SIZE);
    memcpy(bp + BZ_SETUP_SECTS, in->image + BZ_SETUP_SECTS, bz->header_end - BZ_SETUP_SECTS);
    bp[BZ_TYPE_OF_LOADER] = 0xff;               /* no assigned boot loader id */
    bp[BZ_EXT_LOADER_VER] = 0;
    bp[BZ_EXT_LOADER_TYPE] = 0;
    bp[BZ_LOADFLAGS] = BZ_LOADED_HIGH;          /* no real-mode heap, early messages on */
    put16(bp + BZ_HEAP_END_PTR, 0);
    put32(bp + BZ_CODE32_START, (uint32_t)load);
    put32(bp + BZ_RAMDISK_IMAGE, (uint32_t)lay->initrd_addr);
    put32(bp + BZ_RAMDISK_SIZE, lay->initrd_addr ? (uint32_t)in->initrd_len : 0);
    put32(bp + BP_EXT_RAMDISK_IMG, (uint32_t)(lay->initrd_addr >> 32));
    put32(bp + BP_EXT_RAMDISK_SIZE, 0);
    put32(bp + BZ_CMD_LINE_PTR, (uint32_t)LOADER_CMDLINE);
    put32(bp + BP_EXT_CMD_LINE_PTR, 0);
    put32(bp + BZ_HARDWARE_SUBARCH, 0);         /* the default x86/PC environment */
    put64(bp + BZ_SUBARCH_DATA, 0);
    put64(bp + BZ_SETUP_DATA, 0);               /* no setup_data chain */
    put64(bp + BP_ACPI_RSDP_ADDR, LOADER_ACPI_TABLES);
    put32(bp + BP_ALT_MEM_K, (uint32_t)((ram - MIB) / 1024));
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

/* The 64-bit entry's GDT: __BOOT_CS (0x10) flat 64-bit code, execute/read; __BOOT_DS
 * (0x18) flat data, read/write. */
static bool write_boot_gdt(const struct guest_image_target *t, struct vcpu_start *st)
{
    static const uint64_t gdt[4] = { 0, 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull };
    st->gdt_base = LOADER_GDT;
    st->gdt_limit = sizeof(gdt) - 1;
    st->code_sel = LINUX_BOOT_CS;
    st->data_sel = LINUX_BOOT_DS;
    return t->write(t->ctx, LOADER_GDT, gdt, sizeof(gdt));
}

static int load_bzimage(const struct guest_image_target *t, const struct loader_input *in,
                        struct vcpu_start *st, char *err, size_t err_size)
{
    static uint8_t bp[BP_SIZE];                 /* partitions are built one at a time */
    struct bzimage bz;
    uint64_t load;
    struct linux_layout lay;
    if (bzimage_parse(in->image, in->image_len, in->image_name, &bz, err, err_size) != 0 ||
        bzimage_place(t, in, &bz, &load, &lay, err, err_size) != 0)
        return -1;
    if (!t->write(t->ctx, load, in->image + bz.setup_len, bz.kernel_len))
        return loader_fail(err, err_size, "%s: cannot write the kernel", in->image_name);
    size_t cmdline_max = bz.cmdline_size < LINUX_CMDLINE_BUF - 1 ? bz.cmdline_size
                                                                  : LINUX_CMDLINE_BUF - 1;
    const char *limit = bz.cmdline_size < LINUX_CMDLINE_BUF - 1
                      ? "the kernel takes (cmdline_size)" : "Atoll's command line buffer holds";
    if (write_common(t, in, cmdline_max, limit, &lay, err, err_size) != 0)
        return -1;
    bzimage_zero_page(bp, in, &bz, load, t->ram_bytes, &lay);
    if (!t->write(t->ctx, LOADER_BOOT_INFO, bp, sizeof(bp)))
        return loader_fail(err, err_size, "%s: cannot write the zero page", in->image_name);
    *st = (struct vcpu_start){ .mode = START_LONG_64, .rip = load + 0x200,
                               .rsp = LOADER_STACK_TOP, .rsi = LOADER_BOOT_INFO };
    if (!write_boot_gdt(t, st) || !loader_write_identity_map(t, &st->cr3))
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
    lay->kernel_start = UINT64_MAX;
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
        if (s.paddr < lay->kernel_start)
            lay->kernel_start = s.paddr;
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
        write_common(t, in, LINUX_PVH_CMDLINE_MAX - 1, "the kernel takes (COMMAND_LINE_SIZE)",
                     &lay, err, err_size) != 0)
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
        return loader_fail(err, err_size,
                           "%s: Linux partitions need 32 MiB to 3 GiB of memory (one RAM range "
                           "below the PCI hole)", in->image_name);
    if (in->image_len >= 4 && !memcmp(in->image, "\x7f" "ELF", 4))
        return load_pvh(t, in, st, err, err_size);
    if (in->image_len >= BZ_BOOT_FLAG + 2 && le16(in->image + BZ_BOOT_FLAG) == 0xaa55)
        return load_bzimage(t, in, st, err, err_size);
    return loader_fail(err, err_size, "%s: neither a bzImage nor an ELF vmlinux", in->image_name);
}
