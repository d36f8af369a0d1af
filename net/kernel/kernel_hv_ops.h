/* The control server's view of this hypervisor (struct ctl_hv_ops over partitions[]). */
#ifndef ATOLL_NET_KERNEL_KERNEL_HV_OPS_H
#define ATOLL_NET_KERNEL_KERNEL_HV_OPS_H
#include "net/control/ctl_hv_ops.h"

extern const struct ctl_hv_ops kernel_hv_ops;

/* Host name shown by `status` (set once by the network service; default "atoll"). */
void kernel_hv_set_hostname(const char *name);

#endif
