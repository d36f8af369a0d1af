#include "guest/lib/bootinfo.h"

#include <string.h>

#include "guest/lib/fwcfg.h"
#include "guest/lib/layout.h"

#define MB_INFO_MEM     (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MMAP    (1u << 6)
#define MB_MMAP_RAM     1
#define MB_MMAP_MAX_LEN 8192
#define LOW_RAM_END     0xa0000ull
#define HIGH_RAM_START  0x100000ull
#define FOUR_GIB        0x100000000ull

struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
    uint32_t mods_count, mods_addr, syms[4];
    uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct mb_mmap_entry {
    uint32_t size;
    uint64_t addr, len;
    uint32_t type;
} __attribute__((packed));

struct boot_facts boot;
extern char __image_end[];

static void add_range(uint64_t start, uint64_t end)
{
    if (end > start && boot.nranges < BOOT_MAX_RAM_RANGES)
        boot.ranges[boot.nranges++] = (struct ram_range){ start, end };
}

/* Loader-supplied addresses are trusted only below 4 GiB, which is all we map. */
static bool mapped(uint64_t addr, uint64_t len)
{
    return addr != 0 && addr < FOUR_GIB && len <= FOUR_GIB - addr;
}

static void parse_mmap(const struct mb_info *mi)
{
    uint64_t p = mi->mmap_addr, end = p + mi->mmap_length;
    if (mi->mmap_length > MB_MMAP_MAX_LEN || !mapped(p, mi->mmap_length))
        return;
    while (p + sizeof(struct mb_mmap_entry) <= end) {
        const struct mb_mmap_entry *e = (const void *)(uintptr_t)p;
        if (e->type == MB_MMAP_RAM && e->addr + e->len > e->addr)
            add_range(e->addr, e->addr + e->len);
        p += (uint64_t)e->size + 4;
    }
}

static void parse_multiboot(uint32_t info_addr)
{
    if (!mapped(info_addr, sizeof(struct mb_info)))
        return;
    const struct mb_info *mi = (const void *)(uintptr_t)info_addr;
    if ((mi->flags & MB_INFO_CMDLINE) && mapped(mi->cmdline, BOOT_CMDLINE_MAX)) {
        const char *s = (const char *)(uintptr_t)mi->cmdline;
        size_t n = strnlen(s, sizeof(boot.cmdline) - 1);
        memcpy(boot.cmdline, s, n);
        boot.cmdline[n] = 0;
    }
    if (mi->flags & MB_INFO_MMAP)
        parse_mmap(mi);
    if (boot.nranges == 0 && (mi->flags & MB_INFO_MEM)) {
        add_range(0, (uint64_t)mi->mem_lower * 1024);
        add_range(HIGH_RAM_START, HIGH_RAM_START + (uint64_t)mi->mem_upper * 1024);
    }
}

static void read_fwcfg(void)
{
    uint64_t ram = fwcfg_read_u64(FWCFG_RAM_SIZE);
    uint16_t cpus = fwcfg_read_u16(FWCFG_NB_CPUS);
    boot.fwcfg = ram != 0 && ram != ~0ull;
    if (boot.fwcfg)
        boot.ram_size = ram;
    boot.cpus = (cpus >= 1 && cpus <= MAX_CPUS * 64u) ? cpus : 1;
}

void bootinfo_init(uint32_t magic, uint32_t info_addr)
{
    boot.multiboot = magic == MULTIBOOT_BOOT_MAGIC;
    if (boot.multiboot)
        parse_multiboot(info_addr);
    read_fwcfg();
    if (boot.nranges == 0 && boot.ram_size > HIGH_RAM_START) {
        add_range(0, LOW_RAM_END);
        add_range(HIGH_RAM_START, boot.ram_size);
    }
    if (boot.ram_size == 0)
        boot.ram_size = boot_ram_end();
    if (!boot.fwcfg) {
        uint64_t cpus = cmdline_u64("cpus", 1);
        boot.cpus = cpus >= 1 && cpus <= MAX_CPUS ? (unsigned)cpus : 1;
    }
}

uint64_t boot_ram_end(void)
{
    uint64_t end = boot.ram_size;
    for (unsigned i = 0; i < boot.nranges; i++)
        if (boot.ranges[i].end > end)
            end = boot.ranges[i].end;
    return end;
}

static const char *find_word(const char *word, size_t len)
{
    const char *p = boot.cmdline;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        if ((size_t)(p - w) >= len && strncmp(w, word, len) == 0 &&
            (w[len] == ' ' || w[len] == 0 || w[len] == '='))
            return w + len;
    }
    return 0;
}

bool cmdline_has(const char *word)
{
    return find_word(word, strlen(word)) != 0;
}

uint64_t cmdline_u64(const char *key, uint64_t fallback)
{
    const char *v = find_word(key, strlen(key));
    if (!v || *v != '=')
        return fallback;
    v++;
    unsigned base = 10;
    if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
        base = 16;
        v += 2;
    }
    uint64_t n = 0;
    bool any = false;
    for (;; v++, any = true) {
        unsigned d = (*v >= '0' && *v <= '9') ? (unsigned)(*v - '0')
                   : (*v >= 'a' && *v <= 'f') ? (unsigned)(*v - 'a' + 10)
                   : (*v >= 'A' && *v <= 'F') ? (unsigned)(*v - 'A' + 10) : 99;
        if (d >= base)
            break;
        n = n * base + d;
    }
    return any ? n : fallback;
}

uintptr_t image_end(void)
{
    return (uintptr_t)__image_end;
}
