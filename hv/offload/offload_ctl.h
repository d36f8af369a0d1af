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
/* Or: get() is asked for the provider at each request until it returns one. */
void offload_ctl_attach_lazy(struct offload_provider *(*get)(void));
/* The ops themselves (for a const table), and a filler for a table built at run time. */
uint16_t offload_ctl_read(void *ctx, const struct ctl_offload_range *src, uint32_t lifetime_ms,
                          uint8_t token[CTL_OFFLOAD_TOKEN_SIZE], uint64_t *covered, char *msg,
                          size_t msg_size);
uint16_t offload_ctl_write(void *ctx, const uint8_t token[CTL_OFFLOAD_TOKEN_SIZE],
                           uint64_t token_offset, uint64_t length, bool whole,
                           const struct ctl_offload_range *dst, uint64_t *written, char *msg,
                           size_t msg_size);
uint16_t offload_ctl_fetch(void *ctx, const struct ctl_offload_range *r, uint8_t *buf,
                           size_t len, size_t *got, char *msg, size_t msg_size);
uint16_t offload_ctl_store(void *ctx, const struct ctl_offload_range *r, const uint8_t *buf,
                           size_t len, char *msg, size_t msg_size);
void offload_ctl_ops(struct ctl_hv_ops *ops);
/* enum offload_status as enum ctl_status. */
uint16_t offload_ctl_status(int offload_status);

#endif
