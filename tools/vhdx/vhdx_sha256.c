/* SHA-256 for the de-duplication index on the host: BearSSL, as the kernel uses. */
#include "tools/vhdx/vhdx_jobs.h"

#include <bearssl.h>

void vhdx_sha256(void *ctx, const void *data, size_t len, uint8_t out[32])
{
    br_sha256_context c;
    (void)ctx;
    br_sha256_init(&c);
    br_sha256_update(&c, data, len);
    br_sha256_out(&c, out);
}
