#include "hv/arch/x86/smp.h"

#include <stddef.h>
#include <string.h>
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/lapic.h"
#include "hv/arch/x86/paging.h"
#include "hv/arch/x86/percpu.h"
#include "hv/arch/x86/tsc.h"
#include "hv/arch/x86/console.h"
#include "hv/mm/kmem.h"

_Static_assert(offsetof(struct percpu, stack_top) == 16, "ap_trampoline.S reads stack_top at 16");

#define TRAMPOLINE_SLOTS 64

extern const uint8_t ap_trampoline[], ap_trampoline_end[];
extern const uint8_t tr_off_gdt[], tr_off_gdt_ptr[], tr_off_far_ptr[], tr_off_long_mode[];
extern const uint8_t tr_off_cr3[], tr_off_entry[], tr_off_counter[], tr_off_slots[], tr_off_table[];
#define OFF(sym) ((uintptr_t)(sym))

static ap_main_fn ap_main_hook;
static uint8_t *page;
static uint64_t page_phys;

void ap_entry(struct percpu *p);
void ap_entry(struct percpu *p)
{
    percpu_install(p);
    lapic_init();
    p->apic_id = lapic_id();
    __atomic_store_n(&p->online, true, __ATOMIC_RELEASE);
    ap_main_hook();
    cpu_park();
}

static void put64(uintptr_t off, uint64_t v) { memcpy(page + off, &v, 8); }
static void put32(uintptr_t off, uint32_t v) { memcpy(page + off, &v, 4); }

static bool prepare_trampoline(ap_main_fn ap_main)
{
    page_phys = kmem_alloc_low_page();
    if (!page_phys) {
        kprintf("atoll: no free page below 1 MiB for the AP trampoline; other CPUs stay off\n");
        return false;
    }
    ap_main_hook = ap_main;
    page = phys_to_virt(page_phys);
    memcpy(page, ap_trampoline, (size_t)(ap_trampoline_end - ap_trampoline));
    put32(OFF(tr_off_gdt_ptr) + 2, (uint32_t)(page_phys + OFF(tr_off_gdt)));
    put32(OFF(tr_off_far_ptr), (uint32_t)(page_phys + OFF(tr_off_long_mode)));
    put64(OFF(tr_off_cr3), paging_root());
    put64(OFF(tr_off_entry), (uint64_t)ap_entry);
    return true;
}

/* Offers blocks[0..n) to the APs that the next start-up reaches. */
static void offer(struct percpu **blocks, unsigned n)
{
    put32(OFF(tr_off_counter), 0);
    put32(OFF(tr_off_slots), n);
    for (unsigned i = 0; i < n; i++)
        put64(OFF(tr_off_table) + 8 * i, (uint64_t)blocks[i]);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void init_sipi_sipi(uint32_t apic_id, bool broadcast)
{
    if (broadcast)
        lapic_broadcast_init();
    else
        lapic_send_init(apic_id);
    udelay(10000);
    for (int i = 0; i < 2; i++) {
        if (broadcast)
            lapic_broadcast_sipi((uint8_t)(page_phys >> 12));
        else
            lapic_send_sipi(apic_id, (uint8_t)(page_phys >> 12));
        udelay(200);
    }
}

static bool wait_online(struct percpu *p, unsigned ms)
{
    for (unsigned i = 0; i < ms && !__atomic_load_n(&p->online, __ATOMIC_ACQUIRE); i++)
        udelay(1000);
    return p->online;
}

static unsigned start_listed(const uint32_t *apic_ids, unsigned count)
{
    uint32_t self = lapic_id();
    unsigned online = 0;
    for (unsigned i = 0; i < count && cpu_count < MAX_CPUS; i++) {
        if (apic_ids[i] == self)
            continue;
        struct percpu *p = percpu_create(cpu_count, apic_ids[i]);
        if (!p)
            break;
        offer(&p, 1);
        init_sipi_sipi(apic_ids[i], false);
        if (wait_online(p, 1000)) {
            cpu_count++;
            online++;
        } else {
            kprintf("atoll: cpu with apic id %u did not start\n", apic_ids[i]);
            percpu_destroy(p);
        }
    }
    return online;
}

/* Without a usable MADT: wake every other CPU at once and count who arrives. */
static unsigned start_broadcast(void)
{
    struct percpu *blocks[TRAMPOLINE_SLOTS];
    unsigned n = 0;
    while (n < TRAMPOLINE_SLOTS && cpu_count + n < MAX_CPUS) {
        blocks[n] = percpu_create(cpu_count + n, 0);
        if (!blocks[n])
            break;
        n++;
    }
    offer(blocks, n);
    init_sipi_sipi(0, true);
    udelay(100000);
    unsigned online = 0;
    while (online < n && blocks[online]->online)
        online++;
    for (unsigned i = online; i < n; i++)
        percpu_destroy(blocks[i]);
    cpu_count += online;
    return online;
}

unsigned smp_start(const uint32_t *apic_ids, unsigned count, ap_main_fn ap_main)
{
    if (!prepare_trampoline(ap_main))
        return 0;
    if (count > 1)
        return start_listed(apic_ids, count);
    kprintf("atoll: the firmware's tables name %u cpu%s; asking every CPU to start (INIT-SIPI "
            "broadcast)\n", count, count == 1 ? "" : "s");
    return start_broadcast();
}
