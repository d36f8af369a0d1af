/* Hardware randomness: RDSEED (preferred, for keys) and RDRAND. */
#ifndef ATOLL_NET_KERNEL_HW_ENTROPY_H
#define ATOLL_NET_KERNEL_HW_ENTROPY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "RDSEED", "RDRAND", or NULL when the CPU has neither. */
const char *hw_entropy_source(void);
/* A tls_entropy_fn: fills buf from RDSEED (RDRAND where RDSEED is absent or keeps failing).
 * 0 on success, -1 when the CPU has no such instruction or it never delivers. */
int hw_entropy_fill(void *ctx, void *buf, size_t len);
/* Not for keys (lwIP's ISNs, DHCP ids): RDRAND when present, else a TSC-seeded mix. */
uint32_t hw_random_u32(void);

#endif
