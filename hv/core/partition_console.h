/*
 * What a partition writes to its console (UART, HC_CONSOLE_WRITE) on its way to the
 * hypervisor console: kept in the partition's bounded ring (hv/core/console_ring.h) by
 * the guest's exit, at no cost in serial time; moved on by the boot CPU's service poll as
 * whole lines prefixed `[NAME] ` while the serial queue has room; what the ring cannot
 * hold is dropped and said once per episode (`atoll: NAME: N console bytes dropped`).
 * Everything kept appears before the partition's end line.
 */
#ifndef ATOLL_HV_CORE_PARTITION_CONSOLE_H
#define ATOLL_HV_CORE_PARTITION_CONSOLE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct partition;

void partition_console_init(struct partition *p);
/* The guest wrote; the partition's lock is held (struct vdev_platform console_write). */
void partition_console_write(void *ctx, const char *buf, size_t len);
/* Prints what the guest wrote, all of it; partial: the last line goes on later (a shell
 * prompt waiting for input), else it is ended here. */
void partition_console_flush(struct partition *p, bool partial);
/* A partition replaced by a copy of itself (a checkpoint): take prints its whole lines and
 * keeps the line it had begun; give puts that line into the copy (or back), so that the
 * hypervisor's lines about the replacement do not cut the guest's line in two. */
struct partition_console_carry {
    char line[160];
    unsigned len;
    bool continued;
};
void partition_console_take_partial(struct partition *p, struct partition_console_carry *c);
void partition_console_give_partial(struct partition *p, const struct partition_console_carry *c);
/* The partition ends: everything it wrote is printed, later writes are ignored. */
void partition_console_end(struct partition *p);
/* Boot CPU, every scheduling pass: moves every partition's output on within the serial
 * queue's room; ns until the next poll is needed (UINT64_MAX: nothing waiting). */
uint64_t partition_consoles_poll(void);

#endif
