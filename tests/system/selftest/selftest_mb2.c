/* Harness self-test kernel (NOT Atoll): the Multiboot2 front end (32-bit, from GRUB). */
#include "tests/system/selftest/selftest.h"

struct mb2_tag { uint32_t type, size; };
struct mb2_module { uint32_t type, size, start, end; char string[]; };
struct mb2_mmap { uint32_t type, size, entry_size, entry_version; };
struct mb2_mmap_entry { uint64_t base, length; uint32_t type, reserved; };

static struct selftest_boot boot = { .cmdline = "" };

static uint32_t usable_mib(const struct mb2_tag *t)
{
    const struct mb2_mmap *m = (const struct mb2_mmap *)t;
    uint64_t bytes = 0;
    for (uint32_t e = 16; e + m->entry_size <= t->size; e += m->entry_size) {
        const struct mb2_mmap_entry *me = (const void *)((const uint8_t *)t + e);
        if (me->type == 1)
            bytes += me->length;
    }
    return (uint32_t)(bytes >> 20);
}

static void parse_tags(uint32_t mbi)
{
    uint32_t total = *(uint32_t *)mbi;
    for (uint32_t off = 8; off + 8 <= total;) {
        const struct mb2_tag *t = (const struct mb2_tag *)(mbi + off);
        if (t->type == 0)
            break;
        if (t->type == 1)
            boot.cmdline = (const char *)t + 8;
        if (t->type == 3 && boot.module_count < 32) {
            const struct mb2_module *m = (const struct mb2_module *)t;
            boot.modules[boot.module_count++] = (struct selftest_module){
                m->string, (const char *)m->start, (const char *)m->end };
        }
        if (t->type == 6)
            boot.free_mib = usable_mib(t);
        if ((t->type == 14 || t->type == 15) && !boot.rsdp)
            boot.rsdp = (const uint8_t *)t + 8;
        off += (t->size + 7) & ~7u;
    }
}

void selftest_mb2_main(uint32_t magic, uint32_t mbi);

void selftest_mb2_main(uint32_t magic, uint32_t mbi)
{
    selftest_console_init();
    if (magic != 0x36d76289) {
        selftest_fail("not started by a Multiboot2 loader");
        return;
    }
    parse_tags(mbi);
    selftest_run(&boot);
}
