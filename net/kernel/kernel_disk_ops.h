/* The control server's live disk operations (net/control/ctl_disk.h) on the kernel's
 * disk_ops (hv/core/disk_ops.h). */
#ifndef ATOLL_NET_KERNEL_KERNEL_DISK_OPS_H
#define ATOLL_NET_KERNEL_KERNEL_DISK_OPS_H
#include "net/control/ctl_disk.h"

extern const struct ctl_disk_ops kernel_disk_ops;

#endif
