/* The guest tokens of one partition (hv/vdev/virtio_blk_offload.h): its table, identity
 * and HMAC-SHA256 secret drawn from RDRAND when its disks are set up; kernel only. */
#ifndef ATOLL_HV_CORE_PARTITION_TOKENS_H
#define ATOLL_HV_CORE_PARTITION_TOKENS_H
#include "hv/vdev/virtio_blk_offload.h"

/* NULL: out of memory, or no hardware randomness for the secret (then no offload). */
struct vblk_tokens *partition_tokens_make(void);
void partition_tokens_free(struct vblk_tokens *t);

#endif
