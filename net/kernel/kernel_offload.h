/* The kernel's offload provider (hv/offload/offload.h) on the storage pool, behind the
 * control server's offload commands and the offload link (net/kernel/offload_link.h). */
#ifndef ATOLL_NET_KERNEL_KERNEL_OFFLOAD_H
#define ATOLL_NET_KERNEL_KERNEL_OFFLOAD_H
#include <stddef.h>
#include <stdint.h>

#include "hv/offload/offload.h"

/* Names the provider's identity (the host key's fingerprint) and the initiators whose
 * grants it accepts (the manifest's control-clients), and lets the control server make
 * the provider on the first offload request that finds the pool mounted. */
void kernel_offload_start(const uint8_t issuer[32], const uint8_t (*trusted)[32], size_t count);
/* The provider, made now if the pool is mounted; NULL otherwise. */
struct offload_provider *kernel_offload_provider(void);
/* This host's grant checker (its replay memory): grants other hosts present to it. */
struct grant_checker *kernel_offload_grants(void);

#endif
