/* Stands in for kernel_partitions.c in a kernel built without partitions. */
#include "net/kernel/kernel_partitions.h"

uint32_t kernel_partition_count(void) { return 0; }

bool kernel_partition_at(void *ctx, size_t index, struct ctl_partition_info *out)
{
    return false;
}

uint16_t kernel_partition_start(void *ctx, const char *name, uint32_t *op)
{
    return CTL_ERR_NOT_FOUND;
}

uint16_t kernel_partition_stop(void *ctx, const char *name, uint32_t *op)
{
    return CTL_ERR_NOT_FOUND;
}

uint16_t kernel_partition_checkpoint(void *ctx, const char *name, char *msg, size_t msg_size)
{
    return CTL_ERR_NOT_FOUND;
}

uint16_t kernel_partition_snapshot(void *ctx, const char *name, const char *file, bool stop,
                                   bool live, uint32_t *op, char *msg, size_t msg_size)
{
    return CTL_ERR_NOT_FOUND;
}

uint16_t kernel_partition_op_progress(void *ctx, uint32_t op, struct ctl_op_progress *out)
{
    return CTL_ERR_NOT_FOUND;
}

uint16_t kernel_partition_restore(void *ctx, const char *file, const char *as_name, char *msg,
                                  size_t msg_size)
{
    return CTL_ERR_NOT_FOUND;
}

uint16_t kernel_partition_restore_lazy(void *ctx, const char *file, const char *as_name,
                                       char *msg, size_t msg_size)
{
    return CTL_ERR_NOT_FOUND;
}

uint16_t kernel_partition_migrate(void *ctx, const char *name, const char *host, char *msg,
                                  size_t msg_size)
{
    return CTL_ERR_NOT_FOUND;
}

uint16_t kernel_migrate_status(void *ctx, struct ctl_migrate_status *out)
{
    return CTL_ERR_UNSUPPORTED;
}
