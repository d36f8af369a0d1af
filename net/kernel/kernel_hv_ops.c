#include "net/kernel/kernel_hv_ops.h"

#include <string.h>

#include "hv/arch/x86/percpu.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/display.h"
#include "hv/core/display_capture.h"
#include "hv/mm/kmem.h"
#include "net/kernel/kernel_partitions.h"
#include "hv/offload/offload_ctl.h"
#include "net/kernel/offload_link.h"
#include "hv/lib/log_ring.h"

static char hostname[32] = "atoll";

void kernel_hv_set_hostname(const char *name)
{
    strlcpy(hostname, name, sizeof(hostname));
}

static uint16_t hv_status(void *ctx, struct ctl_hv_status *out)
{
    memset(out, 0, sizeof(*out));
    strlcpy(out->version, ATOLL_VERSION, sizeof(out->version));
    strlcpy(out->hostname, hostname, sizeof(out->hostname));
    out->uptime_ms = time_ns() / 1000000;
    out->mem_total = kmem_total_bytes();
    out->mem_free = kmem_free_bytes();
    out->partitions = kernel_partition_count();
    out->vmx = this_cpu()->virt_ok;
    return CTL_OK;
}

static size_t hv_log_tail(void *ctx, char *buf, size_t max)
{
    return log_ring_tail(buf, max);
}

static uint16_t hv_capture(void *ctx, const char *file, char *msg, size_t msg_size)
{
    if (display_framebuffer().format == BOOT_FB_NONE) {
        strlcpy(msg, "there is no framebuffer", msg_size);
        return CTL_ERR_NOT_FOUND;
    }
    return display_capture(file, msg, msg_size) ? CTL_OK : CTL_ERR_INTERNAL;
}

const struct ctl_hv_ops kernel_hv_ops = {
    .status = hv_status,
    .partition_at = kernel_partition_at,
    .start = kernel_partition_start,
    .stop = kernel_partition_stop,
    .log_tail = hv_log_tail,
    .op_progress = kernel_partition_op_progress,
    .checkpoint = kernel_partition_checkpoint,
    .snapshot = kernel_partition_snapshot,
    .restore = kernel_partition_restore,
    .restore_lazy = kernel_partition_restore_lazy,
    .offload_read = offload_ctl_read,
    .offload_write = offload_ctl_write,
    .offload_fetch = offload_ctl_fetch,
    .offload_store = offload_ctl_store,
    .offload_pull = offload_link_pull,
    .offload_pull_status = offload_link_pull_status,
    .migrate = kernel_partition_migrate,
    .migrate_status = kernel_migrate_status,
    .capture = hv_capture,
};
