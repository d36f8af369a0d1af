/* The kernel's offload provider (hv/offload/offload.h) on the storage pool, behind the
 * control server's offload commands. */
#ifndef ATOLL_NET_KERNEL_KERNEL_OFFLOAD_H
#define ATOLL_NET_KERNEL_KERNEL_OFFLOAD_H
#include <stdint.h>

/* Names the provider's identity (the host key's fingerprint) and lets the control server
 * make the provider on the first offload request that finds the pool mounted. */
void kernel_offload_start(const uint8_t issuer[32]);

#endif
