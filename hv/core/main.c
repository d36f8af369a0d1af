/*
 * hv_main: from the loader's hand-off to a running hypervisor on every CPU.
 */
#include <string.h>

#include "boot/bootinfo.h"
#include "boot/mb2/mb2_parse.h"
#include "drivers/fb/fb_console.h"
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/exception.h"
#include "hv/arch/x86/idt.h"
#include "hv/arch/x86/lapic.h"
#include "hv/arch/x86/paging.h"
#include "hv/arch/x86/percpu.h"
#include "hv/arch/x86/platform.h"
#include "hv/arch/x86/smp.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/boot_config.h"
#include "hv/core/console.h"
#include "hv/core/machine.h"
#include "hv/core/run.h"
#include "hv/core/sched.h"
#include "hv/core/virt.h"
#include "hv/mm/kmem.h"
#include "hv/vmx/vmx_caps.h"

void hv_main(uint32_t loader, uint32_t info_phys);

extern char __kernel_phys_start[], __kernel_phys_end[];

static struct boot_info mb2_info;
static struct vmx_caps caps[MAX_CPUS];
static volatile unsigned caps_done;
static volatile bool go, vmx_go;

static const struct boot_info *take_boot_info(uint32_t loader, uint32_t info_phys)
{
    if (loader == BOOT_LOADER_MULTIBOOT2) {
        char err[128];
        const uint32_t *mbi = (const uint32_t *)(uintptr_t)info_phys;  /* identity mapped */
        if (mb2_parse(mbi, mbi[0], info_phys, &mb2_info, err, sizeof(err)) != 0)
            panic("%s", err);
        mb2_info.kernel_base = (uint64_t)__kernel_phys_start;
        mb2_info.kernel_end = (uint64_t)__kernel_phys_end;
        return &mb2_info;
    }
    const struct boot_info *bi = (const struct boot_info *)(uintptr_t)info_phys;
    if (bi->magic != BOOTINFO_MAGIC || bi->version != BOOTINFO_VERSION)
        panic("boot_info at %#x has a bad magic or version", info_phys);
    return bi;
}

static uint64_t top_of_memory(const struct boot_info *bi)
{
    uint64_t top = 0;
    for (uint32_t i = 0; i < bi->mem_count && i < BOOTINFO_MAX_MEM; i++)
        if (bi->mem[i].type == BOOT_MEM_USABLE && bi->mem[i].base + bi->mem[i].length > top)
            top = bi->mem[i].base + bi->mem[i].length;
    return top;
}

static void probe_vmx(void)
{
    struct percpu *p = this_cpu();
    vmx_caps_read(&caps[p->index]);
    p->vmx_ok = vmx_caps_usable(&caps[p->index]);
    __atomic_fetch_add(&caps_done, 1, __ATOMIC_RELEASE);
}

static void enter_scheduler(bool boot_cpu)
{
    if (vmx_go && !virt_cpu_enable()) {
        kprintf("atoll: cpu%u: VMX could not be enabled; it runs no vCPU\n", this_cpu()->index);
        this_cpu()->vmx_ok = false;
    }
    sched_cpu_init();
}

static void ap_main(void)
{
    probe_vmx();
    while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
        cpu_relax();
    enter_scheduler(false);
    sched_loop(false);
}

static const char *yes_no(bool b) { return b ? "yes" : "no"; }

/* Prints one line per CPU, or the single no-VT-x line; returns whether partitions can run. */
static bool report_vmx(void)
{
    while (__atomic_load_n(&caps_done, __ATOMIC_ACQUIRE) < cpu_count)
        cpu_relax();
    bool any_vmx = false, all_usable = true;
    for (unsigned i = 0; i < cpu_count; i++) {
        any_vmx |= caps[i].vmx;
        all_usable &= cpus[i]->vmx_ok;
    }
    if (!any_vmx) {
        kprintf("atoll: no VT-x on this machine; partitions disabled\n");
        return false;
    }
    for (unsigned i = 0; i < cpu_count; i++) {
        const struct vmx_caps *c = &caps[i];
        kprintf("cpu%u: vmx ept=%s ug=%s vpid=%s\n", i, yes_no(c->ept), yes_no(c->unrestricted),
                yes_no(c->vpid));
    }
    if (!all_usable) {
        unsigned first = 0;
        while (first + 1 < cpu_count && cpus[first]->vmx_ok)
            first++;
        const struct vmx_caps *c = &caps[first];
        kprintf("atoll: VT-x here lacks %s; partitions disabled\n", vmx_caps_missing(c));
    }
    return all_usable;
}

void hv_main(uint32_t loader, uint32_t info_phys)
{
    write_cr0(read_cr0() & ~((1ull << 30) | (1ull << 29)));    /* caches on: CD = NW = 0 */
    console_init();
    const struct boot_info *bi = take_boot_info(loader, info_phys);
    struct boot_config cfg;
    boot_config_from_cmdline(&cfg, bi->cmdline);
    machine_set_test_exit(cfg.test_exit);
    kprintf("atoll %s: starting (%s)\n", ATOLL_VERSION,
            loader == BOOT_LOADER_EFI ? "UEFI" : "Multiboot2");

    idt_init();
    legacy_pic_disable();
    paging_init(top_of_memory(bi));
    bi = loader == BOOT_LOADER_EFI ? phys_to_virt(info_phys) : bi;
    if (fb_console_init(&bi->fb)) {
        unsigned cols, rows;
        fb_console_size(&cols, &rows);
        kprintf("atoll: console on the %ux%u framebuffer (%ux%u characters)\n", bi->fb.width,
                bi->fb.height, cols, rows);
    }
    /* Before any allocation: GRUB's copy of the RSDP lies in memory the map calls free. */
    struct platform_info plat;
    platform_discover(bi, &plat);
    const char *err = kmem_init(bi, info_phys);
    if (err)
        panic("memory: %s", err);
    struct percpu *bsp = percpu_create(0, 0);
    if (!bsp)
        panic("memory: no room for the boot CPU's per-CPU block");
    percpu_install(bsp);
    cpu_count = 1;

    tsc_calibrate();
    lapic_init();
    bsp->apic_id = lapic_id();
    lapic_timer_calibrate();
    probe_vmx();
    smp_start(plat.apic_ids, plat.cpu_count, ap_main);
    paging_drop_identity();

    kprintf("atoll %s: %u cpus online, %lu MiB free\n", ATOLL_VERSION, cpu_count,
            kmem_free_bytes() >> 20);
    bool vmx = report_vmx();
    vmx_go = vmx;
    __atomic_store_n(&go, true, __ATOMIC_RELEASE);
    enter_scheduler(true);
    hv_run(bi, &cfg, vmx);
}
