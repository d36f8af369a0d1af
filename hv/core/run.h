/* After bring-up: check the manifest, start the partitions, then serve until done. */
#ifndef ATOLL_HV_CORE_RUN_H
#define ATOLL_HV_CORE_RUN_H
#include <stdbool.h>
#include <stddef.h>
#include "boot/bootinfo.h"
#include "hv/core/config/boot_config.h"

struct partition;

__attribute__((noreturn)) void hv_run(const struct boot_info *bi, const struct boot_config *cfg,
                                      bool partitions_usable);

/* From the boot CPU's loop: partitions a guest reset with on-reset = restart, once
 * finished, are created anew from their manifest section and started. */
void partition_restarts_poll(void);

/* For snapshots: the text of manifest section `index` (its [partition NAME] line up to the
 * next section), NUL-terminated in out; its length, 0 when it does not fit or there is no
 * such section. */
size_t manifest_section_text(unsigned index, char *out, size_t size);
/* For a snapshot's restore: a partition made from a [partition] section given as text,
 * named `name`, created with nothing loaded and not started; the section is kept as one
 * more of the manifest's (for a later snapshot, checkpoint or restart).  NULL with one line
 * in why. */
struct partition *partition_create_from_section(const char *text, size_t len, const char *name,
                                                char *why, size_t why_size);

#endif
