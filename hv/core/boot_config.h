/* Options on the hypervisor's command line (GRUB's multiboot2 line, or atoll.cmdline). */
#ifndef ATOLL_HV_CORE_BOOT_CONFIG_H
#define ATOLL_HV_CORE_BOOT_CONFIG_H
#include <stdbool.h>

struct boot_config {
    bool test_exit;         /* `test-exit`: end the emulator when the work is done */
    bool no_smp;            /* `nosmp`: run on the boot CPU only */
    char manifest[64];      /* `manifest=NAME`: module holding the manifest (atoll.cfg) */
    bool worker_selftest;   /* `worker-selftest`: run CRC work items on the service CPUs */
};

void boot_config_from_cmdline(struct boot_config *cfg, const char *cmdline);

#endif
