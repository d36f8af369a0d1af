/* Partitions as the control server lists, starts and stops them (ctl_hv_ops entries).
 * kernel_partitions.c works on partitions[]; kernel_partitions_absent.c stands in while
 * the kernel is built without partitions (no hv/core/partition.c). */
#ifndef ATOLL_NET_KERNEL_KERNEL_PARTITIONS_H
#define ATOLL_NET_KERNEL_KERNEL_PARTITIONS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/control/ctl_hv_ops.h"

uint32_t kernel_partition_count(void);
bool kernel_partition_at(void *ctx, size_t index, struct ctl_partition_info *out);
uint16_t kernel_partition_start(void *ctx, const char *name, uint32_t *op);
uint16_t kernel_partition_stop(void *ctx, const char *name, uint32_t *op);
uint16_t kernel_partition_checkpoint(void *ctx, const char *name, char *msg, size_t msg_size);
uint16_t kernel_partition_snapshot(void *ctx, const char *name, const char *file, bool stop,
                                   bool live, uint32_t *op, char *msg, size_t msg_size);
/* The snapshot operations' progress (ctl_hv_ops.op_progress). */
uint16_t kernel_partition_op_progress(void *ctx, uint32_t op, struct ctl_op_progress *out);
uint16_t kernel_partition_restore(void *ctx, const char *file, const char *as_name, char *msg,
                                  size_t msg_size);
uint16_t kernel_partition_restore_lazy(void *ctx, const char *file, const char *as_name,
                                       char *msg, size_t msg_size);
uint16_t kernel_partition_migrate(void *ctx, const char *name, const char *host, char *msg,
                                  size_t msg_size);
uint16_t kernel_migrate_status(void *ctx, struct ctl_migrate_status *out);

#endif
