/*
 * A stand-in for atoll.elf that tests boot/efi: it checks and prints what the loader put
 * in struct boot_info on COM1, prints `probe: PASS` or `probe: FAIL (N)` and ends the
 * emulator (QEMU isa-debug-exit: 1 pass, 3 fail; Bochs: iodebug pass, port 0x8900 fail).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/bootinfo.h"

#define COM1 0x3f8
#define HIGH_MAGIC 0x4847494845424f52ull /* "ROBEHIGH" */
#define HIGH_LMA 0x1100000ull
#define PAGE 4096ull

void probe_entry(struct boot_info *bi);

extern char probe_image_end[];
static volatile uint64_t initialised = 0x1234567887654321ull;
static volatile uint8_t big_bss[256 * 1024];
__attribute__((section(".high"), used)) static const uint64_t high_magic = HIGH_MAGIC;
static unsigned failures;

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static void putc(char c)
{
    if (c == '\n')
        putc('\r');
    for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
        ;
    outb(COM1, (uint8_t)c);
}

static void puts(const char *s)
{
    while (*s)
        putc(*s++);
}

static void put_hex(uint64_t v)
{
    puts("0x");
    for (int shift = 60; shift >= 0; shift -= 4)
        if (v >> shift || shift == 0)
            putc("0123456789abcdef"[(v >> shift) & 0xf]);
}

static void put_dec(uint64_t v)
{
    char buf[24];
    int n = 0;
    do
        buf[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n)
        putc(buf[--n]);
}

static void check(bool ok, const char *what)
{
    if (ok)
        return;
    failures++;
    puts("probe: check failed: ");
    puts(what);
    putc('\n');
}

static bool covered_by_loader_memory(const struct boot_info *bi, uint64_t base, uint64_t end)
{
    for (uint32_t i = 0; i < bi->mem_count && i < BOOTINFO_MAX_MEM; i++) {
        const struct boot_mem_range *r = &bi->mem[i];
        if (r->type == BOOT_MEM_LOADER && base >= r->base && end <= r->base + r->length)
            return true;
    }
    return false;
}

static void probe_memory_map(const struct boot_info *bi)
{
    uint64_t usable = 0, loader = 0;
    check(bi->mem_count > 0 && bi->mem_count <= BOOTINFO_MAX_MEM, "memory map size");
    for (uint32_t i = 0; i < bi->mem_count && i < BOOTINFO_MAX_MEM; i++) {
        const struct boot_mem_range *r = &bi->mem[i];
        puts("probe: mem ");
        put_hex(r->base);
        puts(" +");
        put_hex(r->length);
        puts(" type ");
        put_dec(r->type);
        putc('\n');
        check(r->type >= BOOT_MEM_USABLE && r->type <= BOOT_MEM_LOADER, "memory type");
        if (i > 0) {
            const struct boot_mem_range *p = &bi->mem[i - 1];
            check(p->base + p->length <= r->base, "memory map sorted and disjoint");
            check(p->base + p->length < r->base || p->type != r->type, "memory map merged");
        }
        usable += r->type == BOOT_MEM_USABLE ? r->length : 0;
        loader += r->type == BOOT_MEM_LOADER ? r->length : 0;
    }
    puts("probe: memory map ");
    put_dec(bi->mem_count);
    puts(" ranges, usable ");
    put_dec(usable >> 20);
    puts(" MiB, loader ");
    put_dec(loader >> 10);
    puts(" KiB\n");
    check(usable > 64ull << 20, "some usable RAM");
    check(covered_by_loader_memory(bi, (uint64_t)(uintptr_t)bi,
                                   (uint64_t)(uintptr_t)bi + sizeof(*bi)),
          "boot_info in loader memory");
}

