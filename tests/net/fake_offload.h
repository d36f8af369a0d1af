/* The real offload provider for the host control daemon: a FAT32 pool image file (made by
 * mkfs.fat, files put there by mtools) mounted through pread/pwrite, an HMAC secret from
 * /dev/urandom, the wall clock.  atoll-control-hostd --pool IMAGE. */
#ifndef ATOLL_TESTS_NET_FAKE_OFFLOAD_H
#define ATOLL_TESTS_NET_FAKE_OFFLOAD_H
#include <stdbool.h>
#include "net/control/ctl_hv_ops.h"

/* Mounts image and fills ops' offload entries; false (reason on stderr) when it cannot.
 * issuer: the host key's fingerprint (32 bytes). */
bool fake_offload_attach(struct ctl_hv_ops *ops, const char *image, const uint8_t *issuer);
void fake_offload_detach(void);

#endif
