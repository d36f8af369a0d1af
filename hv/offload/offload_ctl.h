/*
 * The offload provider as the control server's offload ops (struct ctl_hv_ops
 * offload_read / offload_write): maps requests and statuses, and says in one line what
 * happened.  One provider per host: offload_ctl_attach() names it; the ops ignore their
 * ctx (the partition side's), so the kernel and the host daemon plug them into any table.
 */
#ifndef ATOLL_HV_OFFLOAD_OFFLOAD_CTL_H
#define ATOLL_HV_OFFLOAD_OFFLOAD_CTL_H
#include "hv/offload/offload.h"
#include "net/control/ctl_hv_ops.h"

void offload_ctl_attach(struct offload_provider *p);
/* Fills ops->offload_read and ops->offload_write. */
void offload_ctl_ops(struct ctl_hv_ops *ops);
/* enum offload_status as enum ctl_status. */
uint16_t offload_ctl_status(int offload_status);

#endif
