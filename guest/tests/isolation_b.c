/*
 * Isolation, partition B: scans every RAM address it has for the secret of partition A
 * (isolation_secret.h) and must not find it; then it touches the first address beyond its
 * RAM, which under Atoll must kill it on the spot (the scenario checks the hypervisor's
 * line).  Without Atoll nothing stops the access and that check is a SKIP.
 */
#include "guest/lib/guest.h"
#include "guest/tests/isolation_secret.h"

DEFINE_TEST("isolation_b");

static bool block_matches(const volatile uint64_t *w, uint64_t end)
{
    if ((uintptr_t)w + SECRET_BLOCK > end)
        return false;
    for (unsigned k = 1; k < SECRET_WORDS; k++)
        if (w[k] != secret_word(k))
            return false;
    return true;
}

static uint64_t scan_range(uint64_t start, uint64_t end, uint64_t *scanned, bool announce)
{
    uint64_t first = secret_word(0), hits = 0;
    start = (start + 7) & ~7ull;
    end = (end > FOUR_GIB ? FOUR_GIB : end) & ~7ull;
    for (uint64_t a = start; a < end; a += 8) {
        const volatile uint64_t *w = (const volatile uint64_t *)(uintptr_t)a;
        if (*w == first && block_matches(w, end)) {
            if (announce && hits < 4)
                printf("isolation_b: secret seen at %#lx\n", a);
            hits++;
        }
    }
    *scanned += end > start ? end - start : 0;
    return hits;
}

/* The detector must see a block planted on purpose, or "not seen" would prove nothing. */
static void check_detector(void)
{
    static volatile uint64_t planted[2 * SECRET_WORDS] __attribute__((aligned(64)));
    uint64_t scanned = 0, start = (uintptr_t)planted, end = start + sizeof(planted);
    for (unsigned k = 0; k < SECRET_WORDS; k++)
        planted[SECRET_WORDS / 2 + k] = secret_word(k);
    uint64_t hits = scan_range(start, end, &scanned, false);
    for (unsigned k = 0; k < 2 * SECRET_WORDS; k++)
        planted[k] = 0;
    report(hits == 1, "detector finds a planted secret block (%lu hit)", hits);
}

static void touch_beyond_ram(void)
{
    uint64_t addr = (boot_ram_end() + 0xfff) & ~0xfffull, val = 0;
    if (addr + 8 > FOUR_GIB) {
        report_skip("touching beyond RAM: the end of RAM (%#lx) is beyond what the guest maps", addr);
        return;
    }
    printf("isolation_b: touching beyond RAM at %#lx\n", addr);
    int fault = read64_safe(addr, &val);
    if (atoll_present())
        report(false, "still running after reading %#lx beyond RAM (fault %d): the partition "
               "should have been killed", addr, fault);
    else
        report_skip("no hypervisor to stop the access beyond RAM (read %#lx, fault %d)", val, fault);
}

void test_main(void)
{
    uint64_t hits = 0, scanned = 0;
    check_detector();
    for (unsigned i = 0; i < boot.nranges; i++) {
        printf("isolation_b: scanning [%#lx, %#lx)\n", boot.ranges[i].start, boot.ranges[i].end);
        hits += scan_range(boot.ranges[i].start, boot.ranges[i].end, &scanned, true);
    }
    report(scanned > 0 && hits == 0, "scanned %lu KiB of RAM, the secret seen %lu times",
           (unsigned long)(scanned >> 10), hits);
    touch_beyond_ram();
}