static void probe_kernel(const struct boot_info *bi)
{
    uint64_t end = (uint64_t)(uintptr_t)probe_image_end;
    puts("probe: kernel ");
    put_hex(bi->kernel_base);
    putc('-');
    put_hex(bi->kernel_end);
    putc('\n');
    check(bi->kernel_base == 0x1000000 && bi->kernel_end >= HIGH_LMA + PAGE, "kernel range");
    check(covered_by_loader_memory(bi, bi->kernel_base, end), "kernel in loader memory");
    check(initialised == 0x1234567887654321ull, ".data loaded");
    bool zero = true;
    for (size_t i = 0; i < sizeof(big_bss); i++)
        zero &= big_bss[i] == 0;
    check(zero, ".bss zeroed");
    check(*(volatile uint64_t *)(uintptr_t)HIGH_LMA == HIGH_MAGIC, "segment at p_paddr");
}

static bool name_is(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static void probe_modules(const struct boot_info *bi)
{
    puts("probe: ");
    put_dec(bi->module_count);
    puts(" modules\n");
    check(bi->module_count >= 1 && bi->module_count <= BOOTINFO_MAX_MODS, "module count");
    for (uint32_t i = 0; i < bi->module_count && i < BOOTINFO_MAX_MODS; i++) {
        const struct boot_module *m = &bi->modules[i];
        puts("probe: module ");
        puts(m->name);
        putc(' ');
        put_dec(m->length);
        puts(" bytes at ");
        put_hex(m->base);
        putc('\n');
        check(m->base % PAGE == 0, "module page aligned");
        check(covered_by_loader_memory(bi, m->base, m->base + m->length),
              "module in loader memory");
    }
    check(bi->module_count >= 1 && name_is(bi->modules[0].name, "atoll.cfg"),
          "atoll.cfg is the first module");
}

static void probe_firmware(const struct boot_info *bi)
{
    const char *sig = (const char *)(uintptr_t)bi->rsdp;
    puts("probe: rsdp ");
    put_hex(bi->rsdp);
    check(bi->rsdp != 0, "rsdp present");
    bool ok = bi->rsdp != 0;
    for (int i = 0; ok && i < 8; i++)
        ok = sig[i] == "RSD PTR "[i];
    puts(ok ? " signature ok\n" : " bad signature\n");
    check(ok, "rsdp signature");
    puts("probe: framebuffer ");
    put_dec(bi->fb.width);
    putc('x');
    put_dec(bi->fb.height);
    puts(" pitch ");
    put_dec(bi->fb.pitch);
    puts(" format ");
    put_dec(bi->fb.format);
    puts(" at ");
    put_hex(bi->fb.base);
    putc('\n');
    puts("probe: cmdline \"");
    puts(bi->cmdline);
    puts("\"\n");
}

__attribute__((noreturn)) static void finish(void)
{
    if (failures == 0) {
        puts("probe: PASS\n");
    } else {
        puts("probe: FAIL (");
        put_dec(failures);
        puts(")\n");
    }
    outl(0xf4, failures ? 1 : 0);
    if (failures == 0) {
        outw(0x8a00, 0x8a00);
        outw(0x8a00, 0x8ae0);
    } else {
        for (const char *s = "Shutdown"; *s; s++)
            outb(0x8900, (uint8_t)*s);
    }
    for (;;)
        __asm__ volatile("cli; hlt");
}

__attribute__((section(".text.entry"), noreturn)) void probe_entry(struct boot_info *bi)
{
    puts("\nprobe: entered at ");
    put_hex((uint64_t)(uintptr_t)probe_entry);
    puts(", boot_info at ");
    put_hex((uint64_t)(uintptr_t)bi);
    putc('\n');
    if (bi->magic != BOOTINFO_MAGIC || bi->version != BOOTINFO_VERSION) {
        check(false, "boot_info magic and version");
        finish();
    }
    puts("probe: magic ok, version 1, loader ");
    puts(bi->loader == BOOT_LOADER_EFI ? "efi\n" : "not efi\n");
    check(bi->loader == BOOT_LOADER_EFI, "loader kind");
    probe_memory_map(bi);
    probe_kernel(bi);
    probe_modules(bi);
    probe_firmware(bi);
    finish();
}
