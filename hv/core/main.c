/*
 * hv_main: from the loader's hand-off to a running hypervisor on every CPU.
 */
#include <string.h>

#include "boot/bootinfo.h"
#include "boot/mb2/mb2_parse.h"
#include "drivers/fb/fb_console.h"
#include "drivers/uart/serial_queue.h"
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/exception.h"
#include "hv/arch/x86/idt.h"
#include "hv/arch/x86/lapic.h"
#include "hv/arch/x86/paging.h"
#include "hv/arch/x86/percpu.h"
#include "hv/arch/x86/platform.h"
#include "hv/arch/x86/smp.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/config/boot_config.h"
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/machine.h"
#include "hv/core/display.h"
#include "hv/core/run.h"
#include "hv/core/sched.h"
#include "hv/core/virt.h"
#include "hv/lib/log_ring.h"
#include "hv/mm/kmem.h"

void hv_main(uint32_t loader, uint32_t info_phys);

extern char __kernel_phys_start[], __kernel_phys_end[];

static struct boot_info mb2_info;
static volatile unsigned caps_done;
static volatile bool go, virt_go;

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

static void probe_virt(void)
{
    struct percpu *p = this_cpu();
    p->virt_ok = virt_cpu_probe(p->index);
    __atomic_fetch_add(&caps_done, 1, __ATOMIC_RELEASE);
}

static void enter_scheduler(bool boot_cpu)
{
    if (virt_go && !virt_cpu_enable()) {
        kprintf("atoll: cpu%u: virtualisation could not be enabled; it runs no vCPU\n",
                this_cpu()->index);
        this_cpu()->virt_ok = false;
    }
    sched_cpu_init();
}

static void ap_main(void)
{
    probe_virt();
    while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
        cpu_relax();
    enter_scheduler(false);
    sched_loop(false);
}

/* Waits for every CPU's probe; returns whether partitions can run. */
static bool report_virt(void)
{
    while (__atomic_load_n(&caps_done, __ATOMIC_ACQUIRE) < cpu_count)
        cpu_relax();
    bool usable = virt_report(cpu_count);
    for (unsigned i = 0; i < cpu_count; i++)
        usable &= cpus[i]->virt_ok;
    return usable;
}

static void log_ring_sink(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    log_ring_write(s, n);
}

static void fb_sink(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    fb_console_write(s, n);
}

static const struct console_sink_ops log_ring_ops = { .write = log_ring_sink };
static const struct console_sink_ops fb_ops = { .write = fb_sink };

/* The serial port and the log ring (the control server's `log`) from the first line on. */
static void console_setup(void)
{
    serial_queue_init(CONSOLE_PORT);
    console_add_sink(&serial_queue_sink, NULL);
    console_add_sink(&log_ring_ops, NULL);
}

void hv_main(uint32_t loader, uint32_t info_phys)
{
    write_cr0(read_cr0() & ~((1ull << 30) | (1ull << 29)));    /* caches on: CD = NW = 0 */
    console_setup();
    const struct boot_info *bi = take_boot_info(loader, info_phys);
    struct boot_config cfg;
    char cmdline_warning[160];
    boot_config_from_cmdline(&cfg, bi->cmdline, cmdline_warning, sizeof(cmdline_warning));
    machine_set_test_exit(cfg.test_exit);
    kprintf("atoll %s: starting (%s)\n", ATOLL_VERSION,
            loader == BOOT_LOADER_EFI ? "UEFI" : "Multiboot2");
    if (cmdline_warning[0])
        kprintf("atoll: %s\n", cmdline_warning);

    idt_init();
    legacy_pic_disable();
    paging_init(top_of_memory(bi));
    bi = loader == BOOT_LOADER_EFI ? phys_to_virt(info_phys) : bi;
    display_init(&bi->fb);
    if (fb_console_init(&bi->fb)) {
        console_add_sink(&fb_ops, NULL);
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
    __atomic_store_n(&bsp->online, true, __ATOMIC_RELEASE);
    lapic_timer_calibrate();
    probe_virt();
    smp_start(plat.apic_ids, plat.cpu_count, ap_main);
    paging_drop_identity();

    kprintf("atoll %s: %u cpus online, %lu MiB free\n", ATOLL_VERSION, cpu_count,
            kmem_free_bytes() >> 20);
    bool usable = report_virt();
    virt_go = usable;
    __atomic_store_n(&go, true, __ATOMIC_RELEASE);
    enter_scheduler(true);
    hv_run(bi, &cfg, usable);
}
