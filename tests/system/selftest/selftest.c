/*
 * Harness self-test kernel (NOT Atoll): a 32-bit Multiboot2 program that prints the lines
 * the real hypervisor prints in the first boot scenarios, measured the same way (MADT CPU
 * count, memory map, VMX capability MSRs read on the boot CPU for every CPU line, the
 * manifest checked against the modules), then ends the emulator by the test-mode exits.
 * It lets tests/system/run prove its own plumbing before build/atoll.elf exists:
 *     make test-system-selftest
 * Two front ends fill struct selftest_boot: selftest_mb2.c (GRUB, 32-bit) and
 * selftest_efi.c (boot/efi's loader, 64-bit, struct boot_info).
 */
#include "tests/system/selftest/selftest.h"

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }

static uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

static void putc_serial(char c)
{
    while (!(inb(0x3fd) & 0x20))
        ;
    outb(0x3f8, (uint8_t)c);
}

static void puts_serial(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            putc_serial('\r');
        putc_serial(*s);
    }
}

static void put_uint(uint32_t v)
{
    char buf[12];
    int i = 11;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    puts_serial(&buf[i]);
}

static void serial_init(void)
{
    outb(0x3f9, 0x00);
    outb(0x3fb, 0x80);
    outb(0x3f8, 0x01); /* 115200 baud */
    outb(0x3f9, 0x00);
    outb(0x3fb, 0x03);
    outb(0x3fa, 0xc7);
    outb(0x3fc, 0x03);
}

static size_t slen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }

static bool seq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

static const char *cmdline = "";
static const struct selftest_boot *boot;

/* ---- ACPI: count enabled processor entries in the MADT ---- */
static int madt_cpus(const uint8_t *rsdp)
{
    if (!rsdp)
        return 1;
    const uint8_t *rsdt = (const uint8_t *)(uintptr_t)*(const uint32_t *)(rsdp + 16);
    if (!seq((const char *)rsdt, "RSDT", 4)) {
        selftest_note("RSDP points to no RSDT:", (uintptr_t)rsdt);
        return 1;
    }
    uint32_t len = *(const uint32_t *)(rsdt + 4);
    for (uint32_t i = 36; i + 4 <= len; i += 4) {
        const uint8_t *h = (const uint8_t *)(uintptr_t)*(const uint32_t *)(rsdt + i);
        if (!seq((const char *)h, "APIC", 4))
            continue;
        uint32_t hlen = *(const uint32_t *)(h + 4);
        int n = 0;
        for (uint32_t o = 44; o + 2 <= hlen && h[o + 1] >= 2; o += h[o + 1])
            if (h[o] == 0 && (h[o + 4] & 1))
                n++;
        return n ? n : 1;
    }
    return 1;
}

/* ---- results and exits ---- */
static void finish(bool pass, const char *reason)
{
    puts_serial(pass ? "ATOLL RESULT: PASS\n" : "ATOLL RESULT: FAIL ");
    if (!pass) {
        puts_serial(reason);
        puts_serial("\n");
    }
    bool test_exit = false;
    for (const char *p = cmdline; *p; p++)
        if (seq(p, "test-exit", 9))
            test_exit = true;
    if (!test_exit)
        return;
    outl(0xf4, pass ? 0 : 1); /* QEMU isa-debug-exit */
    if (pass)
        __asm__ volatile("xchg %bx, %bx"); /* Bochs magic break: the -rc file quits */
    else
        for (const char *p = "Shutdown"; *p; p++)
            outb(0x8900, (uint8_t)*p);
}

static bool module_loaded(const char *name, size_t n)
{
    for (int i = 0; i < boot->module_count; i++)
        if (slen(boot->modules[i].name) == n && seq(boot->modules[i].name, name, n))
            return true;
    return false;
}

/* The manifest's module name, as the hypervisor takes it: `manifest=NAME` on the command
 * line (tools/image/mkiso.sh passes the file's own name), else atoll.cfg. */
