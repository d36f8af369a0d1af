/*
 * ACPI the way firmware leaves it (ACPI 6.x 5.2.5.1): the RSDP is found by the BIOS-area
 * scan (the first KiB of the EBDA named by the word at 0x40E, then 0xE0000-0xFFFFF on
 * 16-byte boundaries); every table it leads to has a valid checksum; the XSDT (or RSDT)
 * lists a FADT, a MADT and an HPET table; and the PM timer the FADT names counts at
 * 3.579545 MHz against the TSC, 24 or 32 bits wide as the FADT's TMR_VAL_EXT says.
 */
#include "guest/lib/guest.h"

DEFINE_TEST("acpi");

#define PM_TIMER_HZ   3579545ull
#define FADT_TMR_VAL_EXT (1u << 8)

static uint8_t sum(const void *p, uint32_t len)
{
    const uint8_t *b = p;
    uint8_t s = 0;
    while (len--)
        s = (uint8_t)(s + *b++);
    return s;
}

static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint64_t read_pm_timer(void *port) { return inl(*(const uint16_t *)port); }

static const uint8_t *scan(uintptr_t from, uintptr_t to)
{
    for (uintptr_t a = from; a + 20 <= to; a += 16) {
        const uint8_t *r = (const uint8_t *)a;
        if (!memcmp(r, "RSD PTR ", 8) && sum(r, 20) == 0)
            return r;
    }
    return NULL;
}

static const uint8_t *find_rsdp(const char **where)
{
    uintptr_t bda_ebda = 0x40e;
    __asm__("" : "+r"(bda_ebda));           /* a plain address, not a null-based object */
    uintptr_t ebda = (uintptr_t)*(volatile uint16_t *)bda_ebda << 4;
    const uint8_t *r = ebda >= 0x80000 && ebda < 0xa0000 ? scan(ebda, ebda + 1024) : NULL;
    *where = "the EBDA";
    if (!r) {
        r = scan(0xe0000, 0x100000);
        *where = "0xe0000-0xfffff";
    }
    return r;
}

static const uint8_t *table_ok(uint64_t addr, const char *sig)
{
    if (!addr || addr >= 0x100000000ull)
        return NULL;
    const uint8_t *t = (const uint8_t *)(uintptr_t)addr;
    uint32_t len = get32(t + 4);
    if (memcmp(t, sig, 4) || len < 36 || len > 0x10000 || sum(t, len) != 0)
        return NULL;
    return t;
}

static const uint8_t *find_table(const uint8_t *sdt, unsigned entry_size, const char *sig)
{
    uint32_t len = get32(sdt + 4);
    for (uint32_t off = 36; off + entry_size <= len; off += entry_size) {
        uint64_t a = entry_size == 8 ? get64(sdt + off) : get32(sdt + off);
        const uint8_t *t = (const uint8_t *)(uintptr_t)a;
        if (a && a < 0x100000000ull && !memcmp(t, sig, 4))
            return table_ok(a, sig);
    }
    return NULL;
}

static void pm_timer_rate(const uint8_t *fadt)
{
    uint16_t port = (uint16_t)get32(fadt + 76);
    uint8_t len = fadt[91];
    bool ext = get32(fadt + 112) & FADT_TMR_VAL_EXT;
    if (!report(port != 0 && len == 4, "the FADT names a PM timer (port %#x, %u bytes, %s bits)",
                port, len, ext ? "32" : "24"))
        return;
    uint32_t mask = ext ? 0xffffffffu : 0xffffffu;
    uint32_t first = inl(port);
    report((first & ~mask) == 0, "PM timer reads fit %s bits (%#x)", ext ? "32" : "24", first);
    uint64_t hz = tsc_hz(), c0, c1;
    uint32_t t0 = (uint32_t)tsc_paired_read(read_pm_timer, &port, &c0) & mask;
    udelay(50000);
    uint32_t t1 = (uint32_t)tsc_paired_read(read_pm_timer, &port, &c1) & mask;
    uint64_t ticks = (uint32_t)(t1 - t0) & mask;
    uint64_t rate = ticks * hz / (c1 - c0);
    report(rate > PM_TIMER_HZ * 95 / 100 && rate < PM_TIMER_HZ * 105 / 100,
           "PM timer counts at %lu Hz against the TSC (3579545 expected, +-5%%)", rate);
}

void test_main(void)
{
    const char *where;
    const uint8_t *rsdp = find_rsdp(&where);
    if (!report(rsdp != NULL, "RSDP found by the BIOS-area scan (%s)", rsdp ? where : "nowhere"))
        return;
    uint8_t rev = rsdp[15];
    bool xsdt = rev >= 2;
    report(!xsdt || sum(rsdp, get32(rsdp + 20)) == 0, "RSDP revision %u, checksums valid", rev);
    const uint8_t *sdt = xsdt ? table_ok(get64(rsdp + 24), "XSDT") : table_ok(get32(rsdp + 16), "RSDT");
    if (!report(sdt != NULL, "%s valid", xsdt ? "XSDT" : "RSDT"))
        return;
    if (xsdt && get32(rsdp + 16))
        report(table_ok(get32(rsdp + 16), "RSDT") != NULL, "RSDT valid too");
    unsigned esz = xsdt ? 8 : 4;
    const uint8_t *fadt = find_table(sdt, esz, "FACP");
    const uint8_t *madt = find_table(sdt, esz, "APIC");
    const uint8_t *hpet = find_table(sdt, esz, "HPET");
    report(fadt != NULL, "FADT listed, checksum valid");
    report(madt != NULL && get32(madt + 36) == 0xfee00000u,
           "MADT listed, checksum valid, local APIC at 0xfee00000");
    report(hpet != NULL && get64(hpet + 44) == 0xfed00000ull,
           "HPET table listed, checksum valid, HPET at 0xfed00000");
    if (fadt) {
        uint64_t dsdt = get32(fadt + 40);
        if (get32(fadt + 4) >= 148 && get64(fadt + 140))
            dsdt = get64(fadt + 140);
        report(table_ok(dsdt, "DSDT") != NULL, "DSDT valid");
        pm_timer_rate(fadt);
    }
}
