#include "hv/arch/x86/smp.h"

#include <string.h>
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/lapic.h"
#include "hv/arch/x86/paging.h"
#include "hv/arch/x86/percpu.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/console.h"
#include "hv/mm/kmem.h"

extern const uint8_t ap_trampoline[], ap_trampoline_end[];
extern const uint8_t tr_off_gdt[], tr_off_gdt_ptr[], tr_off_far_ptr[], tr_off_long_mode[];
extern const uint8_t tr_off_cr3[], tr_off_stack[], tr_off_percpu[], tr_off_entry[];
#define OFF(sym) ((uintptr_t)(sym))

static ap_main_fn ap_main_hook;

void ap_entry(struct percpu *p);
void ap_entry(struct percpu *p)
{
    percpu_install(p);
    lapic_init();
    p->online = true;
    ap_main_hook();
    cpu_park();
}

static void put64(uint8_t *page, uintptr_t off, uint64_t v) { memcpy(page + off, &v, 8); }
static void put32(uint8_t *page, uintptr_t off, uint32_t v) { memcpy(page + off, &v, 4); }

static bool start_one(uint8_t *page, uint64_t page_phys, struct percpu *p)
{
    put64(page, OFF(tr_off_stack), p->stack_top);
    put64(page, OFF(tr_off_percpu), (uint64_t)p);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    lapic_send_init(p->apic_id);
    udelay(10000);
    for (int attempt = 0; attempt < 2 && !p->online; attempt++) {
        lapic_send_sipi(p->apic_id, (uint8_t)(page_phys >> 12));
        for (int i = 0; i < 200 && !p->online; i++)
            udelay(attempt == 0 ? 1 : 1000);
    }
    for (int i = 0; i < 1000 && !p->online; i++)
        udelay(1000);
    return p->online;
}

unsigned smp_start(const uint32_t *apic_ids, unsigned count, ap_main_fn ap_main)
{
    uint64_t page_phys = kmem_alloc_low_page();
    if (!page_phys) {
        kprintf("atoll: no free page below 1 MiB for the AP trampoline; other CPUs stay off\n");
        return 0;
    }
    ap_main_hook = ap_main;
    uint8_t *page = phys_to_virt(page_phys);
    memcpy(page, ap_trampoline, (size_t)(ap_trampoline_end - ap_trampoline));
    put32(page, OFF(tr_off_gdt_ptr) + 2, (uint32_t)(page_phys + OFF(tr_off_gdt)));
    put32(page, OFF(tr_off_far_ptr), (uint32_t)(page_phys + OFF(tr_off_long_mode)));
    put64(page, OFF(tr_off_cr3), paging_root());
    put64(page, OFF(tr_off_entry), (uint64_t)ap_entry);

    uint32_t self = lapic_id();
    unsigned online = 0;
    for (unsigned i = 0; i < count && cpu_count < MAX_CPUS; i++) {
        if (apic_ids[i] == self)
            continue;
        struct percpu *p = percpu_create(cpu_count, apic_ids[i]);
        if (!p)
            break;
        if (start_one(page, page_phys, p)) {
            cpu_count++;
            online++;
        } else {
            kprintf("atoll: cpu with apic id %u did not start\n", apic_ids[i]);
            cpus[p->index] = NULL;
        }
    }
    return online;
}