static void manifest_name(char out[64])
{
    const char *v = "atoll.cfg";
    for (const char *p = cmdline; *p; p++)
        if ((p == cmdline || p[-1] == ' ') && seq(p, "manifest=", 9))
            v = p + 9;
    size_t n = 0;
    while (n < 63 && v[n] && v[n] != ' ')
        n++;
    for (size_t i = 0; i < n; i++)
        out[i] = v[i];
    out[n] = 0;
}

/* Reports each `image|initrd|identity-key = NAME` whose NAME is not a module. */
static bool manifest_ok(void)
{
    const struct selftest_module *cfg = NULL;
    char file[64];
    manifest_name(file);
    for (int i = 0; i < boot->module_count; i++)
        if (slen(boot->modules[i].name) == slen(file) &&
            seq(boot->modules[i].name, file, slen(file)))
            cfg = &boot->modules[i];
    if (!cfg) {
        puts_serial("atoll: manifest '"); puts_serial(file); puts_serial("' was not loaded\n");
        return false;
    }
    static const char *keys[] = { "image", "initrd", "identity-key" };
    const char *p = cfg->start, *end = cfg->end;
    bool ok = true;
    for (uint32_t line = 1; p < end; line++) {
        const char *eol = p;
        while (eol < end && *eol != '\n')
            eol++;
        while (p < eol && (*p == ' ' || *p == '\t'))
            p++;
        for (int k = 0; k < 3; k++) {
            size_t kl = slen(keys[k]);
            const char *v = p + kl;
            if (v > eol || !seq(p, keys[k], kl))
                continue;
            while (v < eol && (*v == ' ' || *v == '\t' || *v == '='))
                v++;
            const char *ve = v;
            while (ve < eol && *ve != ' ' && *ve != '\t' && *ve != '#' && *ve != '\r')
                ve++;
            if (ve > v && !module_loaded(v, (size_t)(ve - v))) {
                char name[64];
                size_t n = (size_t)(ve - v) < 63 ? (size_t)(ve - v) : 63;
                for (size_t i = 0; i < n; i++)
                    name[i] = v[i];
                name[n] = 0;
                puts_serial(file); puts_serial(":"); put_uint(line); puts_serial(": ");
                puts_serial(keys[k]); puts_serial(": module '"); puts_serial(name);
                puts_serial("' was not loaded\n");
                ok = false;
            }
        }
        p = eol + 1;
    }
    return ok;
}

static void vmx_lines(int cpus)
{
    uint32_t r[4];
    cpuid(1, r);
    if (!(r[2] & (1u << 5))) {
        puts_serial("atoll: no VT-x on this machine; partitions disabled\n");
        return;
    }
    bool ctls2 = (rdmsr(0x482) >> 63) & 1;
    uint32_t c2 = ctls2 ? (uint32_t)(rdmsr(0x48b) >> 32) : 0;
    for (int i = 0; i < cpus; i++) {
        puts_serial("cpu"); put_uint((uint32_t)i);
        puts_serial(": vmx ept="); puts_serial(c2 & 2 ? "yes" : "no");
        puts_serial(" ug="); puts_serial(c2 & 0x80 ? "yes" : "no");
        puts_serial(" vpid="); puts_serial(c2 & 0x20 ? "yes" : "no");
        puts_serial("\n");
    }
}

void selftest_console_init(void)
{
    serial_init();
    puts_serial("atoll-selftest: harness self-test kernel (not Atoll)\n");
}

void selftest_note(const char *text, uint64_t value)
{
    puts_serial("atoll-selftest: ");
    puts_serial(text);
    puts_serial(" 0x");
    for (int shift = 60; shift >= 0; shift -= 4)
        putc_serial("0123456789abcdef"[(value >> shift) & 15]);
    puts_serial("\n");
}

void selftest_fail(const char *reason)
{
    finish(false, reason);
}

void selftest_run(const struct selftest_boot *b)
{
    boot = b;
    cmdline = b->cmdline;
    int cpus = madt_cpus(b->rsdp);
    puts_serial("atoll 0.1.0: "); put_uint((uint32_t)cpus);
    puts_serial(" cpus online, "); put_uint(b->free_mib); puts_serial(" MiB free\n");
    vmx_lines(cpus);
    if (!manifest_ok()) {
        finish(false, "manifest");
        return;
    }
    finish(true, "");
}
