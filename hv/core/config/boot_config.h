/* The hypervisor's own words on its command line (hv/lib/cmdline.h tokenizes). */
#ifndef ATOLL_HV_CORE_BOOT_CONFIG_H
#define ATOLL_HV_CORE_BOOT_CONFIG_H
#include <stdbool.h>
#include <stddef.h>

struct boot_config {
    bool test_exit;         /* `test-exit`: end the emulator when the work is done */
    bool no_smp;            /* `nosmp`: run on the boot CPU only */
    char manifest[64];      /* `manifest=NAME`: module holding the manifest (atoll.cfg) */
    bool worker_selftest;   /* `worker-selftest`: run CRC work items on the service CPUs */
};

/* Parses the core's words.  A word no layer knows, or a bad manifest= value, is described
 * in warn (empty when none): it is reported, and the boot goes on. */
void boot_config_from_cmdline(struct boot_config *cfg, const char *cmdline, char *warn,
                              size_t warn_size);

#endif
