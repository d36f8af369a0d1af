/*
 * A guest to migrate while it runs.  For `seconds=N` (30) of guest time it writes numbered,
 * checksummed records into its RAM in three patterns: a sequential buffer (`seq-kib=N`,
 * 512 KiB, rewritten generation after generation), scattered pages (one record in each of
 * 256 pages spread over 4 MiB, in a shuffled order) and a hot page rewritten all the time.
 * The LAPIC periodic timer ticks every `tick-ms=N` (500); at each tick the guest checks every
 * record written so far and the tick itself (not early: at least 9/10 of the period of TSC
 * since the last one) and prints
 *   PASS: tick N: records intact (seq S, scattered K, hot H)
 * A migrated guest must not notice: its records arrive intact and its clock goes on.
 */
#include "guest/lib/guest.h"

DEFINE_TEST("migrate_records");

#define TICK_VECTOR   0x41
#define SCATTER_PAGES 256u
#define SCATTER_SPAN  (4u << 20)

struct record {
    uint32_t gen, index;
    uint64_t check;
};

static volatile unsigned ticks;
static volatile uint64_t tick_tsc;     /* the TSC at the last tick */

static void on_tick(struct irq_frame *f)
{
    tick_tsc = rdtsc();
    ticks++;
    lapic_eoi();
}

static uint64_t check_of(uint32_t gen, uint32_t index, uint64_t where)
{
    uint64_t x = ((uint64_t)gen << 32 | index) ^ where * 0x9e3779b97f4a7c15ull;
    x ^= x >> 29;
    return x * 0xbf58476d1ce4e5b9ull;
}

static uint32_t scatter_slot(uint32_t i)     /* a permutation of 0..SCATTER_PAGES-1 */
{
    return (i * 97u + 13u) % SCATTER_PAGES;
}

void test_main(void)
{
    uint64_t seconds = cmdline_u64("seconds", 30), tick_ms = cmdline_u64("tick-ms", 500);
    uint64_t seq_bytes = cmdline_u64("seq-kib", 512) << 10;
    uint64_t seq_base = (image_end() + 0xfffff) & ~0xfffffull;
    uint64_t scatter_base = seq_base + ((seq_bytes + 0xfffff) & ~0xfffffull);
    uint64_t hot = scatter_base + SCATTER_SPAN;
    if (hot + 4096 > boot_ram_end())
        report_fatal("no room for the records above %#lx", (unsigned long)seq_base);
    uint32_t seq_count = (uint32_t)(seq_bytes / sizeof(struct record));
    struct record *seq = (struct record *)(uintptr_t)seq_base;
    volatile uint64_t *hot_page = (volatile uint64_t *)(uintptr_t)hot;
    printf("migrate_records: %lu s, ticks of %lu ms; %u sequential records at %#lx, "
           "%u scattered pages at %#lx, hot page at %#lx\n", (unsigned long)seconds,
           (unsigned long)tick_ms, seq_count, (unsigned long)seq_base, SCATTER_PAGES,
           (unsigned long)scatter_base, (unsigned long)hot);

    lapic_enable(LAPIC_XAPIC);
    lapic_write(APIC_TIMER_DIV, 0xb);
    lapic_write(APIC_LVT_TIMER, LVT_MASKED);
    lapic_write(APIC_TIMER_INIT, 0xffffffff);
    uint64_t t0 = rdtsc();
    uint32_t c0 = lapic_read(APIC_TIMER_CUR);
    udelay(20000);
    uint32_t c1 = lapic_read(APIC_TIMER_CUR);
    uint64_t apic_hz = (uint64_t)(c0 - c1) * tsc_hz() / (rdtsc() - t0);
    lapic_timer_stop();
    irq_set_handler(TICK_VECTOR, on_tick);
    lapic_timer_periodic(TICK_VECTOR, (uint32_t)(apic_hz / 1000 * tick_ms));
    uint64_t period = tsc_hz() / 1000 * tick_ms;
    uint64_t end = rdtsc() + seconds * tsc_hz(), last_tick_tsc = rdtsc();
    tick_tsc = last_tick_tsc;
    uint32_t seq_pos = 0, seq_gen = 1, scat_n = 0, scat_gen = 1;
    uint64_t hot_n = 0;
    unsigned seen = 0;
    bool ok = true;
    sti();
    while (ok && rdtsc() < end) {
        for (int k = 0; k < 64; k++) {          /* sequential: one generation after another */
            seq[seq_pos] = (struct record){ seq_gen, seq_pos,
                                            check_of(seq_gen, seq_pos, (uintptr_t)&seq[seq_pos]) };
            if (++seq_pos == seq_count) {
                seq_pos = 0;
                seq_gen++;
            }
        }
        uint32_t slot = scatter_slot(scat_n % SCATTER_PAGES);
        struct record *r = (struct record *)(uintptr_t)(scatter_base + (uint64_t)slot * 16384);
        *r = (struct record){ scat_gen, slot, check_of(scat_gen, slot, (uintptr_t)r) };
        if (++scat_n % SCATTER_PAGES == 0)
            scat_gen++;
        hot_n++;
        hot_page[0] = hot_n;
        hot_page[1] = ~hot_n;
        if (ticks == seen)
            continue;
        cli();
        unsigned now_ticks = ticks;
        uint64_t now = tick_tsc;
        sti();
        /* every record written so far: this generation below the cursor, the one before
         * above it */
        uint32_t bad = 0;
        for (uint32_t i = 0; i < seq_count; i++) {
            uint32_t want = i < seq_pos ? seq_gen : seq_gen - 1;
            if (!want)
                break;
            bad += seq[i].gen != want || seq[i].index != i ||
                   seq[i].check != check_of(want, i, (uintptr_t)&seq[i]);
        }
        for (uint32_t n = 0; n < SCATTER_PAGES && n < scat_n; n++) {
            uint32_t s = scatter_slot(n);
            uint32_t want = n < scat_n % SCATTER_PAGES ? scat_gen : scat_gen - 1;
            struct record *q = (struct record *)(uintptr_t)(scatter_base + (uint64_t)s * 16384);
            bad += q->gen != want || q->index != s || q->check != check_of(want, s, (uintptr_t)q);
        }
        bad += hot_page[0] != hot_n || hot_page[1] != ~hot_n;
        bool early = now - last_tick_tsc < period * 9 / 10 * (now_ticks - seen);
        ok = report(!bad && !early, "tick %u: records intact (seq %lu, scattered %u, hot %lu)%s",
                    now_ticks, (unsigned long)seq_gen * seq_count + seq_pos, scat_n,
                    (unsigned long)hot_n, bad ? ", some read back wrong" : early ? ", EARLY" : "");
        seen = now_ticks;
        last_tick_tsc = now;
    }
    /* Interrupts stay enabled: a tick already pending is taken, and none follows. */
    lapic_timer_stop();
    report(ok && seen > 0, "%u ticks, every record intact at each", seen);
}
