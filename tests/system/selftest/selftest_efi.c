/* Harness self-test kernel (NOT Atoll): the boot/efi front end (64-bit, struct boot_info). */
#include "tests/system/selftest/selftest.h"
#include "boot/bootinfo.h"

static struct selftest_boot boot = { .cmdline = "" };

/* Diagnostic for a loader that found no RSDP: is there one in non-usable RAM at all? */
static const uint8_t *rsdp_scan(const struct boot_info *bi)
{
    for (uint32_t i = 0; i < bi->mem_count && i < BOOTINFO_MAX_MEM; i++) {
        const struct boot_mem_range *r = &bi->mem[i];
        if (r->type == BOOT_MEM_USABLE || r->base + r->length > (1ull << 32) ||
            r->length > (64ull << 20))
            continue;
        for (uint64_t a = r->base; a + 20 <= r->base + r->length; a += 16) {
            const uint8_t *p = (const uint8_t *)(uintptr_t)a;
            if (p[0] == 'R' && p[1] == 'S' && p[2] == 'D' && p[3] == ' ' && p[4] == 'P' &&
                p[5] == 'T' && p[6] == 'R' && p[7] == ' ')
                return p;
        }
    }
    return NULL;
}

void selftest_efi_main(const struct boot_info *bi);

void selftest_efi_main(const struct boot_info *bi)
{
    selftest_console_init();
    if (bi->magic != BOOTINFO_MAGIC || bi->version != BOOTINFO_VERSION) {
        selftest_fail("boot_info has a bad magic or version");
        return;
    }
    boot.cmdline = bi->cmdline;
    boot.rsdp = (const uint8_t *)(uintptr_t)bi->rsdp;
    if (!boot.rsdp) {
        boot.rsdp = rsdp_scan(bi);
        selftest_note(boot.rsdp ? "loader gave no RSDP; found one by scanning at"
                                : "loader gave no RSDP; none in firmware memory either", (uintptr_t)boot.rsdp);
    }
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < bi->mem_count && i < BOOTINFO_MAX_MEM; i++)
        if (bi->mem[i].type == BOOT_MEM_USABLE)
            bytes += bi->mem[i].length;
    boot.free_mib = (uint32_t)(bytes >> 20);
    for (uint32_t i = 0; i < bi->module_count && i < BOOTINFO_MAX_MODS && i < 32; i++) {
        const struct boot_module *m = &bi->modules[i];
        boot.modules[boot.module_count++] = (struct selftest_module){
            m->name, (const char *)(uintptr_t)m->base,
            (const char *)(uintptr_t)(m->base + m->length) };
    }
    selftest_run(&boot);
}
