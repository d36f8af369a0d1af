/* After bring-up: check the manifest, start the partitions, then serve until done. */
#ifndef ATOLL_HV_CORE_RUN_H
#define ATOLL_HV_CORE_RUN_H
#include <stdbool.h>
#include "boot/bootinfo.h"
#include "hv/core/config/boot_config.h"

__attribute__((noreturn)) void hv_run(const struct boot_info *bi, const struct boot_config *cfg,
                                      bool partitions_usable);

/* From the boot CPU's loop: partitions a guest reset with on-reset = restart, once
 * finished, are created anew from their manifest section and started. */
void partition_restarts_poll(void);

#endif
